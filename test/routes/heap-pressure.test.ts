import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { appFor, whenReady } from './support.js'

let redis: RedisServer
let app: FastifyInstance

beforeAll(async () => {
  redis = await startRedis()
  // 0.01 % of the V8 heap limit (a few hundred KB): any running process is above it.
  app = await appFor(
    { REDIS_URL: redis.url, MAX_HEAP_USED_PERCENT: '0.01' },
    { pressureSampleIntervalMs: 100 },
  )
  await whenReady(app)
})
afterAll(async () => {
  await app?.close()
  await redis?.stop()
})

describe('MAX_HEAP_USED_PERCENT through @fastify/under-pressure', () => {
  it('answers 503 with Retry-After: 10 on /status and /health above the heap limit', async () => {
    await waitFor(async () => (await app.inject('/status')).statusCode === 503, {
      what: 'under-pressure to sample the heap',
    })
    for (const url of ['/status', '/health', '/health/ready']) {
      const res = await app.inject(url)
      expect({ url, code: res.statusCode, retryAfter: res.headers['retry-after'] }).toEqual({
        url,
        code: 503,
        retryAfter: '10',
      })
      expect(res.json()).toMatchObject({ statusCode: 503, code: 'FST_UNDER_PRESSURE' })
    }
  })

  it('keeps /health/live and /metrics at 200 meanwhile (kept out of its scope)', async () => {
    expect((await app.inject('/health/live')).statusCode).toBe(200)
    const metrics = await app.inject('/metrics')
    expect(metrics.statusCode).toBe(200)
    expect(metrics.body).toMatch(/^redis_up 1$/m)
  })
})
