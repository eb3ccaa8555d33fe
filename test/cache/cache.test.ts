import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../../src/cache/cache.js'
import { unstorableReason } from '../../src/cache/json.js'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor } from '../../src/monitor/types.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { metricValue } from '../monitor/support.js'

let redis: RedisServer
/** A second connection, not the cache's: what any other client of the Redis sees. */
let observer: Redis
let monitor: PoolMonitor
let registry: Registry
let cache: Cache

beforeAll(async () => {
  redis = await startRedis()
  observer = new Redis({ host: redis.host, port: redis.port })
  registry = new Registry()
  monitor = createPoolMonitor({
    name: 'app',
    redis: { host: redis.host, port: redis.port },
    registry,
    logger: pino({ level: 'silent' }),
    size: 4,
    probeIntervalMs: 0,
  })
  await waitFor(async () => (await monitor.probe()).ok, { what: 'pool ready' })
  cache = createCache({
    monitor,
    registry,
    namespaces: {
      'file:meta': { ttlSeconds: 3600 },
      session: { ttlSeconds: 86_400 },
      temp: { ttlSeconds: 600 },
      jittered: { ttlSeconds: 1000, ttlJitter: 0.2 },
    },
    defaultTtlSeconds: 120,
  })
})
afterAll(async () => {
  await cache?.close()
  await monitor?.close()
  observer?.disconnect()
  await redis?.stop()
})

const requests = (namespace: string, result: string) =>
  metricValue(registry, 'redis_cache_requests_total', { pool: 'app', namespace, result })

describe('createCache against a real redis-server', () => {
  it('stores under <namespace>:<key> with the namespace TTL, as another connection sees it', async () => {
    await cache.set('file:meta', 'report.pdf', { size: 1024 })
    await cache.set('session', 42, { user: 'kim' })
    await cache.set('temp', 'upload-7', 'partial')
    await cache.set('unconfigured', 'x', 1)

    expect(await observer.get('file:meta:report.pdf')).toBe('{"size":1024}')
    expect(await observer.get('session:42')).toBe('{"user":"kim"}')
    // PTTL a moment after the write: at most the TTL, and within a second of it.
    for (const [key, ttlMs] of [
      ['file:meta:report.pdf', 3_600_000],
      ['session:42', 86_400_000],
      ['temp:upload-7', 600_000],
      ['unconfigured:x', 120_000],
    ] as const) {
      const pttl = await observer.pttl(key)
      expect(pttl, key).toBeLessThanOrEqual(ttlMs)
      expect(pttl, key).toBeGreaterThan(ttlMs - 1_000)
    }
    expect(await observer.ttl('session:42')).toBe(86_400)
  })

  it('writes with one SET ... PX, never SET then EXPIRE, and gives namespaces nobody configured 3600 s by default', async () => {
    const plain = createCache({ monitor, registry: new Registry(), namespaces: {} })
    const calls = async () => {
      const text = await observer.info('commandstats')
      return Object.fromEntries(
        [...text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m): [string, number] => [
          m[1] ?? '',
          Number(m[2]),
        ]),
      )
    }
    const before = await calls()
    await plain.set('anything', 'k', { a: 1 })
    const after = await calls()
    const changed = Object.fromEntries(
      Object.entries(after)
        .map(([cmd, n]) => [cmd, n - (before[cmd] ?? 0)])
        .filter(([, n]) => n !== 0),
    )
    // The observer's own first INFO counts once it ran.
    expect(changed).toEqual({ info: 1, set: 1 })
    const pttl = await observer.pttl('anything:k')
    expect(pttl).toBeLessThanOrEqual(3_600_000)
    expect(pttl).toBeGreaterThan(3_600_000 - 1_000)
    await plain.close()
  })

  it('takes up to the jitter share off the TTL, so keys written together expire apart', async () => {
    const ttls = []
    for (let i = 0; i < 20; i++) {
      await cache.set('jittered', i, i)
      ttls.push(await observer.pttl(`jittered:${i}`))
    }
    for (const ttl of ttls) {
      expect(ttl).toBeLessThanOrEqual(1_000_000)
      expect(ttl).toBeGreaterThan(800_000 - 1_000)
    }
    expect(new Set(ttls.map((t) => Math.round(t / 10_000))).size).toBeGreaterThan(3)
  })

  it('gives back what JSON can carry exactly as it was stored', async () => {
    const values = [
      { nested: { list: [1, 'two', null, true, { deep: [] }] }, unicode: '한국어 ✓', n: -0.5 },
      [1, 2, 3],
      'a string',
      0,
      false,
      null,
      { big: 'x'.repeat(100_000) },
    ]
    for (const [i, value] of values.entries()) {
      await cache.set('temp', `rt:${i}`, value)
      expect(await cache.get('temp', `rt:${i}`)).toEqual(value)
    }
    // null is a stored value; undefined means nothing is stored.
    expect(await cache.get('temp', 'rt:5')).toBeNull()
    expect(await cache.get('temp', 'never-written')).toBeUndefined()
  })

  it('refuses values JSON cannot carry with RPM_CACHE_VALUE naming the key and the place', async () => {
    const cyclic: Record<string, unknown> = {}
    cyclic['self'] = cyclic
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /\$ is undefined/],
      [{ at: new Date(0) }, /\$\.at is a Date/],
      [{ n: Number.NaN }, /\$\.n is NaN/],
      [{ list: [1, undefined] }, /\$\.list\[1\] is undefined/],
      [10n, /BigInt/],
      [new Map(), /\$ is a Map/],
      [{ f: () => 1 }, /\$\.f is a function/],
      [cyclic, /\$\.self refers back to itself/],
    ]
    for (const [value, reason] of cases) {
      const err = await cache.set('temp', 'bad', value).then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      )
      expect(err?.code).toBe('RPM_CACHE_VALUE')
      expect(err?.message).toContain('temp:bad')
      expect(err?.message).toMatch(reason)
    }
    expect(await observer.exists('temp:bad')).toBe(0)
    expect(unstorableReason({ dropped: undefined, kept: 1 })).toBeUndefined()
  })

  it('surfaces a value another writer stored that is not JSON as RPM_CACHE_DECODE', async () => {
    await observer.set('temp:foreign', 'not json {')
    await expect(cache.get('temp', 'foreign')).rejects.toMatchObject({ code: 'RPM_CACHE_DECODE' })
  })

  it('surfaces reply errors (WRONGTYPE) instead of hiding them in the fallback', async () => {
    await observer.lpush('temp:a-list', 'x')
    const before = await requests('temp', 'error')
    await expect(cache.get('temp', 'a-list')).rejects.toMatchObject({ code: 'RPM_REPLY' })
    expect(await requests('temp', 'error')).toBe((before ?? 0) + 1)
    expect(cache.fallbackActive).toBe(false)
  })

  it('calls the loader once for 100 concurrent getOrSet misses, counts one miss, and gives every caller its value', async () => {
    const missesBefore = (await requests('file:meta', 'miss')) ?? 0
    const hitsBefore = (await requests('file:meta', 'hit')) ?? 0
    let calls = 0
    const loader = async () => {
      calls++
      await new Promise((r) => setTimeout(r, 50))
      return { loaded: true }
    }
    const results = await Promise.all(
      Array.from({ length: 100 }, () => cache.getOrSet('file:meta', 'single-flight', loader)),
    )
    expect(calls).toBe(1)
    expect(results).toHaveLength(100)
    for (const r of results) expect(r).toEqual({ loaded: true })
    expect(await observer.get('file:meta:single-flight')).toBe('{"loaded":true}')
    // Joined callers count no lookup of their own: one miss for the 100.
    expect(((await requests('file:meta', 'miss')) ?? 0) - missesBefore).toBe(1)
    expect(((await requests('file:meta', 'hit')) ?? 0) - hitsBefore).toBe(0)
    // Stored now: a later call is a hit and does not load.
    expect(await cache.getOrSet('file:meta', 'single-flight', loader)).toEqual({ loaded: true })
    expect(calls).toBe(1)
    expect(((await requests('file:meta', 'hit')) ?? 0) - hitsBefore).toBe(1)
  })

  it('does not cache a loader error: every waiter gets it, the next call loads again', async () => {
    let calls = 0
    const failing = async () => {
      calls++
      await new Promise((r) => setTimeout(r, 20))
      throw new Error('database down')
    }
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => cache.getOrSet('file:meta', 'flaky', failing)),
    )
    expect(calls).toBe(1)
    for (const o of outcomes)
      expect(o).toMatchObject({ status: 'rejected', reason: { message: 'database down' } })
    expect(await observer.exists('file:meta:flaky')).toBe(0)
    expect(await cache.getOrSet('file:meta', 'flaky', () => 'recovered')).toBe('recovered')
    expect(calls).toBe(1)
    expect(await cache.get('file:meta', 'flaky')).toBe('recovered')
  })

  it('deletes the key in Redis', async () => {
    await cache.set('session', 'gone', 1)
    await cache.delete('session', 'gone')
    expect(await observer.exists('session:gone')).toBe(0)
    expect(await cache.get('session', 'gone')).toBeUndefined()
  })

  it('counts hits and misses per configured namespace and folds the rest into other', async () => {
    const before = {
      hit: await requests('session', 'hit'),
      miss: await requests('session', 'miss'),
      other: await requests('other', 'hit'),
    }
    await cache.set('session', 'counted', 1)
    await cache.get('session', 'counted')
    await cache.get('session', 'counted')
    await cache.get('session', 'not-there')
    await cache.set('made-up-namespace', 'k', 1)
    await cache.get('made-up-namespace', 'k')
    expect(await requests('session', 'hit')).toBe((before.hit ?? 0) + 2)
    expect(await requests('session', 'miss')).toBe((before.miss ?? 0) + 1)
    expect(await requests('other', 'hit')).toBe((before.other ?? 0) + 1)
    expect(await requests('made-up-namespace', 'hit')).toBeUndefined()
    const text = await registry.metrics()
    expect(text).toContain('redis_cache_fallback_active{pool="app"} 0')
    expect(text).toContain('redis_cache_fallback_entries{pool="app"} 0')
    const namespaces = new Set(
      [...text.matchAll(/redis_cache_requests_total\{[^}]*namespace="([^"]+)"/g)].map((m) => m[1]),
    )
    expect(namespaces).toEqual(new Set(['file:meta', 'session', 'temp', 'jittered', 'other']))
  })

  it('throws RPM_POOL_CLOSED when its pool is closed, instead of serving from the fallback', async () => {
    const own = new Registry()
    const pool = createPoolMonitor({
      name: 'closed-pool',
      redis: { host: redis.host, port: redis.port },
      registry: own,
      logger: pino({ level: 'silent' }),
      size: 1,
      probeIntervalMs: 0,
    })
    const onClosed = createCache({ monitor: pool, registry: own, namespaces: { a: { ttlSeconds: 60 } } })
    await onClosed.set('a', 'k', 1)
    await pool.close()
    await expect(onClosed.get('a', 'k')).rejects.toMatchObject({ code: 'RPM_POOL_CLOSED' })
    await expect(onClosed.set('a', 'k', 2)).rejects.toMatchObject({ code: 'RPM_POOL_CLOSED' })
    expect(onClosed.fallbackActive).toBe(false)
    await onClosed.close()
  })

  it('registers nothing on the global registry and removes its series on close', async () => {
    const { register } = await import('prom-client')
    expect(await register.getMetricsAsJSON()).toEqual([])
    const own = new Registry()
    const second = createCache({ monitor, registry: own, namespaces: { a: { ttlSeconds: 1 } } })
    expect(await own.metrics()).toContain(
      'redis_cache_requests_total{pool="app",namespace="a",result="hit"} 0',
    )
    await second.close()
    expect(await own.metrics()).not.toMatch(/redis_cache_requests_total\{/)
    await expect(second.get('a', 1)).rejects.toMatchObject({ code: 'RPM_CACHE_CLOSED' })
  })
})
