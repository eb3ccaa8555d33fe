import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { breakerCheck, overallStatus, redisCheck } from '../../src/health/health.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { appFor, whenReady } from '../routes/support.js'

describe('the /health verdict', () => {
  const pong = { ok: true, latencyMs: 0.4, at: 0, error: undefined }
  it('is healthy when PING answers and the breaker is closed', () => {
    expect(overallStatus([redisCheck(pong, 0.5, 1000), breakerCheck('closed', 0)])).toBe('healthy')
  })

  it('is degraded, not unhealthy, while the breaker is half-open', () => {
    const breaker = breakerCheck('half_open', 0)
    expect(breaker.status).toBe('warn')
    expect(overallStatus([redisCheck(pong, 0.5, 1000), breaker])).toBe('degraded')
  })

  it('is unhealthy when the breaker is open, PING fails, or PING does not answer within the bound', () => {
    expect(overallStatus([redisCheck(pong, 0.5, 1000), breakerCheck('open', 0)])).toBe('unhealthy')
    const failed = redisCheck({ ok: false, latencyMs: undefined, at: 0, error: 'NOAUTH' }, 2, 1000)
    expect(failed).toEqual({ status: 'fail', message: 'PING failed: NOAUTH', duration_ms: 2 })
    const silent = redisCheck(undefined, 1000.4, 1000)
    expect(silent).toEqual({
      status: 'fail',
      message: 'PING did not answer within 1000 ms',
      duration_ms: 1000.4,
    })
    expect(overallStatus([silent, breakerCheck('closed', 0)])).toBe('unhealthy')
  })
})

let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  redis?.resume()
  await redis?.stop()
})

describe('GET /health against a Redis that freezes', () => {
  let app: FastifyInstance

  beforeAll(async () => {
    app = await appFor({ REDIS_URL: redis.url })
    await whenReady(app)
  })
  afterAll(async () => {
    redis.resume()
    await app?.close()
  })

  it('answers 200 healthy while Redis answers', async () => {
    const res = await app.inject('/health')
    expect({ code: res.statusCode, status: res.json().status }).toEqual({ code: 200, status: 'healthy' })
  })

  it('answers 503 unhealthy once the live PING has waited its 1 s bound, and not much later', async () => {
    redis.pause()
    try {
      const started = Date.now()
      const res = await app.inject('/health')
      const elapsed = Date.now() - started
      expect(res.statusCode).toBe(503)
      const body = res.json()
      expect(body.status).toBe('unhealthy')
      expect(body.checks.redis).toMatchObject({
        status: 'fail',
        message: 'PING did not answer within 1000 ms',
      })
      expect(body.checks.redis.duration_ms).toBeGreaterThanOrEqual(999)
      // The bound holds: generous room for a loaded machine, far below a hang.
      expect(elapsed).toBeLessThan(10_000)
    } finally {
      redis.resume()
    }
  })
})

describe('GET /health through the circuit breaker', () => {
  let app: FastifyInstance

  beforeAll(async () => {
    app = await appFor({
      REDIS_URL: redis.url,
      // Only the test's probes and /health's live PING touch the breaker: no timer probe, no
      // background collection, no traffic.
      PROBE_INTERVAL_MS: '3600000',
      STATUS_HISTORY_INTERVAL_MS: '3600000',
      COMMAND_TIMEOUT_MS: '300',
    })
    await whenReady(app)
  })
  afterAll(async () => {
    redis.resume()
    await app?.close()
  })

  it('answers 503 unhealthy while the breaker is open, 200 degraded once it is half-open, 200 healthy once the trials passed', async () => {
    // Two failed probes in a row open the breaker (a frozen Redis: the connections stay open).
    redis.pause()
    try {
      for (let i = 0; i < 2; i++) expect((await app.poolMonitor.probe()).ok).toBe(false)
    } finally {
      redis.resume()
    }
    expect(app.poolMonitor.breakerState()).toBe('open')

    // Redis answers the live PING, but the open breaker alone makes the service unhealthy.
    const open = await app.inject('/health')
    expect(open.statusCode).toBe(503)
    expect(open.json()).toMatchObject({
      status: 'unhealthy',
      checks: {
        redis: { status: 'pass' },
        circuit_breaker: { status: 'fail', message: 'open: calls fail fast until Redis answers' },
      },
    })

    // After the 5 s reset timeout the breaker lets two trials through; /health's PING is the first.
    await waitFor(() => app.poolMonitor.breakerState() === 'half_open', {
      timeoutMs: 15_000,
      what: 'the breaker to turn half-open',
    })
    const halfOpen = await app.inject('/health')
    expect(halfOpen.statusCode).toBe(200)
    expect(halfOpen.json()).toMatchObject({
      status: 'degraded',
      checks: {
        redis: { status: 'pass' },
        circuit_breaker: { status: 'warn', message: 'half_open: trial calls are let through' },
      },
    })

    // The second successful trial closes it.
    const closed = await app.inject('/health')
    expect(closed.statusCode).toBe(200)
    expect(closed.json()).toMatchObject({
      status: 'healthy',
      checks: { redis: { status: 'pass' }, circuit_breaker: { status: 'pass', message: 'closed' } },
    })
  })
})
