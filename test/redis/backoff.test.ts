import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BACKOFF_DEFAULTS,
  createConnection,
  MAXCLIENTS_BACKOFF,
  reconnectDelay,
} from '../../src/redis/connection.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'

describe('reconnect backoff', () => {
  it('doubles from 50 ms per attempt up to a 2 s cap, plus up to 250 ms of jitter', () => {
    const none = () => 0
    const most = () => 0.999999
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((a) => reconnectDelay(a, BACKOFF_DEFAULTS, none))).toEqual([
      50, 100, 200, 400, 800, 1600, 2000, 2000,
    ])
    expect(reconnectDelay(1, BACKOFF_DEFAULTS, most)).toBe(300)
    expect(reconnectDelay(100, BACKOFF_DEFAULTS, most)).toBe(2250)
  })

  it('backs off from maxclients refusals from 1 s doubling to a 30 s cap, plus up to 1 s of jitter', () => {
    const none = () => 0
    const most = () => 0.999999
    expect([1, 2, 3, 4, 5, 6, 100].map((a) => reconnectDelay(a, MAXCLIENTS_BACKOFF, none))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ])
    expect(reconnectDelay(1, MAXCLIENTS_BACKOFF, most)).toBe(2_000)
    expect(reconnectDelay(100, MAXCLIENTS_BACKOFF, most)).toBe(31_000)
  })

  describe('against a redis-server that dies and comes back', () => {
    let redis: RedisServer
    let client: Redis

    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => {
      client?.disconnect()
      await redis.stop()
    })

    it('reconnects by itself once the server is back, after attempts spaced by the backoff', async () => {
      client = createConnection({
        redis: { host: redis.host, port: redis.port },
        pool: 'backoff',
        index: 0,
        commandTimeoutMs: 1_000,
      })
      client.on('error', () => {})
      const delays: number[] = []
      client.on('reconnecting', (ms: number) => delays.push(ms))
      await waitFor(() => client.status === 'ready', { what: 'the first connection' })
      await redis.kill()
      await waitFor(() => delays.length >= 4, { what: 'four reconnect attempts' })
      await redis.restart()
      await waitFor(() => client.status === 'ready', { timeoutMs: 15_000, what: 'the reconnection' })
      expect(await client.ping()).toBe('PONG')
      // Each attempt waits its backoff: 50, 100, 200, 400 ms, each plus at most 250 ms of jitter.
      for (const [i, ms] of delays.slice(0, 4).entries()) {
        expect(ms, `attempt ${i + 1}`).toBeGreaterThanOrEqual(50 * 2 ** i)
        expect(ms, `attempt ${i + 1}`).toBeLessThanOrEqual(50 * 2 ** i + 250)
      }
    })
  })
})
