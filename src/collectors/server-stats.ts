import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { HistoryQuery, HistoryStore } from '../history/types.js'
import { createEventHub, type EventSource } from '../monitor/events.js'
import type { Collector, RedisCommander } from './collector.js'
import { type CommandDenied, createCommandDenied } from './command-denied.js'
import {
  createKeyGroupCollector,
  type DatabaseConnection,
  type KeyGroupCollector,
} from './key-group-collector.js'
import type { KeyGroupOptions } from './key-groups.js'
import { createMemoryPurgeCollector } from './memory-purge.js'
import { type CollectResult, createScrape } from './scrape.js'
import { SERVER_COLLECTORS } from './server-collectors.js'
import { DEFAULT_THRESHOLDS, type StatusThresholds } from './status.js'
import type { ServerStatsEvents } from './status-events.js'
import {
  type ClientContext,
  createStatusHistory,
  type HistorySample,
  type StatusReport,
  type StatusRequest,
} from './status-history.js'

export type { RedisCommander } from './collector.js'
export type { DatabaseConnection } from './key-group-collector.js'
export type { ServerStatsEvents } from './status-events.js'
export type { ClientContext, HistorySample, StatusReport } from './status-history.js'

export interface ServerStatsOptions {
  /** Where commands go; the service passes its PoolMonitor. */
  redis: RedisCommander
  registry: Registry
  logger: Logger
  /** Key distribution; off when there are no patterns and auto is off. */
  keyGroups?: KeyGroupOptions
  /** Where key-group passes go when not `redis` (a cluster: see cluster-key-groups.ts). @default redis */
  keyGroupRedis?: RedisCommander
  /**
   * Opens a connection to another database of the same Redis, so key groups cover every database
   * INFO keyspace lists (as redis_exporter's do); without it they cover `keyGroups.db` only.
   */
  openDatabase?: (db: number) => DatabaseConnection
  thresholds?: Partial<StatusThresholds>
  /** Samples kept for /status/history (in memory; the default answer with a store). @default 100 */
  historySize?: number
  /** Where history samples go (the service's HISTORY_FILE); the in-memory ring when absent. */
  history?: HistoryStore
  /** How often a history sample (a collection) is taken in the background. @default 5000 */
  historyIntervalMs?: number
  /** Budget of a background collection. @default 2000 */
  backgroundTimeoutMs?: number
  /** MEMORY PURGE when memory is critical, at most once per interval. @default disabled */
  autoMemoryPurge?: { enabled: boolean; minIntervalMs: number }
  /** Key-group count above which the keyGroupGrowth event fires. @default off */
  keyGroupGrowthThreshold?: number
  /** The pool monitor's view, for history samples. */
  context?: () => ClientContext
  now?: () => number
}

export interface ServerStats extends EventSource<ServerStatsEvents> {
  /** ACL refusals seen on the service's connections (readiness asks whether INFO is refused). */
  commandDenied: CommandDenied
  collect(options: { timeoutMs: number }): Promise<CollectResult>
  status(input: StatusRequest): StatusReport
  /** Settles once the first background collection has (bounded by `backgroundTimeoutMs`). */
  firstCollection(): Promise<void>
  /** Samples oldest first: the newest `historySize` without a query. */
  history(query?: HistoryQuery): HistorySample[]
  start(): void
  close(): Promise<void>
}

/**
 * The service's server-side statistics of its own Redis: every server collector on one registry
 * (collectors/scrape.ts), plus what only the service has: memory purge, /status and its history.
 * /scrape targets use createScrape() directly with the collectors they want.
 */
export function createServerStats(options: ServerStatsOptions): ServerStats {
  const { logger } = options
  const now = options.now ?? Date.now
  // Every command of ours goes through the ACL watch: a refusal turns off its feature, not the rest.
  const commandDenied = createCommandDenied({ logger })
  const redis = commandDenied.wrap(options.redis)
  const openDatabase = options.openDatabase

  const thresholds: StatusThresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds }
  const purge = options.autoMemoryPurge ?? { enabled: false, minIntervalMs: 300_000 }

  const keyGroups: KeyGroupCollector | undefined =
    options.keyGroups && (options.keyGroups.patterns.length > 0 || options.keyGroups.auto)
      ? createKeyGroupCollector({
          redis: options.keyGroupRedis ?? redis,
          logger,
          keyGroups: options.keyGroups,
          ...(openDatabase
            ? {
                openDatabase: (db: number) => {
                  const connection = openDatabase(db)
                  return { ...connection, redis: commandDenied.wrap(connection.redis) }
                },
              }
            : {}),
          now,
        })
      : undefined
  const collectors: Collector[] = [
    createMemoryPurgeCollector({
      redis,
      logger,
      criticalPercent: thresholds.memoryCriticalPercent,
      ...purge,
      now,
    }),
    ...SERVER_COLLECTORS,
    ...(keyGroups ? [keyGroups] : []),
    commandDenied,
  ]
  const scrape = createScrape({ redis, registry: options.registry, logger, collectors, now })
  const events = createEventHub<ServerStatsEvents>(logger)
  const statusHistory = createStatusHistory({
    emit: events.emit,
    ...(options.keyGroupGrowthThreshold !== undefined
      ? { keyGroupGrowthThreshold: options.keyGroupGrowthThreshold }
      : {}),
    view: scrape.view,
    collect: scrape.collect,
    keyGroups: () => keyGroups?.latest() ?? [],
    thresholds,
    historySize: options.historySize ?? 100,
    ...(options.history ? { store: options.history } : {}),
    historyIntervalMs: options.historyIntervalMs ?? 5000,
    backgroundTimeoutMs: options.backgroundTimeoutMs ?? 2000,
    ...(options.context ? { context: options.context } : {}),
    unavailableReason: () => commandDenied.reason('info'),
    now,
  })
  let closed = false

  return {
    commandDenied,
    collect: scrape.collect,
    status: statusHistory.status,
    firstCollection: statusHistory.firstCollection,
    history: statusHistory.history,
    on: events.on,
    off: events.off,
    start() {
      if (closed) return
      scrape.start()
      statusHistory.start()
    },
    async close() {
      closed = true
      statusHistory.close()
      await scrape.close()
    },
  }
}
