import type { Logger } from 'pino'
import { Gauge, type Registry } from 'prom-client'
import { ScrapeTimeoutError } from '../errors.js'
import { serverMetrics, serviceMetrics } from '../metrics/definitions.js'
import { isReplyError } from '../redis/reply-error.js'
import { textReply } from '../redis/reply-shape.js'
import { withTimeout } from '../timeout.js'
import {
  type Collector,
  gauge,
  type OptionalCommand,
  type ReadContext,
  type RedisCommander,
  type Snapshot,
  type View,
} from './collector.js'
import { isNoPerm } from './command-denied.js'
import { type ParsedInfo, parseInfo } from './info-parser.js'

const modeOf = (info: ParsedInfo) => info.fields['redis_mode'] ?? 'standalone'

export interface ScrapeOptions {
  /** Where commands go: the service's PoolMonitor, or one /scrape target's connection. */
  redis: RedisCommander
  /**
   * Receives redis_up, the scrape's own families and every collector's. Without one nothing is
   * registered: a /scrape target renders its families from one layout shared by every target
   * (src/targets/layout.ts), reading `status` and `view`.
   */
  registry?: Registry
  logger: Logger
  /** Features to collect, in registration order (see collectors/README.md). */
  collectors: readonly Collector[]
  now?: () => number
}

export interface CollectResult {
  ok: boolean
  durationMs: number
  error?: string
}

/** The scrape's own state, which redis_up and the redis_monitor_* families show. */
export interface ScrapeStatus {
  readonly up: boolean
  /** Seconds the latest collection took; 0 before the first. */
  readonly durationSeconds: number
  /** Whether the latest collection failed; false before the first. */
  readonly failed: boolean
}

export interface Scrape {
  /** INFO and every collector's read(), raced against `timeoutMs`; never rejects. */
  collect(options: { timeoutMs: number }): Promise<CollectResult>
  /** The latest snapshot while Redis is up, else undefined. */
  view: View
  readonly status: ScrapeStatus
  /**
   * Drops the latest snapshot until the next collection: view() is undefined meanwhile. For a
   * /scrape target, which renders right after collecting and needs nothing of it in between.
   */
  forget(): void
  /** Starts the collectors' background work. */
  start(): void
  close(): Promise<void>
}

/**
 * One Redis's server-side families on one registry, collected under the scrape budget. INFO and
 * the collectors' reads go out when the scrape arrives and are raced against the budget: values
 * are never older than the scrape, and a frozen Redis costs the scrape its budget, not a hang
 * (redis_up 0 and no stale values).
 */
export function createScrape(options: ScrapeOptions): Scrape {
  const { redis, registry, logger, collectors } = options
  const now = options.now ?? Date.now

  let snapshot: Snapshot | undefined
  let up = false
  let lastFailure: string | undefined
  let inFlight: Promise<Snapshot> | undefined
  // A target does not change mode under the same address; known after its first collection.
  let knownMode: string | undefined
  const unsupported = new Set<string>()

  let durationSeconds = 0
  let failed = false
  const view: View = () => (up ? snapshot : undefined)
  let scrapeDuration: Gauge | undefined
  let lastScrapeError: Gauge | undefined
  if (registry) {
    const registers = [registry]
    scrapeDuration = new Gauge({ ...serviceMetrics.scrapeDuration, registers })
    lastScrapeError = new Gauge({ ...serviceMetrics.lastScrapeError, registers })
    gauge(registry, serverMetrics.up, () => [{ value: up ? 1 : 0 }])
    for (const collector of collectors) collector.register(registry, view)
  }

  async function optional<T>(command: OptionalCommand, read: () => Promise<T>): Promise<T | undefined> {
    if (unsupported.has(command)) return undefined
    try {
      return await read()
    } catch (err) {
      // A reply error (renamed, disabled, ACL-denied) means the command will never work here: skip
      // it from now on and say so once. Timeouts and lost connections are INFO's business.
      if (isReplyError(err)) {
        unsupported.add(command)
        // An ACL refusal was logged once, with the permission to add, by command-denied.ts.
        if (!isNoPerm(err))
          logger.warn({ err, command }, `${command} is not available on this Redis; its metrics are skipped`)
        return undefined
      }
      // Valid RESP of the wrong shape (a proxy or a server that only looks like Redis): asking
      // again gets the same, and a guess would put NaN on /metrics. Skipped like a refused command.
      if ((err as { code?: unknown }).code === 'RPM_UNEXPECTED_REPLY') {
        unsupported.add(command)
        logger.warn(
          { err, command },
          `${command} gave an unexpected reply (${(err as Error).message}); its metrics are skipped`,
        )
        return undefined
      }
      throw err
    }
  }

  async function readSnapshot(): Promise<Snapshot> {
    const info = redis.call('INFO', 'ALL').then((text) => parseInfo(textReply('INFO', text)))
    const mode = knownMode !== undefined ? Promise.resolve(knownMode) : info.then(modeOf)
    mode.catch(() => {})
    const ctx: ReadContext = { info, mode, optional }
    // One Promise.all over INFO and every read: all go out at once, and a failure of any is handled.
    const [parsed, ...values] = await Promise.all([
      info,
      ...collectors.map((c) => (c.read ? c.read(redis, ctx) : undefined)),
    ])
    const readings = new Map<Collector, unknown>(collectors.map((c, i) => [c, values[i]]))
    return {
      info: parsed,
      at: now(),
      reading: <T>(collector: Collector<T>) => readings.get(collector as Collector) as T | undefined,
    }
  }

  async function collect({ timeoutMs }: { timeoutMs: number }): Promise<CollectResult> {
    const startedAt = now()
    // Concurrent scrapes share one round of commands instead of piling more onto a slow Redis.
    const work = inFlight ?? readSnapshot()
    if (!inFlight) {
      inFlight = work
      work
        .catch(() => {})
        .finally(() => {
          if (inFlight === work) inFlight = undefined
        })
    }
    try {
      const taken = await withTimeout(work, timeoutMs, () => {
        throw new ScrapeTimeoutError(timeoutMs)
      })
      snapshot = taken
      knownMode = modeOf(taken.info)
      if (!up && lastFailure !== undefined) logger.info('Redis answers collections again')
      up = true
      lastFailure = undefined
      failed = false
      lastScrapeError?.set(0)
      for (const collector of collectors) collector.observe?.(taken)
      return { ok: true, durationMs: now() - startedAt }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      if ((up || lastFailure === undefined) && !isNoPerm(err))
        logger.warn({ err }, 'collection from Redis failed')
      up = false
      lastFailure = message
      failed = true
      lastScrapeError?.set(1)
      return { ok: false, durationMs: now() - startedAt, error: message }
    } finally {
      durationSeconds = (now() - startedAt) / 1000
      scrapeDuration?.set(durationSeconds)
    }
  }

  return {
    collect,
    view,
    forget() {
      snapshot = undefined
    },
    status: {
      get up() {
        return up
      },
      get durationSeconds() {
        return durationSeconds
      },
      get failed() {
        return failed
      },
    },
    start() {
      for (const collector of collectors) collector.start?.()
    },
    async close() {
      await Promise.all(collectors.map((c) => c.close?.()))
    },
  }
}
