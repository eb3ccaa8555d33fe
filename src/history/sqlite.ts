import type { Logger } from 'pino'
import { HistoryUnavailableError } from '../errors.js'
import { type DatabaseSync, loadSqlite, SQLITE_NODE_VERSIONS, type SqlValue } from './sqlite-runtime.js'
import type { HistoryQuery, HistoryStore, StoredSample } from './types.js'

/** The table and its columns; `timestamp` is epoch milliseconds (UTC). */
export const TABLE = 'redis_metrics'

/**
 * Schema steps: step i brings a file from version i to i + 1 (PRAGMA user_version). A new column
 * is a new step; steps already shipped never change, so any older file opens and upgrades.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE ${TABLE} (
    id INTEGER PRIMARY KEY,
    timestamp INTEGER NOT NULL,
    is_available INTEGER NOT NULL,
    memory_usage_percent REAL,
    hit_rate_percent REAL,
    total_keys INTEGER,
    latency_ms REAL,
    fallback_in_use INTEGER NOT NULL DEFAULT 0,
    used_memory_bytes INTEGER,
    ops_per_sec REAL,
    connected_clients INTEGER,
    pool_utilization_percent REAL,
    circuit_breaker_state TEXT,
    keyspace_hits INTEGER,
    keyspace_misses INTEGER
  );
  CREATE INDEX ${TABLE}_timestamp ON ${TABLE} (timestamp);`,
]

const COLUMNS = [
  'timestamp',
  'is_available',
  'memory_usage_percent',
  'hit_rate_percent',
  'total_keys',
  'latency_ms',
  'fallback_in_use',
  'used_memory_bytes',
  'ops_per_sec',
  'connected_clients',
  'pool_utilization_percent',
  'circuit_breaker_state',
  'keyspace_hits',
  'keyspace_misses',
] as const

export interface SqliteHistoryOptions {
  /** The SQLite file; created with its directory's permissions when missing. */
  file: string
  /** Samples older than this are deleted, in the background. @default 7 days */
  retentionMs?: number
  logger: Logger
  /** Called once when a write fails after a good open (disk full, file removed): history is off. */
  onWriteFailure?: (err: Error) => void
  /** Rows one retention statement deletes at most; the event loop runs between batches. @default 500 */
  retentionBatchRows?: number
  /** How often retention runs. @default 60000 */
  retentionIntervalMs?: number
  /** Schema steps; tests pass longer lists to exercise an upgrade. @default MIGRATIONS */
  migrations?: readonly string[]
  now?: () => number
}

export interface SqliteHistoryStore extends HistoryStore {
  readonly kind: 'sqlite'
  /** Writes what is queued now (close() and tests; appends otherwise flush on the next tick). */
  flush(): void
  /** Runs one full retention pass now and resolves with the rows it deleted. */
  prune(): Promise<number>
}

const DAY_MS = 86_400_000
/** Samples kept while the file is locked by another writer: about 14 hours at the default 5 s. */
const MAX_PENDING = 10_000

/** SQLITE_BUSY or SQLITE_LOCKED (extended codes included): another connection holds the lock. */
const isBusy = (err: unknown) => {
  const code = (err as { errcode?: number }).errcode
  return code !== undefined && ((code & 0xff) === 5 || (code & 0xff) === 6)
}

/** The newest `?2` samples at or after `?1` (a negative limit is no limit in SQLite), oldest first. */
const NEWEST_SQL = `SELECT * FROM (SELECT * FROM ${TABLE} WHERE timestamp >= ? ORDER BY timestamp DESC, id DESC LIMIT ?) ORDER BY timestamp, id`
const num = (v: SqlValue | undefined): number | null => (v === null || v === undefined ? null : Number(v))

function toRow(s: StoredSample): SqlValue[] {
  return [
    Date.parse(s.timestamp),
    s.available ? 1 : 0,
    s.memory_usage_percent,
    s.hit_rate_percent,
    s.total_keys,
    s.latency_ms,
    s.fallback_in_use ? 1 : 0,
    s.used_memory_bytes,
    s.ops_per_sec,
    s.connected_clients,
    s.pool_utilization_percent,
    s.circuit_breaker_state,
    s.keyspace_hits,
    s.keyspace_misses,
  ]
}

function fromRow(r: Record<string, SqlValue>): StoredSample {
  const breaker = r['circuit_breaker_state']
  return {
    timestamp: new Date(Number(r['timestamp'])).toISOString(),
    available: Number(r['is_available']) === 1,
    used_memory_bytes: num(r['used_memory_bytes']),
    memory_usage_percent: num(r['memory_usage_percent']),
    hit_rate_percent: num(r['hit_rate_percent']),
    ops_per_sec: num(r['ops_per_sec']),
    connected_clients: num(r['connected_clients']),
    latency_ms: num(r['latency_ms']),
    pool_utilization_percent: num(r['pool_utilization_percent']),
    circuit_breaker_state:
      breaker === 'closed' || breaker === 'half_open' || breaker === 'open' ? breaker : null,
    total_keys: num(r['total_keys']),
    fallback_in_use: Number(r['fallback_in_use']) === 1,
    keyspace_hits: num(r['keyspace_hits']),
    keyspace_misses: num(r['keyspace_misses']),
  }
}

/** Brings the file to the newest schema in one transaction; refuses a file from a newer release. */
function migrate(db: DatabaseSync, migrations: readonly string[]): { from: number; to: number } {
  const from = Number(db.prepare('PRAGMA user_version').get()?.['user_version'] ?? 0)
  if (from > migrations.length) {
    throw new Error(
      `its schema version ${from} is newer than this release knows (${migrations.length}); upgrade redis-pool-monitor or point HISTORY_FILE elsewhere`,
    )
  }
  if (from === migrations.length) return { from, to: from }
  if (from === 0) {
    // Must precede the first table: lets retention hand freed pages back to the file system.
    db.exec('PRAGMA auto_vacuum = INCREMENTAL')
  }
  db.exec('BEGIN IMMEDIATE')
  try {
    for (let v = from; v < migrations.length; v++) db.exec(migrations[v]!)
    db.exec(`PRAGMA user_version = ${migrations.length}`)
    db.exec('COMMIT')
  } catch (err) {
    db.exec('ROLLBACK')
    throw err
  }
  return { from, to: migrations.length }
}

/** Opens the file as an opener would see it: the reason a file cannot be used, as one phrase. */
function reason(err: unknown): string {
  const e = err as { message?: string; errstr?: string }
  return (e?.message ?? String(err)).replace(/\s+/g, ' ')
}

/**
 * Status samples in an SQLite file through node:sqlite: WAL journal (a reader, such as the
 * `history` command, never blocks the writer), this one connection the only writer, appends
 * committed on the next tick (never inside a request), retention deleted in small batches off the
 * request path. A SIGKILL loses at most the samples of the current tick: every commit is in the WAL.
 * Throws HistoryUnavailableError when the file cannot be opened, is not a database, fails its
 * integrity check, or comes from a newer release.
 */
export function createSqliteHistory(options: SqliteHistoryOptions): SqliteHistoryStore {
  const { file, logger } = options
  const now = options.now ?? Date.now
  const retentionMs = options.retentionMs ?? 7 * DAY_MS
  const batchRows = options.retentionBatchRows ?? 500
  const retentionIntervalMs = options.retentionIntervalMs ?? 60_000
  const sqlite = loadSqlite()
  if (!sqlite) throw new HistoryUnavailableError(file, `node:sqlite needs ${SQLITE_NODE_VERSIONS}`)

  let db: DatabaseSync
  try {
    db = new sqlite.DatabaseSync(file)
  } catch (err) {
    throw new HistoryUnavailableError(file, reason(err))
  }
  let schema: { from: number; to: number }
  try {
    // A short wait only: a second process writing the same file must not stall this event loop.
    db.exec('PRAGMA busy_timeout = 200')
    const check = db.prepare('PRAGMA quick_check').all()
    const verdict = check.map((r) => String(Object.values(r)[0])).join('; ')
    if (verdict !== 'ok') throw new Error(`integrity check failed: ${verdict.slice(0, 200)}`)
    const mode = String(db.prepare('PRAGMA journal_mode = WAL').get()?.['journal_mode'])
    if (mode !== 'wal') throw new Error(`the file system refused the WAL journal (journal_mode ${mode})`)
    // WAL + NORMAL: a commit survives the process being killed; only an OS crash may lose the last ones.
    db.exec('PRAGMA synchronous = NORMAL')
    schema = migrate(db, options.migrations ?? MIGRATIONS)
  } catch (err) {
    db.close()
    throw new HistoryUnavailableError(file, reason(err))
  }
  if (schema.from !== schema.to) logger.info({ file, ...schema }, 'history file schema upgraded')

  const insert = db.prepare(
    `INSERT INTO ${TABLE} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
  )
  const newest = db.prepare(NEWEST_SQL)
  const deleteBatch = db.prepare(
    `DELETE FROM ${TABLE} WHERE id IN (SELECT id FROM ${TABLE} WHERE timestamp < ? ORDER BY timestamp LIMIT ?)`,
  )

  let pending: StoredSample[] = []
  let flushTimer: NodeJS.Immediate | undefined
  let failed = false
  let locked = false
  let closed = false

  function fail(err: unknown) {
    if (failed) return
    failed = true
    pending = []
    const error = err instanceof Error ? err : new Error(String(err))
    options.onWriteFailure?.(error)
  }

  function flush() {
    flushTimer = undefined
    if (pending.length === 0 || failed) return
    const batch = pending
    pending = []
    try {
      db.exec('BEGIN IMMEDIATE')
      try {
        for (const sample of batch) insert.run(...toRow(sample))
        db.exec('COMMIT')
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
      if (locked) {
        locked = false
        logger.info({ file }, 'history file writable again; the samples that waited are written')
      }
    } catch (err) {
      if (!isBusy(err)) return fail(err)
      // Another process holds the write lock (an operator's sqlite3 inside a transaction): the
      // samples wait in memory for the next flush instead of turning history off.
      pending = [...batch, ...pending].slice(-MAX_PENDING)
      if (!locked) {
        locked = true
        logger.warn({ file, err }, 'history file is locked by another writer; samples wait in memory')
      }
    }
  }

  let pruning: Promise<number> | undefined
  function prune(): Promise<number> {
    if (pruning) return pruning
    pruning = new Promise<number>((resolve) => {
      let deleted = 0
      const step = () => {
        if (closed || failed) return resolve(deleted)
        try {
          const changes = Number(deleteBatch.run(now() - retentionMs, batchRows).changes)
          deleted += changes
          if (changes === batchRows) return void setImmediate(step)
          // Hand the freed pages back in the same small steps, so the file shrinks as well.
          if (deleted > 0) db.prepare('PRAGMA incremental_vacuum(256)').all()
          resolve(deleted)
        } catch (err) {
          // Locked by another writer: the next pass retries.
          if (!isBusy(err)) fail(err)
          resolve(deleted)
        }
      }
      setImmediate(step)
    }).finally(() => {
      pruning = undefined
    })
    return pruning
  }

  const retentionTimer = setInterval(() => void prune(), retentionIntervalMs)
  retentionTimer.unref()
  void prune()

  return {
    kind: 'sqlite',
    append(sample) {
      if (failed || closed) return
      pending.push(sample)
      if (!flushTimer) {
        flushTimer = setImmediate(flush)
        flushTimer.unref()
      }
    },
    query(query: HistoryQuery) {
      if (closed) return []
      // Include what is queued, unless another writer holds the lock: a request never waits for it.
      if (!locked) flush()
      const since = query.sinceMs ?? Number.MIN_SAFE_INTEGER
      const limit = query.limit ?? -1 // SQLite: a negative LIMIT is no limit
      return newest.all(since, limit).map(fromRow)
    },
    flush,
    prune,
    async close() {
      if (closed) return
      clearInterval(retentionTimer)
      if (flushTimer) clearImmediate(flushTimer)
      flush()
      closed = true
      try {
        db.exec('PRAGMA optimize')
      } catch {}
      db.close()
    },
  }
}

/**
 * Reads samples from a history file without writing to it (the `history` command, next to a
 * running service): read-only, no migration, no retention. Throws HistoryUnavailableError when
 * the file is missing, not a history file, or from a newer release.
 */
export function readSqliteHistory(file: string, query: HistoryQuery): StoredSample[] {
  const sqlite = loadSqlite()
  if (!sqlite) throw new HistoryUnavailableError(file, `node:sqlite needs ${SQLITE_NODE_VERSIONS}`)
  let db: DatabaseSync | undefined
  try {
    db = new sqlite.DatabaseSync(file, { readOnly: true })
    db.exec('PRAGMA busy_timeout = 1000')
    const version = Number(db.prepare('PRAGMA user_version').get()?.['user_version'] ?? 0)
    if (version === 0) throw new Error(`it holds no ${TABLE} table`)
    if (version > MIGRATIONS.length)
      throw new Error(`its schema version ${version} is newer than this release knows (${MIGRATIONS.length})`)
    return db
      .prepare(NEWEST_SQL)
      .all(query.sinceMs ?? Number.MIN_SAFE_INTEGER, query.limit ?? -1)
      .map(fromRow)
  } catch (err) {
    if ((err as { code?: string }).code === 'RPM_HISTORY_UNAVAILABLE') throw err
    throw new HistoryUnavailableError(file, reason(err))
  } finally {
    db?.close()
  }
}
