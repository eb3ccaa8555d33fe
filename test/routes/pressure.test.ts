import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { appFor, whenReady } from './support.js'

let redis: RedisServer
let app: FastifyInstance

beforeAll(async () => {
  redis = await startRedis()
  app = await appFor(
    { REDIS_URL: redis.url, MAX_EVENT_LOOP_DELAY_MS: '200' },
    { pressureSampleIntervalMs: 100 },
  )
  await whenReady(app)
})
afterAll(async () => {
  await app?.close()
  await redis?.stop()
})

/**
 * Keeps the event loop blocked in long stretches with only brief yields between them, so every
 * event-loop delay sample under-pressure takes in that time is a long one. A single block is not
 * enough: under-pressure averages the delay histogram over its sample interval, and the quiet
 * ticks around one block can pull the mean back under the limit on a busy machine.
 */
async function sustainEventLoopPressure(blockMs: number, cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const until = Date.now() + blockMs
    while (Date.now() < until) {
      // busy on purpose
    }
    // Let the overdue delay-histogram and sampling timers run before the next stretch.
    await new Promise((r) => setTimeout(r, 0))
  }
}

describe('@fastify/under-pressure', () => {
  it('answers 503 with Retry-After: 10 on /health/ready, /health and /status under event-loop pressure while /health/live and /metrics answer 200', async () => {
    // A loaded machine can show a delay on its own right after start-up: begin from a calm loop.
    await waitFor(async () => (await app.inject('/health/ready')).statusCode === 200, {
      timeoutMs: 10_000,
      what: '/health/ready to answer 200 before the pressure',
    })
    const scoped = ['/health/ready', '/health', '/status']
    const seen = await waitFor(
      async () => {
        await sustainEventLoopPressure(400, 3)
        const [live, metrics, ...answers] = await Promise.all(
          ['/health/live', '/metrics', ...scoped].map((url) => app.inject(url)),
        )
        return answers.every((res) => res.statusCode === 503)
          ? { live: live!, metrics: metrics!, answers }
          : undefined
      },
      { timeoutMs: 10_000, what: 'under-pressure to answer 503 on every route in its scope' },
    )
    for (const [i, res] of seen.answers.entries()) {
      expect({ url: scoped[i], retryAfter: res.headers['retry-after'] }).toEqual({
        url: scoped[i],
        retryAfter: '10',
      })
      expect(res.json()).toMatchObject({ statusCode: 503, code: 'FST_UNDER_PRESSURE' })
    }
    expect(seen.live.statusCode).toBe(200)
    expect(seen.metrics.statusCode).toBe(200)
  })

  it('recovers once the event loop is free again', async () => {
    await waitFor(async () => (await app.inject('/health/ready')).statusCode === 200, {
      timeoutMs: 10_000,
      what: '/health/ready to recover',
    })
  })
})
