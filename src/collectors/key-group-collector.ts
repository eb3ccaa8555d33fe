import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { serverMetrics } from '../metrics/definitions.js'
import { type Collector, gauge, type RedisCommander, type Snapshot } from './collector.js'
import type { ParsedInfo } from './info-parser.js'
import {
  createKeyGroupScanner,
  type KeyGroupOptions,
  type KeyGroupResult,
  type KeyGroupScanner,
} from './key-groups.js'

/** A connection to one database, for its key-group scan; closed with the collector. */
export interface DatabaseConnection {
  redis: RedisCommander
  /** Resolves once the connection can take commands; its scan starts then. */
  ready: Promise<void>
  close(): Promise<void>
}

/** Databases beyond the first whose key groups are scanned at most (Redis' default has 16). */
const MAX_SCANNED_DATABASES = 16

export interface KeyGroupCollectorOptions {
  /** The commander's own database is scanned through it (`keyGroups.db`, default 0). */
  redis: RedisCommander
  logger: Logger
  keyGroups: KeyGroupOptions
  /**
   * Opens a connection to another database of the same Redis, so key groups cover every database
   * INFO keyspace lists (as redis_exporter's do); without it they cover `keyGroups.db` only.
   */
  openDatabase?: (db: number) => DatabaseConnection
  now?: () => number
}

export interface KeyGroupCollector extends Collector<never> {
  /** The latest complete pass of each database scanned so far. */
  latest(): KeyGroupResult[]
}

/**
 * Key distribution (redis_key_group_*): one background scanner per database, the first on the
 * commander's own database; the others open as INFO keyspace shows keys in them. Scrapes read the
 * cached latest passes and never wait for one.
 */
export function createKeyGroupCollector(options: KeyGroupCollectorOptions): KeyGroupCollector {
  const { redis, logger, keyGroups } = options
  const now = options.now ?? Date.now
  const scanners = new Map<number, { scanner: KeyGroupScanner; connection?: DatabaseConnection }>()
  scanners.set(keyGroups.db ?? 0, { scanner: createKeyGroupScanner(redis, logger, keyGroups, now) })
  let started = false
  let closed = false

  const latest = () =>
    [...scanners.values()].flatMap(({ scanner }) => {
      const result = scanner.latest()
      return result ? [result] : []
    })

  function startScanner(scanner: KeyGroupScanner, connection?: DatabaseConnection) {
    if (!connection) return scanner.start()
    connection.ready.then(
      () => {
        if (!closed) scanner.start()
      },
      () => {},
    )
  }

  /** Starts a scanner for each database INFO keyspace shows with keys and no scanner yet. */
  function coverDatabases(info: ParsedInfo) {
    if (!options.openDatabase || closed) return
    for (const [name, entry] of Object.entries(info.keyspace)) {
      const db = Number(name.slice(2))
      if (entry.keys === 0 || scanners.has(db) || scanners.size > MAX_SCANNED_DATABASES) continue
      const connection = options.openDatabase(db)
      const scanner = createKeyGroupScanner(
        connection.redis,
        logger.child({ db: name }),
        { ...keyGroups, db },
        now,
      )
      scanners.set(db, { scanner, connection })
      if (started) startScanner(scanner, connection)
    }
  }

  return {
    name: 'key-groups',
    latest,
    register(registry: Registry) {
      const groups =
        (pick: (g: { count: number; memoryBytes: number }) => number, onlyMeasured = false) =>
        () =>
          latest().flatMap((result) =>
            // Memory of a pass whose MEMORY USAGE was refused is unknown: no series, never a 0.
            onlyMeasured && !result.memoryMeasured
              ? []
              : result.groups.map((g) => ({ value: pick(g), labels: { db: result.db, key_group: g.group } })),
          )
      gauge(
        registry,
        serverMetrics.keyGroupCount,
        groups((g) => g.count),
      )
      gauge(
        registry,
        serverMetrics.keyGroupMemory,
        groups((g) => g.memoryBytes, true),
      )
      const perDb = (read: (r: KeyGroupResult) => number) => () =>
        latest().map((r) => ({ value: read(r), labels: { db: r.db } }))
      gauge(
        registry,
        serverMetrics.distinctKeyGroups,
        perDb((r) => r.distinctGroups),
      )
      gauge(
        registry,
        serverMetrics.keyGroupsSampledFraction,
        perDb((r) => r.sampledFraction),
      )
      // One series each, as redis_exporter has: the passes' total time, and the stalest pass's age.
      const overall = (read: (results: KeyGroupResult[]) => number) => () => {
        const results = latest()
        return results.length > 0 ? [{ value: read(results) }] : []
      }
      gauge(
        registry,
        serverMetrics.keyGroupsDuration,
        overall((rs) => rs.reduce((ms, r) => ms + r.durationMs, 0)),
      )
      gauge(
        registry,
        serverMetrics.keyGroupsAge,
        overall((rs) => Math.max(0, ...rs.map((r) => (now() - r.finishedAt) / 1000))),
      )
    },
    observe(snapshot: Snapshot) {
      coverDatabases(snapshot.info)
    },
    start() {
      if (started || closed) return
      started = true
      for (const { scanner, connection } of scanners.values()) startScanner(scanner, connection)
    },
    async close() {
      closed = true
      for (const { scanner } of scanners.values()) scanner.close()
      await Promise.all([...scanners.values()].map(({ connection }) => connection?.close()))
    },
  }
}
