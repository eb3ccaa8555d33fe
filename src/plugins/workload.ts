import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import { type Cache, createCache } from '../cache/cache.js'
import type { PoolMonitor } from '../monitor/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The synthetic workload's cache layer; only decorated while the workload runs (demo, bench). */
    cacheLayer?: Cache
  }
}

/** The cache namespaces of the workload, with the TTL policy the README gives as the example. */
export const WORKLOAD_NAMESPACES = {
  'file:meta': { ttlSeconds: 3_600 },
  session: { ttlSeconds: 86_400 },
  temp: { ttlSeconds: 600 },
} as const

/** Key patterns the workload writes; the demo passes them as KEY_GROUPS. */
export const WORKLOAD_KEY_GROUPS = [
  'user:*',
  'cart:*',
  ...Object.keys(WORKLOAD_NAMESPACES).map((n) => `${n}:*`),
]

/** Catalog sizes and Zipf exponents of the cached namespaces (see the workload's comment). */
const FILES = { keys: 10_000, exponent: 1.1, warm: 500 }
const SESSIONS = { keys: 2_000, exponent: 1.1, warm: 100 }

export interface WorkloadOptions {
  /** One round of commands every this many ms. @default 100 */
  intervalMs?: number
  /** Every this many rounds, a burst of concurrent GETs that fills the pool. @default 20 */
  burstEvery?: number
  /** Concurrent GETs in a burst. @default 400 */
  burstSize?: number
  /** Random source of the key popularity; tests pass a seeded one. @default Math.random */
  random?: () => number
}

export interface Workload {
  stop(): Promise<void>
}

const ignore = () => undefined

/**
 * Draws ranks 0..n-1 with probability proportional to 1 / (rank + 1)^exponent: a few keys are
 * hot and a long tail is cold, the popularity that web caches and key-value stores measure
 * (exponents of about 0.9 to 1.2).
 */
export function zipfSampler(n: number, exponent: number, random: () => number = Math.random): () => number {
  const cumulative = new Float64Array(n)
  let total = 0
  for (let i = 0; i < n; i++) {
    total += 1 / (i + 1) ** exponent
    cumulative[i] = total
  }
  return () => {
    const target = random() * total
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cumulative[mid]! < target) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

const fileMeta = (id: number) => ({ id, name: `report-${id}.pdf`, size: 1_024 + ((id * 7919) % 1_000_000) })
const session = (id: number) => ({ user: id, roles: id % 10 === 0 ? ['admin'] : ['user'] })
/** The backing store a cache miss goes to: a millisecond, like a fast database query. */
const load = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), 1))

/**
 * A synthetic load through the pool so every client-side family moves: GET/SET/INCR, pipelines,
 * MULTI, a blocking BLPOP (exclusive lease), WRONGTYPE reply errors, and bursts that push
 * utilization to 100 % and make operations wait.
 *
 * Reads go through a cache layer the way an application's do: `getOrSet` on a catalog of file
 * metadata and sessions whose popularity follows a Zipf law, so the hit rate is a real cache's.
 * It starts as an application restarting against a Redis that already served it: the hottest
 * keys are in Redis before the first round (written with SET, which counts no lookup), so the
 * hit rate is about 75 % from the first second and climbs towards 90 % as the tail warms up;
 * an upstream change deletes a key now and then, so it never reaches 100 %.
 */
export function startWorkload(monitor: PoolMonitor, cache: Cache, options: WorkloadOptions = {}): Workload {
  const intervalMs = options.intervalMs ?? 100
  const burstEvery = options.burstEvery ?? 20
  const burstSize = options.burstSize ?? 400
  const random = options.random ?? Math.random
  const pickFile = zipfSampler(FILES.keys, FILES.exponent, random)
  const pickSession = zipfSampler(SESSIONS.keys, SESSIONS.exponent, random)
  let round = 0
  let stopped = false
  let running: Promise<unknown> | undefined = Promise.allSettled([
    ...Array.from({ length: FILES.warm }, (_, id) => cache.set('file:meta', id, fileMeta(id))),
    ...Array.from({ length: SESSIONS.warm }, (_, id) => cache.set('session', id, session(id))),
  ]).finally(() => {
    running = undefined
  })

  async function once(): Promise<void> {
    round++
    const n = round % 500
    // Users written so far (user:1 .. user:<round>): the raw GETs below read existing keys.
    const written = Math.min(round, 499)
    const file = () => {
      const id = pickFile()
      return cache.getOrSet('file:meta', id, () => load(fileMeta(id)))
    }
    const sessionRead = () => {
      const id = pickSession()
      return cache.getOrSet('session', id, () => load(session(id)))
    }
    await Promise.allSettled([
      ...Array.from({ length: 8 }, file),
      ...Array.from({ length: 3 }, sessionRead),
      cache.set('temp', `upload:${round}`, { part: round % 7, bytes: 65_536 }),
      round > 5 ? cache.get('temp', `upload:${round - 5}`) : undefined,
      // An upstream change: the next read of that key misses and reloads.
      round % 10 === 0 ? cache.delete('file:meta', pickFile()) : undefined,
      monitor.call('SET', `user:${n}`, `{"id":${n},"name":"user ${n}"}`),
      monitor.call('GET', `user:${1 + ((n * 7) % written)}`),
      monitor.call('INCR', 'demo:counter'),
      monitor.call('HSET', `cart:${n % 50}`, `item:${n}`, String(n)),
      // Lower-case names: ioredis' pipeline() looks commands up as methods.
      monitor.pipeline([
        ['get', `user:${n}`],
        ['hgetall', `cart:${n % 50}`],
        ['exists', `session:${pickSession()}`],
        ['incrby', 'demo:pipelined', 2],
      ]),
      monitor.multi([
        ['incr', 'demo:tx'],
        ['expire', 'demo:tx', 600],
      ]),
      // WRONGTYPE: a list command on a string key, a reply error that must not trip the breaker.
      round % 5 === 0 ? monitor.call('LPUSH', `user:${n}`, 'x') : undefined,
      round % 10 === 0 ? monitor.call('BLPOP', 'demo:queue', '0.05') : undefined,
    ])
    if (round % burstEvery === 0) {
      await Promise.allSettled(
        Array.from({ length: burstSize }, (_, i) => monitor.call('GET', `user:${1 + (i % written)}`)),
      )
    }
  }

  // A round still running (a slow or frozen Redis) skips the tick rather than queueing behind it.
  const timer = setInterval(() => {
    if (stopped || running) return
    running = once()
      .catch(ignore)
      .finally(() => {
        running = undefined
      })
  }, intervalMs)
  timer.unref()

  return {
    async stop() {
      stopped = true
      clearInterval(timer)
      await running
    },
  }
}

/**
 * Runs the workload for the app's lifetime (the demo and `BENCH_POOL_LOAD=1`) and decorates the
 * app with its cache as `cacheLayer`, so the rest of the service can tell when it serves from its
 * fallback.
 */
async function workloadPlugin(fastify: FastifyInstance, options: WorkloadOptions) {
  const cache = createCache({
    monitor: fastify.poolMonitor,
    registry: fastify.metricsRegistry,
    namespaces: WORKLOAD_NAMESPACES,
    ttlJitter: 0.1,
    logger: fastify.log.child({ component: 'workload' }) as Logger,
  })
  fastify.decorate('cacheLayer', cache)
  let workload: Workload | undefined
  fastify.addHook('onReady', async () => {
    workload = startWorkload(fastify.poolMonitor, cache, options)
  })
  fastify.addHook('preClose', async () => {
    await workload?.stop()
  })
  fastify.addHook('onClose', async () => {
    await cache.close()
  })
}

export default fp(workloadPlugin, {
  name: 'rpm-workload',
  dependencies: ['rpm-pool-monitor'],
  fastify: '5.x',
})
