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
import { drive } from '../lib/drive.js'
import { mergeResults } from '../lib/results.js'
import { type ClosableVariant, interleavedRounds, THROUGHPUT_ROUNDS } from '../lib/rounds.js'
import { round } from '../lib/stats.js'

const CONNECTIONS = 10
const { rounds: ROUNDS, runMs: RUN_MS } = THROUGHPUT_ROUNDS
const VALUE = 'x'.repeat(100)
const KEYS = 1_000

type Variant = ClosableVariant<'raw' | 'monitor' | 'monitor_uncoalesced' | 'lease'>

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

const rounds = await interleavedRounds(variants, THROUGHPUT_ROUNDS)

for (const v of variants) await v.close()
await redis.stop()

const { opsPerSec, p99, byConcurrency } = rounds

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
    monitor_ratio_per_round: rounds.ratioPerRound('monitor', 'raw'),
    monitor_uncoalesced_ratio_per_round: rounds.ratioPerRound('monitor_uncoalesced', 'raw'),
  },
}
mergeResults('pool_overhead', figures)
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
