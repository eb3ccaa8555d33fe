// Throughput and p99 of GET/SET (100-byte values, keys spread over every slot) through a three-master
// Redis Cluster on loopback, at concurrency 1, 16 and 256:
//   raw      ioredis' own Cluster client (one connection per master, MOVED/ASK followed inside)
//   monitor  createPoolMonitor with cluster: true: slot routing over a multiplexed pool per master
//            (POOL_SIZE 10 each), timing, error counting, breaker, probe, redirection counting
// Rounds are interleaved (variant order alternates each round) so machine noise hits both alike.
// Writes cluster_pool_ratio {c1, c16, c256} = monitor ops/s / raw ops/s and the p99 each adds.
import { Cluster } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import { startCluster } from '../../test/helpers/cluster.js'
import { drive } from '../lib/drive.js'
import { mergeResults } from '../lib/results.js'
import { type ClosableVariant, interleavedRounds, THROUGHPUT_ROUNDS } from '../lib/rounds.js'
import { median, round } from '../lib/stats.js'

const POOL_SIZE = 10
const { rounds: ROUNDS, runMs: RUN_MS } = THROUGHPUT_ROUNDS
const VALUE = 'x'.repeat(100)
const KEYS = 10_000

type Variant = ClosableVariant<'raw' | 'monitor'>

const cluster = await startCluster({ masters: 3 })
const seed = cluster.masters[0]!

async function rawVariant(): Promise<Variant> {
  const client = new Cluster([{ host: seed.host, port: seed.port }])
  await new Promise<void>((resolve) => client.once('ready', () => resolve()))
  return {
    name: 'raw',
    op: (i) => (i & 1 ? client.get(`k${i % KEYS}`) : client.set(`k${i % KEYS}`, VALUE)),
    close: async () => {
      await client.quit()
    },
  }
}

async function monitorVariant(): Promise<Variant> {
  const monitor = createPoolMonitor({
    name: 'bench',
    redis: { host: seed.host, port: seed.port },
    cluster: true,
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
    size: POOL_SIZE,
  })
  for (let i = 0; i < 200 && !monitor.health().ready; i++) await new Promise((r) => setTimeout(r, 25))
  if (!monitor.health().ready) throw new Error(`cluster pool not ready: ${monitor.health().reason}`)
  return {
    name: 'monitor',
    op: (i) => (i & 1 ? monitor.call('get', `k${i % KEYS}`) : monitor.call('set', `k${i % KEYS}`, VALUE)),
    close: () => monitor.close(),
  }
}

const variants = [await rawVariant(), await monitorVariant()]
for (const v of variants) await drive(v.op, 16, 1_000) // warm-up: JIT, connections, every slot

const rounds = await interleavedRounds(variants, THROUGHPUT_ROUNDS)

for (const v of variants) await v.close()
await cluster.stop()

const { opsPerSec, p99, byConcurrency } = rounds
const perRound = rounds.ratioPerRound('monitor', 'raw')

const figures = {
  cluster_pool_ratio: byConcurrency((c) => round(opsPerSec('monitor', c) / opsPerSec('raw', c), 3)),
  // On a shared 2-core machine one stalled round can swing the pooled ratio; the median of the
  // per-round ratios (each round runs both sides back to back) is the steadier figure.
  cluster_pool_ratio_median: byConcurrency((c) => round(median(perRound[`c${c}`]), 3)),
  cluster_pool_p99_added_ms: byConcurrency((c) => round(p99('monitor', c) - p99('raw', c), 3)),
  cluster_pool_detail: {
    masters: 3,
    pool_size_per_master: POOL_SIZE,
    rounds: ROUNDS,
    run_ms: RUN_MS,
    value_bytes: VALUE.length,
    keys: KEYS,
    ops_per_sec: byConcurrency((c) => ({
      raw_ioredis_cluster: Math.round(opsPerSec('raw', c)),
      monitor: Math.round(opsPerSec('monitor', c)),
    })),
    p99_ms: byConcurrency((c) => ({
      raw_ioredis_cluster: round(p99('raw', c), 3),
      monitor: round(p99('monitor', c), 3),
    })),
    monitor_ratio_per_round: perRound,
  },
}
mergeResults('cluster_pool', figures)
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
