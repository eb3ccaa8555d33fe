import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../../src/cache/cache.js'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor } from '../../src/monitor/types.js'
import { type RedisCluster, startCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'
import { captureLogger, metricValue } from '../monitor/support.js'

describe('the cache layer on a Redis Cluster', () => {
  let cluster: RedisCluster
  let monitor: PoolMonitor
  let registry: Registry
  let cache: Cache
  const { logger, lines } = captureLogger('info')

  beforeAll(async () => {
    cluster = await startCluster()
    registry = new Registry()
    const seed = cluster.masters[0]!
    monitor = createPoolMonitor({
      name: 'c',
      redis: { host: seed.host, port: seed.port },
      cluster: { refreshIntervalMs: 1_000 },
      size: 2,
      registry,
      logger,
      probeIntervalMs: 200,
    })
    await waitFor(() => monitor.health().ready, { what: 'the cluster pool to be ready', timeoutMs: 15_000 })
    // The near cache asked for on a cluster: it must step aside, never surface MOVED.
    cache = createCache({
      monitor,
      registry,
      logger,
      namespaces: { session: { ttlSeconds: 86_400 } },
      nearCache: { maxEntries: 100 },
    })
    await waitFor(() => lines.some((l) => l.includes('near cache on')), { what: 'tracking on the seed' })
  }, 60_000)

  afterAll(async () => {
    await cache?.close()
    await monitor?.close()
    await cluster?.stop()
  })

  it('stores and reads keys of every slot with their TTL; the near cache turns itself off at the first MOVED', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => i)
    for (const id of ids) await cache.set('session', id, { id })
    for (const id of ids) expect(await cache.get('session', id)).toEqual({ id })
    for (const id of ids) expect(await cache.get('session', id)).toEqual({ id })
    expect(lines.filter((l) => l.includes('near cache off'))).toHaveLength(1)
    expect(
      await metricValue(registry, 'redis_cache_requests_total', { namespace: 'session', result: 'error' }),
    ).toBe(0)
    expect(
      await metricValue(registry, 'redis_cache_requests_total', { namespace: 'session', result: 'hit' }),
    ).toBe(200)
    const owner = await cluster.ownerOf(await cluster.keySlot('session:42'))
    const ttl = Number(await owner.cli('TTL', 'session:42'))
    expect(ttl).toBeGreaterThan(86_000)
    expect(ttl).toBeLessThanOrEqual(86_400)
  })
})
