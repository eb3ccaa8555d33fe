import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createHistory,
  createMemoryHistory,
  createSqliteHistory,
  MIGRATIONS,
  parseDuration,
  parseSince,
} from '../../src/history/index.js'
import { loadSqlite, silenceSqliteExperimentalWarning } from '../../src/history/sqlite-runtime.js'
import { waitFor } from '../helpers/wait-for.js'
import { captureLogger } from '../monitor/support.js'
import { NO_SQLITE_REASON, SQLITE, sampleAt, tempDir } from './support.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const silent = pino({ level: 'silent' })
const T0 = Date.parse('2026-11-20T00:00:00.000Z')
const MIN = 60_000

describe('durations and since', () => {
  it('reads s, m, h, d and w suffixes and refuses everything else', () => {
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('15m')).toBe(15 * MIN)
    expect(parseDuration('1h')).toBe(60 * MIN)
    expect(parseDuration('7d')).toBe(7 * 86_400_000)
    expect(parseDuration('2w')).toBe(14 * 86_400_000)
    for (const bad of ['', '0h', '1.5h', '-1h', '1y', 'h', '1 h', '7days'])
      expect(parseDuration(bad)).toBe(undefined)
  })

  it('takes since as a duration back from now or as an ISO time', () => {
    expect(parseSince('15m', T0)).toBe(T0 - 15 * MIN)
    expect(parseSince('2026-11-19T23:00:00Z', T0)).toBe(T0 - 60 * MIN)
    expect(parseSince('2026-11-19T23:00:00.000+00:00', T0)).toBe(T0 - 60 * MIN)
    expect(parseSince('2026-11-19', T0)).toBe(Date.parse('2026-11-19'))
    for (const bad of ['yesterday', '1700000000', '2026-13-45T00:00:00Z', '15 m'])
      expect(parseSince(bad, T0)).toBe(undefined)
  })
})

describe('the in-memory history', () => {
  it('keeps the latest size samples and answers since and limit as the newest N, oldest first', () => {
    const store = createMemoryHistory({ size: 5 })
    for (let i = 0; i < 8; i++) store.append(sampleAt(T0 + i * MIN, i))
    expect(store.query({}).map((s) => s.connected_clients)).toEqual([3, 4, 5, 6, 7])
    expect(store.query({ limit: 2 }).map((s) => s.connected_clients)).toEqual([6, 7])
    expect(store.query({ sinceMs: T0 + 5 * MIN }).map((s) => s.connected_clients)).toEqual([5, 6, 7])
    expect(store.query({ sinceMs: T0 + 4 * MIN, limit: 10 }).map((s) => s.connected_clients)).toEqual([
      4, 5, 6, 7,
    ])
    expect(store.query({ sinceMs: T0 + 9 * MIN })).toEqual([])
  })
})

describe('the node:sqlite ExperimentalWarning', () => {
  it('is the only warning silenced: other experimental warnings still arrive', async () => {
    silenceSqliteExperimentalWarning()
    const seen: string[] = []
    const listener = (w: Error) => seen.push(`${w.name}: ${w.message}`)
    process.on('warning', listener)
    try {
      process.emitWarning(
        'SQLite is an experimental feature and might change at any time',
        'ExperimentalWarning',
      )
      process.emitWarning(
        'Frobnication is an experimental feature (expected: printed by the warning-filter test)',
        'ExperimentalWarning',
      )
      process.emitWarning(
        'SQLite is an experimental feature, but this is a DeprecationWarning',
        'DeprecationWarning',
      )
      await new Promise((r) => setImmediate(r))
    } finally {
      process.off('warning', listener)
    }
    expect(seen).toEqual([
      'ExperimentalWarning: Frobnication is an experimental feature (expected: printed by the warning-filter test)',
      'DeprecationWarning: SQLite is an experimental feature, but this is a DeprecationWarning',
    ])
  })
})

/**
 * Makes `file` unwritable for this process and returns the undo. Root writes through a read-only
 * mode, so as root (CI here) the file is made immutable (chattr +i, which root obeys) instead: the
 * test runs either way, it never skips.
 */
function makeUnwritable(file: string): () => void {
  if (process.getuid?.() !== 0) {
    chmodSync(file, 0o444)
    return () => chmodSync(file, 0o644)
  }
  execFileSync('chattr', ['+i', file])
  return () => execFileSync('chattr', ['-i', file])
}

describe.skipIf(!SQLITE)(`the SQLite history (${SQLITE ? 'node:sqlite present' : NO_SQLITE_REASON})`, () => {
  let tmp: ReturnType<typeof tempDir>
  beforeEach(() => {
    tmp = tempDir()
  })
  afterEach(() => tmp.remove())

  const open = (file: string) => {
    const db = new (loadSqlite()!.DatabaseSync)(file)
    return db
  }

  it('creates the redis_metrics table in WAL mode at the newest schema version', async () => {
    const file = join(tmp.dir, 'history.db')
    const store = createSqliteHistory({ file, logger: silent })
    store.append(sampleAt(T0))
    store.flush()
    const db = open(file)
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' })
    expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: MIGRATIONS.length })
    const columns = db
      .prepare('PRAGMA table_info(redis_metrics)')
      .all()
      .map((c) => c['name'])
    expect(columns).toEqual(
      expect.arrayContaining([
        'timestamp',
        'is_available',
        'memory_usage_percent',
        'hit_rate_percent',
        'total_keys',
        'latency_ms',
        'fallback_in_use',
      ]),
    )
    expect(
      db.prepare('SELECT timestamp, is_available, total_keys, fallback_in_use FROM redis_metrics').all(),
    ).toEqual([{ timestamp: T0, is_available: 1, total_keys: 100, fallback_in_use: 0 }])
    db.close()
    await store.close()
  })

  it('gives back every sample after the store is closed and opened again, newest N oldest first', async () => {
    const file = join(tmp.dir, 'history.db')
    const first = createSqliteHistory({ file, logger: silent, now: () => T0 + 10 * MIN })
    const written = [0, 1, 2, 3, 4].map((i) =>
      sampleAt(T0 + i * MIN, i + 1, {
        fallback_in_use: i === 2,
        available: i !== 3,
        circuit_breaker_state: i === 4 ? 'open' : 'closed',
      }),
    )
    for (const s of written) first.append(s)
    await first.close()

    const second = createSqliteHistory({ file, logger: silent, now: () => T0 + 10 * MIN })
    expect(second.query({})).toEqual(written)
    expect(second.query({ limit: 2 })).toEqual(written.slice(3))
    expect(second.query({ sinceMs: T0 + 1 * MIN, limit: 10 })).toEqual(written.slice(1))
    expect(second.query({ sinceMs: T0 + 2 * MIN, limit: 1 })).toEqual(written.slice(4))
    await second.close()
  })

  it('deletes samples older than the retention, in batches, and keeps the rest', async () => {
    const file = join(tmp.dir, 'history.db')
    let now = T0
    const store = createSqliteHistory({
      file,
      logger: silent,
      retentionMs: 60 * MIN,
      retentionBatchRows: 7,
      now: () => now,
    })
    // 30 samples a minute apart beyond the retention, 10 within it.
    for (let i = 0; i < 40; i++) store.append(sampleAt(T0 + i * MIN, i))
    store.flush()
    now = T0 + 90 * MIN
    expect(await store.prune()).toBe(30)
    const left = store.query({})
    expect(left).toHaveLength(10)
    expect(left[0]!.timestamp).toBe(new Date(T0 + 30 * MIN).toISOString())
    expect(await store.prune()).toBe(0)
    await store.close()
  })

  it('keeps samples in memory while another writer holds the lock, and writes them all once it lets go', async () => {
    const file = join(tmp.dir, 'history.db')
    const { logger, lines } = captureLogger('info')
    const store = createSqliteHistory({ file, logger })
    store.append(sampleAt(T0, 1))
    store.flush()
    const other = open(file)
    other.exec('BEGIN EXCLUSIVE')
    other.exec(`INSERT INTO redis_metrics (timestamp, is_available) VALUES (${T0 - MIN}, 1)`)
    store.append(sampleAt(T0 + MIN, 2))
    store.flush()
    store.append(sampleAt(T0 + 2 * MIN, 3))
    store.flush()
    other.exec('COMMIT')
    other.close()
    store.append(sampleAt(T0 + 3 * MIN, 4))
    store.flush()
    expect(store.query({ sinceMs: T0 }).map((s) => s.connected_clients)).toEqual([1, 2, 3, 4])
    expect(store.query({}).map((s) => s.timestamp)[0]).toBe(new Date(T0 - MIN).toISOString())
    const said = lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg !== 'history file schema upgraded')
      .map((l) => [l.level, l.msg])
    expect(said).toEqual([
      [40, 'history file is locked by another writer; samples wait in memory'],
      [30, 'history file writable again; the samples that waited are written'],
    ])
    await store.close()
  })

  it('upgrades a file of an older schema in place and keeps its rows', async () => {
    const file = join(tmp.dir, 'history.db')
    const v1 = createSqliteHistory({ file, logger: silent, migrations: MIGRATIONS })
    v1.append(sampleAt(T0, 3))
    await v1.close()

    const { logger, lines } = captureLogger('info')
    const v2 = createSqliteHistory({
      file,
      logger,
      migrations: [...MIGRATIONS, 'ALTER TABLE redis_metrics ADD COLUMN evicted_keys INTEGER'],
    })
    expect(v2.query({})).toEqual([sampleAt(T0, 3)])
    const db = open(file)
    expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: MIGRATIONS.length + 1 })
    expect(db.prepare('SELECT evicted_keys FROM redis_metrics').all()).toEqual([{ evicted_keys: null }])
    db.close()
    await v2.close()
    expect(lines.map((l) => JSON.parse(l).msg)).toContain('history file schema upgraded')
  })

  it('refuses a file written by a newer release instead of guessing its columns', async () => {
    const file = join(tmp.dir, 'history.db')
    const newer = createSqliteHistory({ file, logger: silent, migrations: [...MIGRATIONS, 'SELECT 1'] })
    await newer.close()
    expect(() => createSqliteHistory({ file, logger: silent })).toThrow(
      expect.objectContaining({
        code: 'RPM_HISTORY_UNAVAILABLE',
        message: expect.stringMatching(/schema version 2 is newer than this release knows \(1\)/),
      }),
    )
  })

  it('refuses a file that is not a database, and one in a directory it cannot write', () => {
    const garbage = join(tmp.dir, 'garbage.db')
    writeFileSync(garbage, 'this is not an SQLite file, it only has the name of one\n'.repeat(100))
    expect(() => createSqliteHistory({ file: garbage, logger: silent })).toThrow(
      expect.objectContaining({
        code: 'RPM_HISTORY_UNAVAILABLE',
        message: expect.stringContaining('not a database'),
      }),
    )
    expect(() =>
      createSqliteHistory({ file: join(tmp.dir, 'missing', 'dir', 'h.db'), logger: silent }),
    ).toThrow(
      expect.objectContaining({
        code: 'RPM_HISTORY_UNAVAILABLE',
        message: expect.stringContaining('unable to open'),
      }),
    )
  })

  it('opens a read-only file, then turns it off at the first write: one error line, the gauge at 0, the ring answers', async () => {
    const file = join(tmp.dir, 'ro.db')
    const first = createSqliteHistory({ file, logger: silent })
    first.append(sampleAt(T0))
    first.flush()
    await first.close()
    const undo = makeUnwritable(file)
    try {
      const registry = new Registry()
      const { logger, lines } = captureLogger('info')
      const history = createHistory({ file, memorySize: 3, registry, logger })
      const fileUp = async () =>
        /^redis_monitor_history_file_up (\d)$/m.exec(
          (await registry.getSingleMetricAsString('redis_monitor_history_file_up')) ?? '',
        )?.[1]
      // Opening reads only: nothing tells a read-only file apart until a commit.
      expect(history.kind).toBe('sqlite')
      expect(await fileUp()).toBe('1')
      for (let i = 1; i <= 4; i++) history.append(sampleAt(T0 + i * MIN, i))
      await waitFor(() => history.kind === 'memory', { what: 'the failed commit to turn the file off' })
      expect(history.unavailableReason).toMatch(/^writing to .*ro\.db failed: .*readonly/)
      expect(await fileUp()).toBe('0')
      const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 50)
      expect(errors).toHaveLength(1)
      expect(errors[0].msg).toMatch(/^history is off: writing to .*ro\.db failed: .*readonly/)
      // The ring received every sample, and keeps taking them.
      history.append(sampleAt(T0 + 5 * MIN, 5))
      expect(history.query({}).map((s) => s.connected_clients)).toEqual([3, 4, 5])
      await history.close()
    } finally {
      undo()
    }
  })

  it('keeps serving from memory when the file is corrupt: one error line says why, the gauge says 0', async () => {
    const file = join(tmp.dir, 'corrupt.db')
    writeFileSync(file, Buffer.alloc(8192, 7))
    const registry = new Registry()
    const { logger, lines } = captureLogger('info')
    const history = createHistory({ file, memorySize: 3, registry, logger })
    expect(history.kind).toBe('memory')
    expect(history.unavailableReason).toMatch(/not a database/)
    for (let i = 0; i < 5; i++) history.append(sampleAt(T0 + i * MIN, i))
    expect(history.query({}).map((s) => s.connected_clients)).toEqual([2, 3, 4])
    expect(await registry.getSingleMetricAsString('redis_monitor_history_file_up')).toMatch(
      /^redis_monitor_history_file_up 0$/m,
    )
    const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 50)
    expect(errors).toHaveLength(1)
    expect(errors[0].msg).toMatch(
      /^history is off: History file .*corrupt\.db cannot be used: .*not a database/,
    )
    await history.close()
  })

  it('writes through createHistory when the file is good, with the gauge at 1', async () => {
    const file = join(tmp.dir, 'good.db')
    const registry = new Registry()
    const history = createHistory({ file, registry, logger: silent })
    expect(history.kind).toBe('sqlite')
    history.append(sampleAt(T0))
    expect(history.query({})).toEqual([sampleAt(T0)])
    expect(await registry.getSingleMetricAsString('redis_monitor_history_file_up')).toMatch(
      /^redis_monitor_history_file_up 1$/m,
    )
    await history.close()
    expect(existsSync(file) && statSync(file).size > 0).toBe(true)
  })
})

describe.skipIf(!SQLITE)(
  `a SIGKILL while writing (${SQLITE ? 'node:sqlite present' : NO_SQLITE_REASON})`,
  () => {
    it('leaves a file that opens with every sample committed before the kill, in order', async () => {
      const tmp = tempDir()
      const file = join(tmp.dir, 'history.db')
      const writer = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'fixtures', 'writer.ts'), file], {
        cwd: join(HERE, '..', '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      writer.stdout.on('data', (d: Buffer) => {
        out += d
      })
      writer.stderr.on('data', (d: Buffer) => {
        err += d
      })
      const exited = new Promise((resolve) => writer.once('close', resolve))
      try {
        await waitFor(
          () => /committed (\d+)/.test(out) && Number(out.match(/committed (\d+)\n$/)?.[1] ?? 0) >= 3000,
          {
            timeoutMs: 20_000,
            what: `3000 commits (stderr: ${err})`,
          },
        )
        writer.kill('SIGKILL')
        await exited
        const reported = Math.max(...[...out.matchAll(/committed (\d+)/g)].map((m) => Number(m[1])))

        const store = createSqliteHistory({ file, logger: silent })
        const rows = store.query({})
        expect(rows.length).toBeGreaterThanOrEqual(reported)
        expect(rows.map((r) => r.connected_clients)).toEqual(rows.map((_, i) => i))
        await store.close()
      } finally {
        writer.kill('SIGKILL')
        tmp.remove()
      }
    })
  },
)
