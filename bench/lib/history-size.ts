// Run by bench/scenarios/history.ts on the service's node (it needs node:sqlite): writes DAYS days of
// samples at INTERVAL_MS into a fresh history file the way the service does (one commit per sample,
// retention on), and prints JSON: the size after one day (file + WAL, which the auto-checkpoint keeps
// near 4 MB) and after close at the end (file only), and the time each commit held the event loop.
import { statSync } from 'node:fs'
import pino from 'pino'
import { createSqliteHistory } from '../../src/history/sqlite.js'
import type { StoredSample } from '../../src/history/types.js'

const [fileArg, intervalArg, daysArg, retentionArg] = process.argv.slice(2)
const file = fileArg!
const intervalMs = Number(intervalArg)
const days = Number(daysArg)
const retentionMs = Number(retentionArg)
const DAY_MS = 86_400_000
const perDay = DAY_MS / intervalMs
const start = Date.parse('2026-01-01T00:00:00Z')
let clock = start
const store = createSqliteHistory({ file, logger: pino({ level: 'silent' }), retentionMs, now: () => clock })

const size = () => {
  let bytes = statSync(file).size
  try {
    bytes += statSync(`${file}-wal`).size
  } catch {}
  return bytes
}

// Values that move like a real server's: percentages with decimals, counters that only grow.
const sample = (i: number): StoredSample => ({
  timestamp: new Date(start + i * intervalMs).toISOString(),
  available: i % 5000 !== 0,
  used_memory_bytes: 800_000_000 + ((i * 7919) % 100_000_000),
  memory_usage_percent: 40 + ((i * 31) % 3000) / 100,
  hit_rate_percent: 85 + ((i * 17) % 1000) / 100,
  ops_per_sec: 1000 + ((i * 13) % 5000),
  connected_clients: 50 + (i % 40),
  latency_ms: 0.2 + ((i * 7) % 300) / 100,
  pool_utilization_percent: (i * 3) % 100,
  circuit_breaker_state: 'closed',
  total_keys: 1_000_000 + i * 3,
  fallback_in_use: false,
  keyspace_hits: 10_000_000 + i * 900,
  keyspace_misses: 1_000_000 + i * 100,
})

const commitUs: number[] = []
let afterOneDay = 0
for (let i = 0; i < perDay * days; i++) {
  clock = start + i * intervalMs
  store.append(sample(i))
  const t = performance.now()
  store.flush()
  commitUs.push((performance.now() - t) * 1000)
  if (i === perDay - 1) afterOneDay = size()
  // The service prunes every minute; here once per simulated hour is enough to bound the file.
  if (i % Math.round(3_600_000 / intervalMs) === 0) await store.prune()
}
await store.prune()
const rows = store.query({}).length
await store.close()
commitUs.sort((a, b) => a - b)
const pct = (p: number) =>
  commitUs[Math.min(commitUs.length - 1, Math.ceil((p / 100) * commitUs.length) - 1)]!
process.stdout.write(
  `${JSON.stringify({
    samples_per_day: perDay,
    bytes_after_one_day_with_wal: afterOneDay,
    // After close(): the WAL is checkpointed into the file and removed.
    bytes_at_end: size(),
    rows_at_end: rows,
    commit_us_p50: pct(50),
    commit_us_p99: pct(99),
  })}\n`,
)
