import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sqliteAvailable } from '../../src/history/index.js'
import type { StoredSample } from '../../src/history/types.js'

/**
 * node:sqlite exists from Node 22.13 on: the Node 20 CI run skips the SQLite tests (it checks the
 * clear config error instead, in history-service.test.ts); the Node 24 run executes them all.
 */
export const SQLITE = sqliteAvailable()
export const NO_SQLITE_REASON = `node:sqlite is missing on Node ${process.versions.node}; these run on Node 22.13+/24`

/** A throwaway directory for history files, removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-history-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A sample at epoch ms `at`; `n` fills the numeric fields so rows are told apart. */
export function sampleAt(at: number, n = 1, overrides: Partial<StoredSample> = {}): StoredSample {
  return {
    timestamp: new Date(at).toISOString(),
    available: true,
    used_memory_bytes: 1000 * n,
    memory_usage_percent: n,
    hit_rate_percent: 50 + (n % 50),
    ops_per_sec: 10 * n,
    connected_clients: n,
    latency_ms: n / 10,
    pool_utilization_percent: n % 100,
    circuit_breaker_state: 'closed',
    total_keys: 100 * n,
    fallback_in_use: false,
    keyspace_hits: 7 * n,
    keyspace_misses: 3 * n,
    ...overrides,
  }
}
