import {
  CircuitOpenError,
  CommandTimeoutError,
  ConnectionError,
  ErrorType,
  OperationError,
  PoolExhaustedError,
  RedisReplyError,
} from '../errors.js'
import { replyCode } from '../redis/reply-error.js'
import { COMMAND_TIMED_OUT } from '../redis/timeout-sweep.js'

/** Socket and DNS error codes: the connection failed, whatever the message says. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * The errors ioredis 6 raises as a bare `Error`, with neither a class nor a code: matched by
 * message, as few as possible. test/monitor/ioredis-errors.test.ts makes each one happen against a
 * real redis-server, so an ioredis upgrade that rewords one fails there instead of turning
 * timeouts or lost connections into `other`.
 */
// The pool's timeout sweep rejects with the same text, so both classify alike.
export const IOREDIS_TIMEOUT_MESSAGE = COMMAND_TIMED_OUT
export const IOREDIS_CONNECTION_MESSAGES = [
  // enableOfflineQueue: false and the socket not (yet) writable
  "Stream isn't writeable",
  // a command sent on, or still waiting on, a connection that was closed
  'Connection is closed',
] as const

/** Reply codes that mean the connection itself is unusable, not that the command was wrong. */
export const CONNECTION_REPLY_CODES: ReadonlySet<string> = new Set([
  'NOAUTH',
  'WRONGPASS',
  'LOADING',
  'MASTERDOWN',
])

interface ErrorLike {
  name?: unknown
  code?: unknown
  message?: unknown
}

function messageOf(err: unknown): string {
  if (err && typeof err === 'object' && typeof (err as ErrorLike).message === 'string') {
    return (err as ErrorLike).message as string
  }
  return String(err)
}

/** The `type` label value for an error thrown by ioredis or by the pool. */
export function classifyError(err: unknown): ErrorType {
  if (err === null || typeof err !== 'object') return ErrorType.other
  const { name, code } = err as ErrorLike
  const message = messageOf(err)
  if (code === 'RPM_POOL_EXHAUSTED') return ErrorType.poolExhausted
  if (code === 'RPM_CIRCUIT_OPEN') return ErrorType.circuitOpen
  if (code === 'RPM_COMMAND_TIMEOUT') return ErrorType.timeout
  if (code === 'RPM_CONNECTION' || code === 'RPM_POOL_CLOSED') return ErrorType.connection
  if (code === 'RPM_REPLY') return ErrorType.reply
  const reply = replyCode(err)
  if (reply !== undefined) return CONNECTION_REPLY_CODES.has(reply) ? ErrorType.connection : ErrorType.reply
  // ioredis' own error classes, by name (a second copy of ioredis would defeat instanceof).
  if (name === 'MaxRetriesPerRequestError') return ErrorType.connection
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return ErrorType.connection
  if (message === IOREDIS_TIMEOUT_MESSAGE) return ErrorType.timeout
  if (IOREDIS_CONNECTION_MESSAGES.some((m) => message.startsWith(m))) return ErrorType.connection
  return ErrorType.other
}

/** Replaces every occurrence of each secret (and its URL-encoded form) with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (!secret) continue
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      out = out.split(form).join('***')
    }
  }
  return out
}

/**
 * The error handed to the caller: one of the coded errors of src/errors.ts, with a message that
 * never holds a secret. ioredis errors are not passed on as they are because they carry the
 * command's arguments (`err.command.args`), which for AUTH and HELLO include the password, and a
 * logger serialising the error would print them.
 */
export function toPublicError(
  err: unknown,
  type: ErrorType,
  context: { command: string; timeoutMs: number; pool: string; secrets: readonly string[] },
): Error {
  if (err instanceof Error && typeof (err as ErrorLike).code === 'string') {
    const code = (err as ErrorLike).code as string
    if (code.startsWith('RPM_')) return err
  }
  const message = redact(messageOf(err), context.secrets)
  switch (type) {
    case ErrorType.timeout:
      return new CommandTimeoutError(context.command, context.timeoutMs)
    case ErrorType.connection:
      return new ConnectionError(message)
    case ErrorType.reply:
      return new RedisReplyError(message)
    case ErrorType.poolExhausted:
      return new PoolExhaustedError(context.timeoutMs)
    case ErrorType.circuitOpen:
      return new CircuitOpenError(context.pool)
    default:
      return new OperationError(message)
  }
}
