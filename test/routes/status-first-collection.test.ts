import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { appFor } from './support.js'

// /status judges the latest background collection. Right after start there is none yet: without
// waiting for it, a /status asked then would read "Redis did not answer" while Redis is fine.

let redis: RedisServer
let app: FastifyInstance | undefined

beforeAll(async () => {
  redis = await startRedis()
})
afterEach(async () => {
  redis.resume()
  await app?.close()
  app = undefined
})
afterAll(async () => {
  await redis.stop()
})

const env = () => ({
  REDIS_URL: redis.url,
  // Only the first collection matters here: the next one is a minute away.
  STATUS_HISTORY_INTERVAL_MS: '60000',
  // The first probe's PING waits out the same pause: its latency is not what is judged here.
  STATUS_LATENCY_WARNING_MS: '60000',
  STATUS_LATENCY_CRITICAL_MS: '60000',
})

describe('/status right after start', () => {
  it('waits for the first collection, so a Redis slow to answer it is judged, not called unavailable', async () => {
    redis.pause()
    const started = Date.now()
    app = await appFor(env())
    const answer = app.inject({ method: 'GET', url: '/status' })
    // Redis answers the first collection well inside its 2 s budget, after /status was asked.
    setTimeout(() => redis.resume(), 300)
    const res = await answer
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.available).toBe(true)
    expect(body.status).toBe('OK')
    expect(body.reasons).toEqual([])
    // The first collection's time: after the start, before the answer.
    expect(body.sampled_at).toBe(new Date(Date.parse(body.sampled_at)).toISOString())
    expect(Date.parse(body.sampled_at)).toBeGreaterThanOrEqual(started)
    expect(Date.parse(body.sampled_at)).toBeLessThanOrEqual(Date.now())
  })

  it('answers CRITICAL, with the reason, when the first collection fails on a frozen Redis', async () => {
    redis.pause()
    app = await appFor(env())
    const res = await app.inject({ method: 'GET', url: '/status' })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.available).toBe(false)
    expect(body.status).toBe('CRITICAL')
    expect(body.reasons).toEqual(['Redis did not answer the latest collection'])
    expect(body.sampled_at).toBeNull()
  })
})
