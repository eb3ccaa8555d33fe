import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { captureLogger, metricValue } from './support.js'

const PASSWORD = 'correct-horse-battery'
const WRONG = 'Wr0ng-p@ss/word-4711'
let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD })
})
afterAll(async () => {
  await redis?.stop()
})

describe('authentication', () => {
  it('with the right password, connects and answers', async () => {
    const { logger } = captureLogger()
    const m = createPoolMonitor({
      name: 'auth-ok',
      redis: { host: redis.host, port: redis.port, password: PASSWORD },
      registry: new Registry(),
      logger,
      size: 2,
      probeIntervalMs: 0,
    })
    expect((await m.probe()).ok).toBe(true)
    expect(await m.call('ping')).toBe('PONG')
    await m.close()
  })

  it('with a wrong password, failed probes open the breaker and calls are refused as circuit_open, never showing the password', async () => {
    const { logger, lines } = captureLogger('trace')
    const registry = new Registry()
    const m = createPoolMonitor({
      name: 'auth-wrong',
      redis: { host: redis.host, port: redis.port, password: WRONG },
      registry,
      logger,
      size: 2,
      probeIntervalMs: 200,
    })
    const messages: string[] = []
    await waitFor(() => m.breakerState() === 'open', {
      timeoutMs: 10_000,
      what: 'breaker open on auth failure',
    })
    // Failed probes opened it; probes are not operations, so no operation error is counted yet.
    const beforeRefusals = await metricValue(registry, 'redis_operation_errors_total', {
      pool: 'auth-wrong',
      type: 'connection',
    })
    const codes: string[] = []
    for (let i = 0; i < 5; i++) {
      const err = await m.call('get', 'k').catch((e: Error) => e)
      codes.push(String((err as { code?: string }).code))
      messages.push(
        JSON.stringify({ ...(err as object), message: (err as Error).message, stack: (err as Error).stack }),
      )
    }
    const probe = await m.probe()
    expect(probe.ok).toBe(false)
    messages.push(String(probe.error), String(m.health().reason))
    const connectionErrors = await metricValue(registry, 'redis_operation_errors_total', {
      pool: 'auth-wrong',
      type: 'connection',
    })
    const refused = await metricValue(registry, 'redis_operation_errors_total', {
      pool: 'auth-wrong',
      type: 'circuit_open',
    })
    // The breaker stays open for its 5 s reset timeout: all five calls are refused without a
    // round trip, and counted as such, not as connection errors.
    expect(codes).toEqual(Array(5).fill('RPM_CIRCUIT_OPEN'))
    expect(refused).toBe(5)
    expect(beforeRefusals).toBe(0)
    expect(connectionErrors).toBe(0)
    expect(m.health().ready).toBe(false)
    await m.close()

    const everything = [...messages, ...lines, await registry.metrics()].join('\n')
    expect(lines.length).toBeGreaterThan(0)
    for (const secret of [WRONG, encodeURIComponent(WRONG), PASSWORD])
      expect(everything).not.toContain(secret)
  })

  it('counts a call that cannot reach an unauthenticated pool as a connection error', async () => {
    const { logger } = captureLogger()
    const registry = new Registry()
    const m = createPoolMonitor({
      name: 'auth-calls',
      redis: { host: redis.host, port: redis.port, password: WRONG },
      registry,
      logger,
      size: 1,
      probeIntervalMs: 0,
    })
    await expect(m.call('get', 'k')).rejects.toMatchObject({ code: 'RPM_CONNECTION' })
    expect(
      await metricValue(registry, 'redis_operation_errors_total', { pool: 'auth-calls', type: 'connection' }),
    ).toBe(1)
    await m.close()
  })
})
