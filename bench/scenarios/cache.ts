// The cache layer (src/cache/) against what an application would write by hand, on one local
// redis-server, 10 connections each side:
//   raw       plain ioredis clients used round-robin, GET + JSON.parse (the hand-written hit path)
//   raw_autopipelined  the same with ioredis' enableAutoPipelining (its own batching of a tick's
//             commands into one write), the strictest hand-written baseline
//   cache     createCache on createPoolMonitor, getOrSet on keys that are all present (hits)
// at concurrency 1, 16 and 256, rounds interleaved (order rotates) so machine noise hits both alike;
// getorset_hit_ratio = cache ops/s / raw ops/s (target >= 0.95); the same against
// raw_autopipelined beside it.
// Then, at concurrency 1 and 16:
//   near      the same getOrSet with a near cache holding every key (CLIENT TRACKING)
//   remote    the same getOrSet without it (one Redis round trip each)
// near_hit_ratio = near ops/s / remote ops/s (expected 10x or more), and the fallback's throughput
// with Redis killed (breaker open: get and set answered from memory).
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { type Cache, createCache } from '../../src/cache/cache.js'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor } from '../../src/monitor/types.js'
import { startRedis } from '../../test/helpers/redis-server.js'
import { mergeResults } from '../lib/results.js'
import { percentile, round } from '../lib/stats.js'

const CONNECTIONS = 10
const CONCURRENCY = [1, 16, 256] as const
const NEAR_CONCURRENCY = [1, 16] as const
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5)
const RUN_MS = Number(process.env['BENCH_RUN_MS'] ?? 2_000)
const KEYS = 1_000
const NAMESPACE = 'file:meta'
/** A typical small cached object: about 100 bytes of JSON. */
const value = (i: number) => ({ id: i, name: `report-${i}.pdf`, size: 1_024 + i, owner: 'kim', tags: ['q3'] })

type Op = (i: number) => Promise<unknown>
interface Run {
  ops: number
  ms: number
  latenciesMs: number[]
}

/** `concurrency` callers issue operations back to back for `ms`; every latency is kept. */
async function drive(op: Op, concurrency: number, ms: number): Promise<Run> {
  const latenciesMs: number[] = []
  let counter = 0
  const started = performance.now()
  const deadline = started + ms
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const i = counter++
        const t = performance.now()
        await op(i)
        latenciesMs.push(performance.now() - t)
      }
    }),
  )
  return { ops: latenciesMs.length, ms: performance.now() - started, latenciesMs }
}

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

// --- getOrSet hit path vs raw GET + JSON.parse ------------------------------------------------
const variants = [
  { name: 'raw', op: rawOf(rawClients) },
  { name: 'raw_autopipelined', op: rawOf(autoClients) },
  { name: 'cache', op: viaCache },
]
for (const v of variants) await drive(v.op, 16, 500) // warm-up: JIT, connections
const totals = new Map<string, Run>()
const perRound: Record<string, number[]> = {}
for (let r = 0; r < ROUNDS; r++) {
  for (const c of CONCURRENCY) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length]!)
    const opsPerSec: Record<string, number> = {}
    for (const v of order) {
      const run = await drive(v.op, c, RUN_MS)
      const key = `${v.name}:c${c}`
      const total = totals.get(key) ?? { ops: 0, ms: 0, latenciesMs: [] }
      total.ops += run.ops
      total.ms += run.ms
      for (const l of run.latenciesMs) total.latenciesMs.push(l)
      totals.set(key, total)
      opsPerSec[v.name] = (run.ops / run.ms) * 1000
    }
    perRound[`c${c}`] = [...(perRound[`c${c}`] ?? []), round(opsPerSec['cache']! / opsPerSec['raw']!, 3)]
    process.stdout.write(
      `round ${r + 1} c${c}: ${order.map((v) => `${v.name} ${Math.round(opsPerSec[v.name]!)}/s`).join(', ')}\n`,
    )
  }
}
const rate = (key: string) => {
  const t = totals.get(key)!
  return (t.ops / t.ms) * 1000
}
const p99 = (key: string) => percentile(totals.get(key)!.latenciesMs, 99)

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
const nearRates: Record<string, { near: number; remote: number; ratio: number }> = {}
for (const c of NEAR_CONCURRENCY) {
  let nearOps = 0
  let nearMs = 0
  let remoteOps = 0
  let remoteMs = 0
  for (let r = 0; r < ROUNDS; r++) {
    const a = await drive(viaNear, c, RUN_MS / 2)
    const b = await drive(viaCache, c, RUN_MS / 2)
    nearOps += a.ops
    nearMs += a.ms
    remoteOps += b.ops
    remoteMs += b.ms
  }
  const n = (nearOps / nearMs) * 1000
  const m = (remoteOps / remoteMs) * 1000
  nearRates[`c${c}`] = { near: Math.round(n), remote: Math.round(m), ratio: round(n / m, 1) }
  process.stdout.write(`near c${c}: near ${Math.round(n)}/s, remote ${Math.round(m)}/s\n`)
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
const fallbackReads = await drive((i) => cache.get(NAMESPACE, i % KEYS), 16, RUN_MS)
const fallbackWrites = await drive((i) => cache.set(NAMESPACE, i % KEYS, value(i)), 16, RUN_MS)
const fallbackWasActive = cache.fallbackActive
await cache.close()
await cacheMonitor.close()
await redis.stop()

const byConcurrency = <T>(f: (c: number) => T) =>
  Object.fromEntries(CONCURRENCY.map((c) => [`c${c}`, f(c)])) as Record<'c1' | 'c16' | 'c256', T>

const figures = {
  cache_getorset_hit_ratio: byConcurrency((c) => round(rate(`cache:c${c}`) / rate(`raw:c${c}`), 3)),
  cache_getorset_hit_ratio_vs_autopipelined: byConcurrency((c) =>
    round(rate(`cache:c${c}`) / rate(`raw_autopipelined:c${c}`), 3),
  ),
  cache_near_hit_ratio: Object.fromEntries(Object.entries(nearRates).map(([k, v]) => [k, v.ratio])),
  cache_fallback_ops_per_sec: {
    get: Math.round((fallbackReads.ops / fallbackReads.ms) * 1000),
    set: Math.round((fallbackWrites.ops / fallbackWrites.ms) * 1000),
  },
  cache_detail: {
    connections: CONNECTIONS,
    rounds: ROUNDS,
    run_ms: RUN_MS,
    keys: KEYS,
    value_bytes: JSON.stringify(value(500)).length,
    ops_per_sec: byConcurrency((c) => ({
      raw: Math.round(rate(`raw:c${c}`)),
      raw_autopipelined: Math.round(rate(`raw_autopipelined:c${c}`)),
      cache: Math.round(rate(`cache:c${c}`)),
    })),
    p99_ms: byConcurrency((c) => ({
      raw: round(p99(`raw:c${c}`), 3),
      raw_autopipelined: round(p99(`raw_autopipelined:c${c}`), 3),
      cache: round(p99(`cache:c${c}`), 3),
    })),
    getorset_ratio_per_round: perRound,
    near_ops_per_sec: nearRates,
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
