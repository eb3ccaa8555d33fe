import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServerStats } from '../../src/collectors/server-stats.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'

const purgeCount = async (registry: Registry, result: 'ok' | 'error') =>
  (await registry.getSingleMetric('redis_monitor_memory_purges_total')?.get())?.values.find(
    (v) => v.labels['result'] === result,
  )?.value

const purgeCalls = async (client: Redis) =>
  Number(
    /cmdstat_memory\|purge:calls=(\d+)/.exec(String(await client.call('INFO', 'commandstats')))?.[1] ?? 0,
  )

describe('opt-in MEMORY PURGE on a Redis whose memory is critical', () => {
  let redis: RedisServer
  let client: Redis

  beforeAll(async () => {
    redis = await startRedis({ args: ['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction'] })
    client = new Redis({ port: redis.port, host: redis.host, maxRetriesPerRequest: 1 })
    // Fill until Redis refuses writes: memory is then at (or past) 100 % of maxmemory.
    for (let i = 0; i < 10_000; i++) {
      const ok = await client.set(`fill:${i}`, 'x'.repeat(1000)).then(
        () => true,
        () => false,
      )
      if (!ok) break
    }
  })
  afterAll(async () => {
    client.disconnect()
    await redis.stop()
  })

  it('reports CRITICAL memory in /status with the reason', async () => {
    const stats = createServerStats({
      redis: client,
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
    })
    await stats.collect({ timeoutMs: 2000 })
    const status = stats.status({ latencyMs: 1, breaker: 'closed' })
    expect(status.status).toBe('CRITICAL')
    expect(status.memory_usage_percent).toBeGreaterThanOrEqual(90)
    expect(status.reasons).toEqual([`memory ${status.memory_usage_percent}% of maxmemory >= 90%`])
    await stats.close()
  })

  it('does nothing when AUTO_MEMORY_PURGE is off (the default)', async () => {
    const registry = new Registry()
    const stats = createServerStats({ redis: client, registry, logger: pino({ level: 'silent' }) })
    await stats.collect({ timeoutMs: 2000 })
    await new Promise((r) => setTimeout(r, 100))
    expect(await purgeCount(registry, 'ok')).toBe(0)
    await stats.close()
  })

  it('purges once when on, and not again within the interval', async () => {
    const registry = new Registry()
    const stats = createServerStats({
      redis: client,
      registry,
      logger: pino({ level: 'silent' }),
      autoMemoryPurge: { enabled: true, minIntervalMs: 60_000 },
    })
    const before = await purgeCalls(client)
    await stats.collect({ timeoutMs: 2000 })
    await waitFor(async () => (await purgeCount(registry, 'ok')) === 1, { what: 'one purge' })
    await stats.collect({ timeoutMs: 2000 })
    await stats.collect({ timeoutMs: 2000 })
    await new Promise((r) => setTimeout(r, 100))
    expect(await purgeCount(registry, 'ok')).toBe(1)
    const after = await purgeCalls(client)
    expect(after - before).toBe(1)
    await stats.close()
  })
})
