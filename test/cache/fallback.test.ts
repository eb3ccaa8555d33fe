import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../../src/cache/cache.js'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor } from '../../src/monitor/types.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { captureLogger, metricValue } from '../monitor/support.js'

const COMMAND_TIMEOUT_MS = 400

let redis: RedisServer
let monitor: PoolMonitor
let registry: Registry
let cache: Cache
let lines: string[]

beforeAll(async () => {
  redis = await startRedis()
  registry = new Registry()
  const captured = captureLogger('info')
  lines = captured.lines
  monitor = createPoolMonitor({
    name: 'app',
    redis: { host: redis.host, port: redis.port },
    registry,
    logger: captured.logger,
    size: 4,
    probeIntervalMs: 200,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    breaker: { resetTimeoutMs: 500 },
  })
  await waitFor(async () => (await monitor.probe()).ok, { what: 'pool ready' })
  cache = createCache({
    monitor,
    registry,
    logger: captured.logger,
    namespaces: { session: { ttlSeconds: 86_400 }, temp: { ttlSeconds: 600 }, flash: { ttlSeconds: 0.2 } },
    fallback: { maxEntries: 50 },
  })
})
afterAll(async () => {
  redis?.resume()
  await cache?.close()
  await monitor?.close()
  await redis?.stop()
})

const requests = (namespace: string, result: string) =>
  metricValue(registry, 'redis_cache_requests_total', { pool: 'app', namespace, result }).then((v) => v ?? 0)
const gauge = (name: string) => metricValue(registry, name, { pool: 'app' })

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  const value = await work()
  return { value, ms: performance.now() - started }
}

describe('the in-memory fallback against a real redis-server', () => {
  it('SIGKILL: reads and writes keep working from the fallback at once, counted as fallback_*', async () => {
    await cache.set('session', 'before', 'from redis')
    expect(cache.fallbackActive).toBe(false)
    await redis.kill()

    // The first calls after the kill: no throw, answered without waiting for a timeout.
    const write = await timed(() => cache.set('session', 'during', { written: 'in fallback' }))
    expect(write.ms).toBeLessThan(COMMAND_TIMEOUT_MS)
    expect(cache.fallbackActive).toBe(true)
    const read = await timed(() => cache.get('session', 'during'))
    expect(read.value).toEqual({ written: 'in fallback' })
    expect(read.ms).toBeLessThan(COMMAND_TIMEOUT_MS)
    // What was only in Redis is not in the fallback: a fallback miss, not an error.
    expect(await cache.get('session', 'before')).toBeUndefined()
    let loads = 0
    expect(await cache.getOrSet('temp', 'computed', () => ++loads)).toBe(1)
    expect(await cache.getOrSet('temp', 'computed', () => ++loads)).toBe(1)
    await cache.delete('session', 'before')

    expect(await requests('session', 'fallback_hit')).toBe(1)
    expect(await requests('session', 'fallback_miss')).toBe(1)
    expect(await requests('temp', 'fallback_miss')).toBe(1)
    expect(await requests('temp', 'fallback_hit')).toBe(1)
    expect(await requests('session', 'error')).toBe(0)
    expect(await gauge('redis_cache_fallback_active')).toBe(1)
    expect(await gauge('redis_cache_fallback_entries')).toBe(2)
    await waitFor(() => monitor.breakerState() === 'open', { what: 'breaker open' })
    // Breaker open: answered without sending anything to the pool (no circuit_open refusal counted).
    const refusedBefore = await metricValue(registry, 'redis_operation_errors_total', {
      type: 'circuit_open',
    })
    expect(await cache.get('session', 'during')).toEqual({ written: 'in fallback' })
    expect(await metricValue(registry, 'redis_operation_errors_total', { type: 'circuit_open' })).toBe(
      refusedBefore,
    )
    expect(
      lines.filter((l) => l.includes('serves reads and writes from its in-memory fallback')),
    ).toHaveLength(1)
  })

  it('keeps the fallback bounded to maxEntries, and warns once that it cannot track more written keys', async () => {
    for (let i = 0; i < 200; i++) await cache.set('temp', `churn:${i}`, i)
    expect(await gauge('redis_cache_fallback_entries')).toBe(50)
    expect(await cache.get('temp', 'churn:199')).toBe(199)
    expect(await cache.get('temp', 'churn:0')).toBeUndefined()
    // More keys written than it can remember for invalidation: said once, not per key.
    expect(
      lines.filter((l) => l.includes('more keys written during the outage than the fallback holds')),
    ).toHaveLength(1)
  })

  it('holds 10 000 entries by default (fallback.maxEntries): the 10 001st evicts the least recently used', async () => {
    // Redis is still down: a cache of its own, with the default fallback size, writes to memory only.
    const ownRegistry = new Registry()
    const defaults = createCache({
      monitor,
      registry: ownRegistry,
      namespaces: { temp: { ttlSeconds: 600 } },
    })
    const entries = () => metricValue(ownRegistry, 'redis_cache_fallback_entries', { pool: 'app' })
    try {
      for (let i = 0; i < 10_000; i++) await defaults.set('temp', `lru:${i}`, i)
      expect(defaults.fallbackActive).toBe(true)
      expect(await entries()).toBe(10_000)
      // Read lru:0, the oldest write: lru:1 becomes the least recently used.
      expect(await defaults.get('temp', 'lru:0')).toBe(0)
      await defaults.set('temp', 'lru:10000', 10_000)
      expect(await entries()).toBe(10_000)
      expect(await defaults.get('temp', 'lru:1')).toBeUndefined()
      expect(await defaults.get('temp', 'lru:0')).toBe(0)
      expect(await defaults.get('temp', 'lru:2')).toBe(2)
      expect(await defaults.get('temp', 'lru:10000')).toBe(10_000)
    } finally {
      await defaults.close()
    }
  })

  it("gives fallback entries their namespace's TTL too", async () => {
    await cache.set('flash', 'short', 'lived')
    expect(await cache.get('flash', 'short')).toBe('lived')
    await new Promise((r) => setTimeout(r, 300))
    expect(await cache.get('flash', 'short')).toBeUndefined()
    expect(await cache.get('temp', 'churn:199')).toBe(199)
  })

  it('Redis back: the fallback is dropped, reads come from Redis, keys written meanwhile are invalidated', async () => {
    await redis.restart()
    const other = new Redis({ host: redis.host, port: redis.port })
    try {
      // Another instance wrote this key while this one was cut off: its value must win.
      await other.set('session:during', '{"written":"by another instance"}')
      await other.set('session:untouched', '"other"')
      // No cache traffic needed: the probe closing the breaker is enough.
      await waitFor(() => !cache.fallbackActive, { timeoutMs: 10_000, what: 'fallback dropped' })
      expect(await gauge('redis_cache_fallback_active')).toBe(0)
      expect(await gauge('redis_cache_fallback_entries')).toBe(0)
      // Written here during the outage: deleted in Redis, so the next read loads fresh instead of
      // trusting either copy. Not written here: untouched.
      await waitFor(async () => (await other.exists('session:during')) === 0, { what: 'dirty key deleted' })
      expect(await other.get('session:untouched')).toBe('"other"')
      const hits = await requests('session', 'hit')
      expect(await cache.get('session', 'untouched')).toBe('other')
      expect(await requests('session', 'hit')).toBe(hits + 1)
      expect(await cache.get('temp', 'computed')).toBeUndefined()
      const dropped = lines.filter((l) => l.includes('the cache fallback is dropped'))
      expect(dropped).toHaveLength(1)
      // Up to maxEntries (50) keys invalidated, and it says it lost track of the rest.
      expect(JSON.parse(dropped[0]!)).toMatchObject({ invalidated: 50, lostTrack: true })
    } finally {
      other.disconnect()
    }
  })

  it('SIGSTOP: no call waits longer than the command timeout, then the fallback answers', async () => {
    await cache.set('session', 'frozen', 'value')
    redis.pause()
    try {
      const durations: number[] = []
      const deadline = performance.now() + 3 * COMMAND_TIMEOUT_MS
      const workers = Array.from({ length: 8 }, async (_, w) => {
        while (performance.now() < deadline) {
          const { ms } = await timed(() =>
            w % 2 ? cache.get('session', 'frozen') : cache.set('session', `w${w}`, w),
          )
          durations.push(ms)
          await new Promise((r) => setTimeout(r, 10))
        }
      })
      await Promise.all(workers)
      // The pool's timeout sweep ticks every timeout / 8: a call fails between the timeout and one
      // tick later, plus event-loop scheduling on a shared machine.
      expect(Math.max(...durations)).toBeLessThan(COMMAND_TIMEOUT_MS * 1.125 + 150)
      expect(cache.fallbackActive).toBe(true)
      expect(await cache.get('session', 'w0')).toBe(0)
    } finally {
      redis.resume()
    }
    await waitFor(() => !cache.fallbackActive, { timeoutMs: 10_000, what: 'fallback dropped after SIGCONT' })
    expect(await cache.get('session', 'frozen')).toBe('value')
  })
})
