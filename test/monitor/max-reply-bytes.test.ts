import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor, PoolMonitorOptions } from '../../src/monitor/types.js'
import { MAX_REPLY_BYTES } from '../../src/redis/connection.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { metricValue } from './support.js'

const silent = pino({ level: 'silent' })
const MiB = 1024 * 1024
/** Larger than the default cap: a 20 MiB value a library user may store. */
const value = Buffer.alloc(20 * MiB)
for (let i = 0; i < value.length; i += 4096) value[i] = i % 251

describe('maxReplyBytes: the cap on one reply, configurable per pool monitor', () => {
  let redis: RedisServer
  const monitors: PoolMonitor[] = []
  const open = (options: Partial<PoolMonitorOptions> = {}) => {
    const registry = new Registry()
    const monitor = createPoolMonitor({
      redis: { host: redis.host, port: redis.port },
      registry,
      logger: silent,
      size: 1,
      probeIntervalMs: 0,
      ...options,
    })
    monitors.push(monitor)
    return { monitor, registry }
  }

  beforeAll(async () => {
    redis = await startRedis()
    const { monitor } = open({ maxReplyBytes: 32 * MiB })
    expect(await monitor.call('SET', 'big', value)).toBe('OK')
  })
  afterAll(async () => {
    await Promise.all(monitors.map((m) => m.close()))
    await redis.stop()
  })

  it('raised to 32 MiB, a 20 MiB value round-trips byte for byte', async () => {
    const { monitor } = open({ maxReplyBytes: 32 * MiB })
    // equals(), not toEqual(): a deep comparison walks 20 M indices.
    expect(((await monitor.callBuffer('GET', 'big')) as Buffer).equals(value)).toBe(true)
  })

  it('0 means no cap: the 20 MiB value round-trips', async () => {
    const { monitor } = open({ maxReplyBytes: 0 })
    expect(((await monitor.callBuffer('GET', 'big')) as Buffer).equals(value)).toBe(true)
  })

  it('under the 16 MiB default, the reply fails at once with a connection error, counted, and the pool recovers', async () => {
    expect(MAX_REPLY_BYTES).toBe(16 * MiB)
    // The command timeout is far longer than the test waits: a timeout error would mean a hang.
    // The breaker kept out of it: the polls below while the connection comes back are not the point.
    const { monitor, registry } = open({ commandTimeoutMs: 60_000, breaker: { minimumCalls: 1_000 } })
    // Connected first: a call before the connection is up would fail as a connection error too.
    expect(await monitor.call('STRLEN', 'big')).toBe(value.length)
    await expect(monitor.callBuffer('GET', 'big')).rejects.toMatchObject({
      code: 'RPM_CONNECTION',
      message: `Redis connection failed: a reply exceeded ${16 * MiB} bytes (maxReplyBytes); the connection was closed`,
    })
    expect(await metricValue(registry, 'redis_operation_errors_total', { type: 'connection' })).toBe(1)
    expect(await metricValue(registry, 'redis_operation_errors_total', { type: 'timeout' })).toBe(0)
    // The connection reconnects by itself; small replies work again.
    const deadline = Date.now() + 10_000
    let reply: unknown
    while (Date.now() < deadline) {
      reply = await monitor.call('STRLEN', 'big').catch(() => undefined)
      if (reply !== undefined) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(reply).toBe(value.length)
  })

  it('bounds one reply, not the sum: a connection keeps serving after many small replies past the cap', async () => {
    const { monitor } = open({ maxReplyBytes: 64 * 1024 })
    await monitor.call('SET', 'small', Buffer.alloc(1024, 0x61))
    // 400 replies of 1 KiB, one at a time: 400 KiB in all through one connection, 6 times the cap.
    for (let i = 0; i < 400; i++) expect(await monitor.call('STRLEN', 'small')).toBe(1024)
    for (let i = 0; i < 100; i++)
      expect(((await monitor.callBuffer('GET', 'small')) as Buffer).length).toBe(1024)
  })

  it('refuses a negative or fractional cap at construction', () => {
    for (const maxReplyBytes of [-1, 1.5, Number.POSITIVE_INFINITY])
      expect(() => open({ maxReplyBytes })).toThrow('maxReplyBytes must be an integer >= 0 (0: no cap)')
  })
})
