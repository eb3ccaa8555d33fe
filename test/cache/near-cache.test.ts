import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Cache, createCache } from '../../src/cache/cache.js'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor } from '../../src/monitor/types.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { captureLogger, histogramCount, metricValue } from '../monitor/support.js'

const MAX_ENTRIES = 100
const PASSWORD = 'near-cache-secret'

let redis: RedisServer
let other: Redis
let monitor: PoolMonitor
let registry: Registry
let cache: Cache
let lines: string[]

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD })
  other = new Redis({ host: redis.host, port: redis.port, password: PASSWORD })
  registry = new Registry()
  const captured = captureLogger('debug')
  lines = captured.lines
  monitor = createPoolMonitor({
    name: 'near',
    redis: { host: redis.host, port: redis.port, password: PASSWORD },
    registry,
    logger: captured.logger,
    size: 2,
    probeIntervalMs: 0,
  })
  await waitFor(async () => (await monitor.probe()).ok, { what: 'pool ready' })
  cache = createCache({
    monitor,
    registry,
    logger: captured.logger,
    namespaces: { 'file:meta': { ttlSeconds: 3600 }, temp: { ttlSeconds: 600 } },
    nearCache: { maxEntries: MAX_ENTRIES, namespaces: ['file:meta'] },
  })
  await waitFor(() => lines.some((l) => l.includes('near cache on')), { what: 'tracking on' })
})
afterAll(async () => {
  // Every connection drop, flush and recovery above was logged: never with the password.
  expect(lines.join('\n')).not.toContain(PASSWORD)
  await cache?.close()
  await monitor?.close()
  other?.disconnect()
  await redis?.stop()
})

const near = (result: string) =>
  metricValue(registry, 'redis_cache_near_requests_total', { pool: 'near', result }).then((v) => v ?? 0)
const invalidations = () =>
  metricValue(registry, 'redis_cache_near_invalidations_total', { pool: 'near' }).then((v) => v ?? 0)

/** GET commands Redis has run, from INFO commandstats. */
const serverGets = async () =>
  Number(/cmdstat_get:calls=(\d+)/.exec(await other.info('commandstats'))?.[1] ?? 0)

/** Reads until the near cache answers it (the first read fetches and keeps it). */
async function warm(namespace: string, key: string): Promise<unknown> {
  await cache.get(namespace, key)
  const hits = await near('hit')
  const value = await cache.get(namespace, key)
  expect(await near('hit')).toBe(hits + 1)
  return value
}

describe('the near cache (CLIENT TRACKING, two-connection mode) against a real redis-server', () => {
  it('sets up tracking redirected to a subscribed connection of its own, over RESP2', async () => {
    const list = String(await other.client('LIST'))
    const named = (name: string) => list.split('\n').find((l) => l.includes(`name=${name} `))
    const sub = named('rpm:near:cache-near-invalidations')
    const data = named('rpm:near:cache-near-data')
    expect(sub).toMatch(/ sub=1 /)
    expect(sub).toMatch(/ resp=2/)
    const subId = /\bid=(\d+)/.exec(sub ?? '')?.[1]
    expect(subId).toMatch(/^\d+$/)
    // The data connection tracks (flag t) and redirects its invalidations to the subscriber.
    expect(data).toMatch(/ flags=t /)
    expect(data).toContain(` redir=${subId} `)
  })

  it('answers repeated reads locally without a round trip', async () => {
    await cache.set('file:meta', 'hot', { v: 1 })
    expect(await warm('file:meta', 'hot')).toEqual({ v: 1 })
    const hits = await near('hit')
    const getsBefore = await serverGets()
    for (let i = 0; i < 10; i++) expect(await cache.get('file:meta', 'hot')).toEqual({ v: 1 })
    expect(await near('hit')).toBe(hits + 10)
    expect(await serverGets()).toBe(getsBefore)
  })

  it('a SET by another client invalidates the local copy: the next read sees the new value', async () => {
    await cache.set('file:meta', 'shared', { v: 'old' })
    expect(await warm('file:meta', 'shared')).toEqual({ v: 'old' })
    const invalidated = await invalidations()
    await other.set('file:meta:shared', '{"v":"new"}')
    // The write is acknowledged; the invalidation is one hop behind it on the subscriber socket.
    await waitFor(async () => (await invalidations()) > invalidated, { what: 'invalidation received' })
    expect(await invalidations()).toBe(invalidated + 1)
    expect(await cache.get('file:meta', 'shared')).toEqual({ v: 'new' })
    // DEL and expiry invalidate too.
    expect(await warm('file:meta', 'shared')).toEqual({ v: 'new' })
    await other.del('file:meta:shared')
    await waitFor(async () => (await cache.get('file:meta', 'shared')) === undefined, { what: 'delete seen' })
  })

  it("this process's own writes are never hidden by its local copy", async () => {
    await cache.set('file:meta', 'mine', 1)
    expect(await warm('file:meta', 'mine')).toBe(1)
    await cache.set('file:meta', 'mine', 2)
    expect(await cache.get('file:meta', 'mine')).toBe(2)
    await cache.delete('file:meta', 'mine')
    expect(await cache.get('file:meta', 'mine')).toBeUndefined()
  })

  it('leaves namespaces it was not given to Redis', async () => {
    await cache.set('temp', 'remote', 1)
    const [hits, misses] = [await near('hit'), await near('miss')]
    await cache.get('temp', 'remote')
    await cache.get('temp', 'remote')
    expect([await near('hit'), await near('miss')]).toEqual([hits, misses])
  })

  it("reads through the tracked connection, not the pool: a near-cache miss is not in the pool's histogram, a read of another namespace is", async () => {
    const gets = async () =>
      (await histogramCount(registry, 'redis_operation_duration_seconds', {
        pool: 'near',
        command: 'get',
      })) ?? 0
    await other.set('file:meta:tracked-read', '"t"')
    await other.set('temp:pool-read', '"p"')
    const before = await gets()
    const missesBefore = await near('miss')
    expect(await cache.get('file:meta', 'tracked-read')).toBe('t')
    expect(await near('miss')).toBe(missesBefore + 1)
    expect(await gets()).toBe(before)
    expect(await cache.get('temp', 'pool-read')).toBe('p')
    expect(await gets()).toBe(before + 1)
  })

  it('CLIENT KILL of the invalidation connection: the copy empties at once, then tracking recovers', async () => {
    await cache.set('file:meta', 'survivor', 'before')
    expect(await warm('file:meta', 'survivor')).toBe('before')
    const list = String(await other.client('LIST'))
    const subId = /\bid=(\d+) [^\n]*name=rpm:near:cache-near-invalidations /.exec(list)?.[1]
    expect(subId).toMatch(/^\d+$/)
    const flushes = lines.filter((l) => l.includes('near cache flushed')).length
    await other.client('KILL', 'ID', subId!)
    // A write nobody could tell this process about (its invalidation connection is gone):
    await other.set('file:meta:survivor', '"after"')
    await waitFor(() => lines.filter((l) => l.includes('near cache flushed')).length > flushes, {
      what: 'flush logged',
    })
    expect(await cache.get('file:meta', 'survivor')).toBe('after')
    // Tracking comes back on a new connection id and the copy is used again.
    await waitFor(
      async () => {
        const hits = await near('hit')
        await cache.get('file:meta', 'survivor')
        await cache.get('file:meta', 'survivor')
        return (await near('hit')) > hits
      },
      { what: 'near cache answering again' },
    )
    const newSubId = /\bid=(\d+) [^\n]*name=rpm:near:cache-near-invalidations /.exec(
      String(await other.client('LIST')),
    )?.[1]
    expect(newSubId).not.toBe(subId)
    const invalidated = await invalidations()
    await other.set('file:meta:survivor', '"again"')
    await waitFor(async () => (await invalidations()) > invalidated, { what: 'invalidation after recovery' })
    expect(await cache.get('file:meta', 'survivor')).toBe('again')
  })

  it('a silent invalidation connection (CLIENT PAUSE) is dropped within a heartbeat, then tracking recovers', async () => {
    const captured = captureLogger('info')
    const quick = createCache({
      monitor,
      registry: new Registry(),
      logger: captured.logger,
      namespaces: { 'file:meta': { ttlSeconds: 3600 } },
      nearCache: { maxEntries: 10, heartbeatMs: 200 },
    })
    const said = (text: string) => captured.lines.filter((l) => l.includes(text)).length
    try {
      await waitFor(() => said('near cache on') === 1, { what: 'tracking on' })
      await quick.set('file:meta', 'paused', 1)
      await quick.get('file:meta', 'paused')
      // Every client stops being served: the subscriber cannot answer its PING.
      await other.client('PAUSE', '1000', 'ALL')
      await waitFor(() => said('did not answer a PING') === 1, {
        timeoutMs: 5_000,
        what: 'heartbeat failure',
      })
      await waitFor(() => said('near cache on') === 2, { timeoutMs: 15_000, what: 'tracking back' })
      await other.set('file:meta:paused', '2')
      await waitFor(async () => (await quick.get('file:meta', 'paused')) === 2, { what: 'new value seen' })
    } finally {
      await quick.close()
    }
  })

  it('pings the invalidation connection every 1000 ms by default (heartbeatMs), not sooner', async () => {
    // Only the cache's own interval is faked: sockets, ioredis' timers and waitFor stay real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const captured = captureLogger('info')
    const beating = createCache({
      monitor,
      registry: new Registry(),
      logger: captured.logger,
      namespaces: { 'file:meta': { ttlSeconds: 3600 } },
      nearCache: { maxEntries: 10 },
    })
    try {
      const on = await waitFor(() => captured.lines.find((l) => l.includes('near cache on')), {
        what: 'tracking on',
      })
      // The invalidation connection's id, and the last command Redis ran on it.
      const subId = String(JSON.parse(on).redirect)
      const lastCommand = async () => /\bcmd=(\S+)/.exec(String(await other.client('LIST', 'ID', subId)))?.[1]
      expect(await lastCommand()).toBe('subscribe')
      vi.advanceTimersByTime(999)
      await other.ping()
      expect(await lastCommand()).toBe('subscribe')
      vi.advanceTimersByTime(1)
      await waitFor(async () => (await lastCommand()) === 'ping', { what: 'the heartbeat PING at 1000 ms' })
    } finally {
      await beating.close()
      vi.useRealTimers()
    }
  })

  it('stays within maxEntries under key churn', async () => {
    const keys = Array.from({ length: MAX_ENTRIES * 10 }, (_, i) => `churn:${i}`)
    await other.mset(...keys.flatMap((k) => [`file:meta:${k}`, JSON.stringify(k)]))
    for (let round = 0; round < 2; round++) {
      for (const k of keys) expect(await cache.get('file:meta', k)).toBe(k)
    }
    // Every entry the local copy holds is a read that hits: newest first, the held ones answer
    // before any miss can evict them, so the hits count exactly what it holds.
    const hitsBefore = await near('hit')
    for (const k of [...keys].reverse()) await cache.get('file:meta', k)
    expect((await near('hit')) - hitsBefore).toBe(MAX_ENTRIES)
    // Redis' tracking table still knows every churned key; its invalidations for evicted ones are harmless.
    const info = await other.info('stats')
    expect(Number(/tracking_total_keys:(\d+)/.exec(info)?.[1])).toBeGreaterThanOrEqual(keys.length)
  })

  it('FLUSHALL by another client empties the whole local copy, counted as one invalidation', async () => {
    await cache.set('file:meta', 'flushed-1', 1)
    await cache.set('file:meta', 'flushed-2', 2)
    expect(await warm('file:meta', 'flushed-1')).toBe(1)
    expect(await warm('file:meta', 'flushed-2')).toBe(2)
    const invalidated = await invalidations()
    const hits = await near('hit')
    await other.flushall()
    // Redis publishes a null key list for a flush: one message, whatever the copy held.
    await waitFor(async () => (await invalidations()) > invalidated, { what: 'flush received' })
    expect(await invalidations()).toBe(invalidated + 1)
    expect(await cache.get('file:meta', 'flushed-1')).toBeUndefined()
    expect(await cache.get('file:meta', 'flushed-2')).toBeUndefined()
    expect(await near('hit')).toBe(hits)
  })
})
