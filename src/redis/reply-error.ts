import { ReplyError } from 'ioredis'
import { RedisReplyError } from '../errors.js'

// A Redis error reply names its error in its first word (`-WRONGTYPE Operation against…`,
// `-NOPERM …`, `-MOVED 3999 127.0.0.1:6381`): that word is the protocol's error code, and the only
// thing that tells one reply error from another (ioredis raises them all as one ReplyError class).
// This is the one place that reads it; test/monitor/ioredis-errors.test.ts makes every code the
// service acts on happen against a real redis-server.

/** What the pool's coded RPM_REPLY puts before Redis' own text. */
const POOL_REPLY_PREFIX = new RedisReplyError('').message

/**
 * Redis' own text of an error reply: from ioredis' ReplyError (by class, or by name for another
 * copy of ioredis) or from the pool's RPM_REPLY that wraps one. Undefined for any other error.
 */
export function replyText(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined
  if (err instanceof ReplyError || err.name === 'ReplyError') return err.message
  if ((err as { code?: unknown }).code !== 'RPM_REPLY') return undefined
  return err.message.startsWith(POOL_REPLY_PREFIX) ? err.message.slice(POOL_REPLY_PREFIX.length) : err.message
}

/** Redis answered, with an error (as opposed to a timeout, a lost connection, or the pool's own refusal). */
export const isReplyError = (err: unknown): boolean => replyText(err) !== undefined

/** The error code of a Redis error reply (`WRONGTYPE`, `NOPERM`, `MOVED`…); undefined for any other error. */
export function replyCode(err: unknown): string | undefined {
  return replyText(err)?.split(' ', 1)[0]
}

/** A Redis Cluster node's answer that a key's slot is served by another node. */
export interface Redirection {
  readonly type: 'MOVED' | 'ASK'
  readonly slot: number
  /** `host:port` (`[v6]:port`, or an empty host meaning the answering node's) of the node serving it. */
  readonly address: string
}

const REDIRECTION = /^(MOVED|ASK) (\d+) (\S*)$/

/** `MOVED <slot> <host:port>` or `ASK <slot> <host:port>`, read; undefined for any other error. */
export function redirectionOf(err: unknown): Redirection | undefined {
  const match = REDIRECTION.exec(replyText(err) ?? '')
  return match
    ? { type: match[1] as Redirection['type'], slot: Number(match[2]), address: match[3]! }
    : undefined
}

export const isRedirection = (err: unknown): boolean => redirectionOf(err) !== undefined
