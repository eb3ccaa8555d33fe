import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { breakerCheck, overallStatus, redisCheck } from '../../src/health/health.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
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

describe('GET /health against a Redis that freezes', () => {
  let redis: RedisServer
  let app: FastifyInstance

  beforeAll(async () => {
    redis = await startRedis()
    app = await appFor({ REDIS_URL: redis.url })
    await whenReady(app)
  })
  afterAll(async () => {
    redis.resume()
    await app?.close()
    await redis?.stop()
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
