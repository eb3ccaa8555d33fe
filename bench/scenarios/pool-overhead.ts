// Throughput and p99 of GET/SET (100-byte values) through three clients of one local redis-server,
// each with 10 connections, at concurrency 1, 16 and 256:
//   raw      plain ioredis clients used round-robin (many commands in flight per connection)
//   monitor  createPoolMonitor: multiplexed slots, timing, error counting, breaker, probe
//   monitor_uncoalesced  the same with coalesceWrites: false (one socket write per command, as raw
//            does), so the instrumentation's own cost shows apart from the write coalescing
//   lease    generic-pool lending one connection per command (the classic pool shape)
// Rounds are interleaved (variant order rotates each round) so machine noise hits all three alike.
// Writes overhead_ratio {c1, c16, c256} = monitor ops/s / raw ops/s, and the p99 each adds;
// uncoalesced_overhead_ratio is the same for monitor_uncoalesced.
import genericPool from 'generic-pool'
import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import { startRedis } from '../../test/helpers/redis-server.js'
import { drive, type Op, type Run } from '../lib/drive.js'
import { mergeResults } from '../lib/results.js'
import { percentile, round } from '../lib/stats.js'

const CONNECTIONS = 10
const CONCURRENCY = [1, 16, 256] as const
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5)
const RUN_MS = Number(process.env['BENCH_RUN_MS'] ?? 2_000)
const VALUE = 'x'.repeat(100)
const KEYS = 1_000

interface Variant {
  name: 'raw' | 'monitor' | 'monitor_uncoalesced' | 'lease'
  op: Op
  close(): Promise<void>
}

const redis = await startRedis()
const connection = { host: redis.host, port: redis.port }

async function rawVariant(): Promise<Variant> {
  const clients = Array.from({ length: CONNECTIONS }, () => new Redis(connection))
  await Promise.all(clients.map((c) => c.ping()))
  let next = 0
  return {
    name: 'raw',
    op: (i) => {
      const client = clients[next++ % CONNECTIONS]!
      return i & 1 ? client.get(`k${i % KEYS}`) : client.set(`k${i % KEYS}`, VALUE)
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.quit()))
    },
  }
}

async function monitorVariant(coalesceWrites: boolean): Promise<Variant> {
  const monitor = createPoolMonitor({
    name: 'bench',
    coalesceWrites,
    redis: connection,
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
    size: CONNECTIONS,
  })
  for (let i = 0; i < 100 && !(await monitor.probe()).ok; i++) await new Promise((r) => setTimeout(r, 20))
  return {
    name: coalesceWrites ? 'monitor' : 'monitor_uncoalesced',
    op: (i) => (i & 1 ? monitor.call('get', `k${i % KEYS}`) : monitor.call('set', `k${i % KEYS}`, VALUE)),
    close: () => monitor.close(),
  }
}

async function leaseVariant(): Promise<Variant> {
  const pool = genericPool.createPool<Redis>(
    {
      create: async () => {
        const client = new Redis(connection)
        await client.ping()
        return client
      },
      destroy: async (client) => {
        await client.quit()
      },
    },
    { max: CONNECTIONS, min: CONNECTIONS },
  )
  await pool.ready()
  return {
    name: 'lease',
    op: async (i) => {
      const client = await pool.acquire()
      try {
        return await (i & 1 ? client.get(`k${i % KEYS}`) : client.set(`k${i % KEYS}`, VALUE))
      } finally {
        await pool.release(client)
      }
    },
    close: async () => {
      await pool.drain()
      await pool.clear()
    },
  }
}

const variants = [
  await rawVariant(),
  await monitorVariant(true),
  await monitorVariant(false),
  await leaseVariant(),
]
for (const v of variants) await drive(v.op, 16, 500) // warm-up: JIT, connections, key space

const totals = new Map<string, Run>()
const perRound: Record<string, number[]> = {}
const perRoundUncoalesced: Record<string, number[]> = {}
for (let r = 0; r < ROUNDS; r++) {
  for (const c of CONCURRENCY) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length]!)
    const roundOps: Record<string, number> = {}
    for (const v of order) {
      const run = await drive(v.op, c, RUN_MS)
      const key = `${v.name}:c${c}`
      const total = totals.get(key) ?? { ops: 0, ms: 0, latenciesMs: [] }
      total.ops += run.ops
      total.ms += run.ms
      for (const l of run.latenciesMs) total.latenciesMs.push(l)
      totals.set(key, total)
      roundOps[v.name] = (run.ops / run.ms) * 1000
    }
    perRound[`c${c}`] = [...(perRound[`c${c}`] ?? []), round(roundOps['monitor']! / roundOps['raw']!, 3)]
    perRoundUncoalesced[`c${c}`] = [
      ...(perRoundUncoalesced[`c${c}`] ?? []),
      round(roundOps['monitor_uncoalesced']! / roundOps['raw']!, 3),
    ]
    process.stdout.write(
      `round ${r + 1} c${c}: ${order.map((v) => `${v.name} ${Math.round(roundOps[v.name]!)}/s`).join(', ')}\n`,
    )
  }
}

for (const v of variants) await v.close()
await redis.stop()

const opsPerSec = (name: string, c: number) => {
  const t = totals.get(`${name}:c${c}`)!
  return (t.ops / t.ms) * 1000
}
const p99 = (name: string, c: number) => percentile(totals.get(`${name}:c${c}`)!.latenciesMs, 99)

const byConcurrency = <T>(f: (c: number) => T) =>
  Object.fromEntries(CONCURRENCY.map((c) => [`c${c}`, f(c)])) as Record<'c1' | 'c16' | 'c256', T>

const figures = {
  overhead_ratio: byConcurrency((c) => round(opsPerSec('monitor', c) / opsPerSec('raw', c), 3)),
  uncoalesced_overhead_ratio: byConcurrency((c) =>
    round(opsPerSec('monitor_uncoalesced', c) / opsPerSec('raw', c), 3),
  ),
  lease_pool_ratio: byConcurrency((c) => round(opsPerSec('lease', c) / opsPerSec('raw', c), 3)),
  overhead_p99_added_ms: byConcurrency((c) => round(p99('monitor', c) - p99('raw', c), 3)),
  lease_pool_p99_added_ms: byConcurrency((c) => round(p99('lease', c) - p99('raw', c), 3)),
  pool_overhead_detail: {
    connections: CONNECTIONS,
    rounds: ROUNDS,
    run_ms: RUN_MS,
    value_bytes: VALUE.length,
    ops_per_sec: byConcurrency((c) => ({
      raw: Math.round(opsPerSec('raw', c)),
      monitor: Math.round(opsPerSec('monitor', c)),
      monitor_uncoalesced: Math.round(opsPerSec('monitor_uncoalesced', c)),
      lease: Math.round(opsPerSec('lease', c)),
    })),
    p99_ms: byConcurrency((c) => ({
      raw: round(p99('raw', c), 3),
      monitor: round(p99('monitor', c), 3),
      monitor_uncoalesced: round(p99('monitor_uncoalesced', c), 3),
      lease: round(p99('lease', c), 3),
    })),
    monitor_ratio_per_round: perRound,
    monitor_uncoalesced_ratio_per_round: perRoundUncoalesced,
  },
}
mergeResults('pool_overhead', figures)
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
