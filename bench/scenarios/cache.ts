// The cache layer (src/cache/) against what an application would write by hand, on one local
// redis-server, 10 connections each side:
//   raw       plain ioredis clients used round-robin, GET + JSON.parse (the hand-written hit path)
//   raw_autopipelined  the same with ioredis' enableAutoPipelining (its own batching of a tick's
//             commands into one write), the strictest hand-written baseline
//   monitor   createPoolMonitor alone: call('get') + JSON.parse, so the pool's share of the cost
//             shows apart from the cache layer's own (cache_vs_monitor)
//   cache     createCache on that pool monitor, getOrSet on keys that are all present (hits)
// at concurrency 1, 16 and 256. The machine is shared and stalls for seconds at a time, so each
// comparison is many short slices (SLICE_MS) taken back to back, order rotating, and the figure is
// the MEDIAN of the per-slice ratios: a stall spoils a few slices, not the result;
// getorset_hit_ratio = cache ops/s / raw ops/s (target >= 0.95); the same against
// raw_autopipelined beside it.
// Then, at concurrency 1 and 16:
//   near      the same getOrSet with a near cache holding every key (CLIENT TRACKING)
//   remote    the same getOrSet without it (one Redis round trip each)
// near_hit_ratio = near ops/s / remote ops/s (expected 10x or more), and the fallback's throughput
// with Redis killed (breaker open: get and set answered from memory).
import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import type * as CacheModule from '../../src/cache/cache.js'
import type { Cache } from '../../src/cache/cache.js'
import type * as PoolMonitorModule from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor } from '../../src/monitor/types.js'
import { startRedis } from '../../test/helpers/redis-server.js'
import { drive, type Op } from '../lib/drive.js'
import { mergeResults } from '../lib/results.js'
import { byConcurrency as byLevel } from '../lib/rounds.js'
import { percentile, round } from '../lib/stats.js'

const CONNECTIONS = 10
const CONCURRENCY = [1, 16, 256] as const
const NEAR_CONCURRENCY = [1, 16] as const
// The cache and the pool are measured as the package ships them: dist/, which `npm run bench`
// builds first. tsx compiles src/ with esbuild's keepNames, wrapping each closure made per call in
// a __name() call: about 2 % of the hit path's CPU that users of the built package never pay.
const dist = new URL('../../dist/', import.meta.url)
const { createCache } = (await import(new URL('cache/cache.js', dist).href)) as typeof CacheModule
const { createPoolMonitor } = (await import(
  new URL('monitor/pool-monitor.js', dist).href
)) as typeof PoolMonitorModule

const SLICES = Number(process.env['BENCH_SLICES'] ?? 20)
const SLICE_MS = Number(process.env['BENCH_SLICE_MS'] ?? 300)
const KEYS = 1_000
const NAMESPACE = 'file:meta'
/** A typical small cached object: about 100 bytes of JSON. */
const value = (i: number) => ({ id: i, name: `report-${i}.pdf`, size: 1_024 + i, owner: 'kim', tags: ['q3'] })

const redis = await startRedis()
const connection = { host: redis.host, port: redis.port }
const silent = pino({ level: 'silent' })

async function monitorOf(name: string): Promise<PoolMonitor> {
  const monitor = createPoolMonitor({
    name,
    redis: connection,
    registry: new Registry(),
    logger: silent,
    size: CONNECTIONS,
  })
  for (let i = 0; i < 100 && !(await monitor.probe()).ok; i++) await new Promise((r) => setTimeout(r, 20))
  return monitor
}

const rawClients = Array.from({ length: CONNECTIONS }, () => new Redis(connection))
await Promise.all(rawClients.map((c) => c.ping()))
const seed = rawClients[0]!
for (let i = 0; i < KEYS; i += 100) {
  const batch = seed.pipeline()
  for (let k = i; k < i + 100; k++) batch.set(`${NAMESPACE}:${k}`, JSON.stringify(value(k)), 'EX', 3600)
  await batch.exec()
}

const missLoader = () => {
  throw new Error('every key is present: the loader must not run')
}
const autoClients = Array.from(
  { length: CONNECTIONS },
  () => new Redis({ ...connection, enableAutoPipelining: true }),
)
await Promise.all(autoClients.map((c) => c.ping()))
const rawOf = (clients: Redis[]): Op => {
  let next = 0
  return async (i) => {
    const reply = await clients[next++ % CONNECTIONS]!.get(`${NAMESPACE}:${i % KEYS}`)
    return reply === null ? undefined : JSON.parse(reply)
  }
}

const cacheMonitor = await monitorOf('bench-cache')
const cache = createCache({
  monitor: cacheMonitor,
  registry: new Registry(),
  namespaces: { [NAMESPACE]: { ttlSeconds: 3600 } },
})
const viaCache: Op = (i) => cache.getOrSet(NAMESPACE, i % KEYS, missLoader)
const viaMonitor: Op = (i) =>
  cacheMonitor.call('get', `${NAMESPACE}:${i % KEYS}`).then((reply) => JSON.parse(String(reply)))

// --- getOrSet hit path vs raw GET + JSON.parse ------------------------------------------------
const variants = [
  { name: 'raw', op: rawOf(rawClients) },
  { name: 'raw_autopipelined', op: rawOf(autoClients) },
  { name: 'monitor', op: viaMonitor },
  { name: 'cache', op: viaCache },
]
for (const v of variants) await drive(v.op, 16, 500) // warm-up: JIT, connections

const median = (values: readonly number[]) => percentile(values, 50)

interface Compared {
  /** Median ops/s of each variant over the slices. */
  opsPerSec: Record<string, number>
  /** `<a>_vs_<b>`: median over slices of a's ops/s divided by b's in the same slice. */
  ratios: Record<string, number>
  p99Ms: Record<string, number>
}

/** Runs every variant for SLICE_MS, SLICES times, order rotating; medians of per-slice figures. */
async function compare(list: Array<{ name: string; op: Op }>, c: number): Promise<Compared> {
  const rates: Record<string, number[]> = {}
  const ratios: Record<string, number[]> = {}
  const latencies: Record<string, number[]> = {}
  for (let slice = 0; slice < SLICES; slice++) {
    const order = list.map((_, i) => list[(i + slice) % list.length]!)
    const sliceRate: Record<string, number> = {}
    for (const v of order) {
      const run = await drive(v.op, c, SLICE_MS)
      sliceRate[v.name] = (run.ops / run.ms) * 1000
      rates[v.name] = [...(rates[v.name] ?? []), sliceRate[v.name]!]
      const kept = latencies[v.name] ?? []
      for (const l of run.latenciesMs) kept.push(l)
      latencies[v.name] = kept
    }
    for (const a of list) {
      for (const b of list) {
        if (a === b) continue
        const key = `${a.name}_vs_${b.name}`
        ratios[key] = [...(ratios[key] ?? []), sliceRate[a.name]! / sliceRate[b.name]!]
      }
    }
  }
  const each = <T>(f: (name: string) => T) => Object.fromEntries(list.map((v) => [v.name, f(v.name)]))
  return {
    opsPerSec: each((name) => Math.round(median(rates[name]!))),
    ratios: Object.fromEntries(Object.entries(ratios).map(([name, r]) => [name, round(median(r), 3)])),
    p99Ms: each((name) => round(percentile(latencies[name]!, 99), 3)),
  }
}

const hitPath: Record<string, Compared> = {}
for (const c of CONCURRENCY) {
  hitPath[`c${c}`] = await compare(variants, c)
  process.stdout.write(`hit path c${c}: ${JSON.stringify(hitPath[`c${c}`])}\n`)
}

// --- near-cache hit vs a Redis round trip ----------------------------------------------------
const nearMonitor = await monitorOf('bench-near')
const nearRegistry = new Registry()
const near: Cache = createCache({
  monitor: nearMonitor,
  registry: nearRegistry,
  namespaces: { [NAMESPACE]: { ttlSeconds: 3600 } },
  nearCache: { maxEntries: KEYS },
})
const nearHitCount = async () =>
  Number(
    /redis_cache_near_requests_total\{[^}]*result="hit"\} (\d+)/.exec(await nearRegistry.metrics())?.[1] ?? 0,
  )
// Tracking is set up asynchronously: wait until a repeated read is a local hit.
for (let i = 0; i < 200 && (await nearHitCount()) === 0; i++) {
  await near.get(NAMESPACE, 0)
  await near.get(NAMESPACE, 0)
  await new Promise((r) => setTimeout(r, 25))
}
for (let i = 0; i < KEYS; i++) await near.get(NAMESPACE, i) // every key now held locally
const viaNear: Op = (i) => near.getOrSet(NAMESPACE, i % KEYS, missLoader)
const nearPath: Record<string, Compared> = {}
for (const c of NEAR_CONCURRENCY) {
  nearPath[`c${c}`] = await compare(
    [
      { name: 'remote', op: viaCache },
      { name: 'near', op: viaNear },
    ],
    c,
  )
  process.stdout.write(`near c${c}: ${JSON.stringify(nearPath[`c${c}`])}\n`)
}
const nearHits = await nearHitCount()

// --- the fallback with Redis down --------------------------------------------------------------
for (const client of [...rawClients, ...autoClients]) client.disconnect()
await near.close()
await nearMonitor.close()
await redis.kill()
// The breaker's window is full of the successes above, so failed calls alone take a while to reach
// its failure rate; two failed probes open it at once (probeFailuresToOpen).
for (let i = 0; i < 5 && cacheMonitor.breakerState() !== 'open'; i++) await cacheMonitor.probe()
const breakerOpen = cacheMonitor.breakerState() === 'open'
for (let i = 0; i < KEYS; i++) await cache.set(NAMESPACE, i, value(i))
const fallbackReads = await drive((i) => cache.get(NAMESPACE, i % KEYS), 16, 2_000)
const fallbackWrites = await drive((i) => cache.set(NAMESPACE, i % KEYS, value(i)), 16, 2_000)
const fallbackWasActive = cache.fallbackActive
await cache.close()
await cacheMonitor.close()
await redis.stop()

const byConcurrency = <T>(f: (c: number) => T) => byLevel(CONCURRENCY, f)

const figures = {
  cache_getorset_hit_ratio: byConcurrency((c) => hitPath[`c${c}`]!.ratios['cache_vs_raw']!),
  cache_getorset_hit_ratio_vs_autopipelined: byConcurrency(
    (c) => hitPath[`c${c}`]!.ratios['cache_vs_raw_autopipelined']!,
  ),
  cache_getorset_hit_ratio_vs_monitor: byConcurrency((c) => hitPath[`c${c}`]!.ratios['cache_vs_monitor']!),
  cache_near_hit_ratio: Object.fromEntries(
    Object.entries(nearPath).map(([k, v]) => [k, round(v.ratios['near_vs_remote']!, 1)]),
  ),
  cache_fallback_ops_per_sec: {
    get: Math.round((fallbackReads.ops / fallbackReads.ms) * 1000),
    set: Math.round((fallbackWrites.ops / fallbackWrites.ms) * 1000),
  },
  cache_detail: {
    connections: CONNECTIONS,
    slices: SLICES,
    slice_ms: SLICE_MS,
    keys: KEYS,
    value_bytes: JSON.stringify(value(500)).length,
    hit_path: hitPath,
    near_path: nearPath,
    near_hits_counted: nearHits,
    fallback_breaker_open: breakerOpen,
    fallback_active: fallbackWasActive,
    fallback_p99_ms: {
      get: round(percentile(fallbackReads.latenciesMs, 99), 4),
      set: round(percentile(fallbackWrites.latenciesMs, 99), 4),
    },
  },
}
mergeResults('cache', figures)
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
