import type { Logger } from 'pino'
import { Gauge, type Registry } from 'prom-client'
import { historyMetrics } from '../metrics/history.js'
import { createMemoryHistory } from './memory.js'
import { createSqliteHistory, type SqliteHistoryStore } from './sqlite.js'
import type { HistoryQuery, HistoryStore, StoredSample } from './types.js'

export { parseDuration, parseSince } from './duration.js'
export { createMemoryHistory } from './memory.js'
export { createSqliteHistory, MIGRATIONS, readSqliteHistory, TABLE } from './sqlite.js'
export { SQLITE_NODE_VERSIONS, sqliteAvailable } from './sqlite-runtime.js'
export type { HistoryQuery, HistorySample, HistoryStore, StoredSample } from './types.js'

export interface HistoryOptions {
  /** SQLite file (HISTORY_FILE); memory only when absent. */
  file?: string | undefined
  /** HISTORY_RETENTION in ms. @default 7 days */
  retentionMs?: number
  /** Samples the in-memory ring keeps (STATUS_HISTORY_SIZE). @default 100 */
  memorySize?: number
  logger: Logger
  /** Where `redis_monitor_history_file_up` goes (only when a file is configured). */
  registry?: Registry
  now?: () => number
}

export interface History extends HistoryStore {
  /** Why the file is not in use; undefined while it is (or when none is configured). */
  readonly unavailableReason: string | undefined
}

/**
 * The history the service uses: the SQLite file when HISTORY_FILE is set and usable, the
 * in-memory ring otherwise. A file that cannot be opened (corrupt, unwritable, newer schema) or
 * that fails later never stops the service: one error line says why, the gauge drops to 0, and
 * the ring (which always receives every sample) answers from then on.
 */
export function createHistory(options: HistoryOptions): History {
  const { logger } = options
  const memory = createMemoryHistory({ size: options.memorySize ?? 100 })
  let durable: SqliteHistoryStore | undefined
  let unavailableReason: string | undefined
  const fileUp =
    options.file && options.registry
      ? new Gauge({ ...historyMetrics.fileUp, registers: [options.registry] })
      : undefined

  const turnOff = (err: Error) => {
    unavailableReason = err.message
    fileUp?.set(0)
    logger.error(
      { err, file: options.file },
      `history is off: ${err.message}; keeping the latest ${options.memorySize ?? 100} samples in memory`,
    )
  }

  if (options.file) {
    try {
      durable = createSqliteHistory({
        file: options.file,
        logger,
        ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}),
        ...(options.now ? { now: options.now } : {}),
        onWriteFailure: (err) => {
          const store = durable
          durable = undefined
          void store?.close().catch(() => {})
          turnOff(new Error(`writing to ${options.file} failed: ${err.message}`))
        },
      })
      fileUp?.set(1)
    } catch (err) {
      turnOff(err as Error)
    }
  }

  return {
    get kind() {
      return durable ? ('sqlite' as const) : ('memory' as const)
    },
    get unavailableReason() {
      return unavailableReason
    },
    append(sample: StoredSample) {
      memory.append(sample)
      durable?.append(sample)
    },
    query(query: HistoryQuery) {
      if (durable) {
        try {
          return durable.query(query)
        } catch (err) {
          logger.warn({ err }, 'reading the history file failed; answering from memory')
        }
      }
      return memory.query(query)
    },
    async close() {
      await durable?.close()
      durable = undefined
    },
  }
}
