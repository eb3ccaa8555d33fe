import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { redact } from '../monitor/classify.js'
import { createConnection } from '../redis/connection.js'
import { type TlsSettings, tlsOptions } from '../redis/endpoint.js'
import type { ExpositionFormat } from './exposition.js'
import type { ScrapeTarget } from './target.js'

/** The server-side collection of one target, over its connection. */
export interface TargetCollection {
  /**
   * INFO and the collectors' reads within `timeoutMs`, then the target's families as exposition
   * text in `format`; never rejects for the target's sake (redis_up 0 on failure).
   */
  scrape(timeoutMs: number, format: ExpositionFormat): Promise<string>
  /** Background work (key-group passes for check-keys). */
  start?(): void
  close(): Promise<void>
}

export interface CollectionInput {
  redis: Redis
  logger: Logger
  target: ScrapeTarget
  /** check-keys globs of the query; empty: no key groups. */
  checkKeys: readonly string[]
  now?: () => number
}

export type CreateCollection = (input: CollectionInput) => TargetCollection

export interface TargetStateOptions {
  target: ScrapeTarget
  checkKeys: readonly string[]
  /** The password to AUTH with; undefined: none. */
  password?: string | undefined
  /** The user when the target names none (a discovered node takes the service's own). */
  username?: string | undefined
  /** REDIS_TLS_*, applied when the target is rediss://. */
  tls: TlsSettings
  commandTimeoutMs: number
  logger: Logger
  createCollection: CreateCollection
  now?: () => number
}

/** Everything one target holds (a connection, its collectors), dropped as one value. */
export interface TargetState {
  /**
   * Waits for the connection (within the budget), collects within what is left, and renders the
   * target's families in `format` before a close may clear them.
   */
  scrape(timeoutMs: number, format: ExpositionFormat): Promise<string>
  /** Epoch ms of the latest scrape, for idle closing. */
  readonly lastUsedAt: number
  /** Closes now, or after the scrapes in flight finish. */
  close(): Promise<void>
}

/**
 * One target's state. The connection is the pool's kind (no offline queue, bounded reconnects with
 * backoff, a per-command timeout), named `rpm:scrape:target` in CLIENT LIST, with the target's own
 * user, password (from REDIS_TARGET_PASSWORDS_FILE) and, for rediss://, REDIS_TLS_*.
 */
export function createTargetState(options: TargetStateOptions): TargetState {
  const { target, logger } = options
  const now = options.now ?? Date.now
  const connection = createConnection({
    redis: {
      host: target.node.host,
      port: target.node.port,
      db: target.db,
      ...(target.username !== undefined || options.username !== undefined
        ? { username: target.username ?? options.username }
        : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(target.scheme === 'rediss' ? { tls: tlsOptions(options.tls, target.node.host) } : {}),
    },
    pool: 'scrape',
    index: 'target',
    commandTimeoutMs: options.commandTimeoutMs,
  })
  // One line per change of reachability, not one per reconnect attempt.
  let failing = false
  connection.on('error', (err: Error) => {
    if (failing) return
    failing = true
    // The message only: ioredis hangs the failed command on its errors, and a handshake's HELLO
    // or AUTH carries the password in its arguments.
    logger.warn({ reason: redact(err.message, [options.password ?? '']) }, 'cannot reach the /scrape target')
  })
  connection.on('ready', () => {
    if (!failing) return
    failing = false
    logger.info('the /scrape target answers again')
  })

  const collection = options.createCollection({
    redis: connection,
    logger,
    target,
    checkKeys: options.checkKeys,
    ...(options.now ? { now: options.now } : {}),
  })
  // Background work (key-group passes) starts once the connection is up: without an offline
  // queue, a pass sent earlier would fail and wait a whole interval for the next one.
  connection.once('ready', () => {
    if (closing === undefined) collection.start?.()
  })

  let lastUsedAt = now()
  let inFlight = 0
  let closing: Promise<void> | undefined
  let closeWhenIdle: (() => void) | undefined

  /**
   * Resolves when the connection is ready, fails, or `ms` passed, whichever first: a refused
   * connection answers redis_up 0 at once instead of holding the scrape for its whole budget.
   */
  function ready(ms: number): Promise<void> {
    if (connection.status === 'ready' || ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        for (const event of ['ready', 'error', 'end'] as const) connection.off(event, done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      timer.unref()
      for (const event of ['ready', 'error', 'end'] as const) connection.once(event, done)
    })
  }

  async function shutdown() {
    await collection.close()
    // No QUIT: a frozen target would hold it for the command timeout; the socket just goes.
    connection.disconnect()
  }

  return {
    get lastUsedAt() {
      return lastUsedAt
    },
    async scrape(timeoutMs, format) {
      lastUsedAt = now()
      inFlight++
      try {
        const started = now()
        await ready(timeoutMs)
        return await collection.scrape(Math.max(0, timeoutMs - (now() - started)), format)
      } finally {
        inFlight--
        lastUsedAt = now()
        if (inFlight === 0) closeWhenIdle?.()
      }
    },
    close() {
      closing ??=
        inFlight === 0
          ? shutdown()
          : new Promise<void>((resolve) => {
              closeWhenIdle = () => resolve(shutdown())
            })
      return closing
    },
  }
}
