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

/** Blocks the event loop long enough for under-pressure's next sample to see the delay. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // busy on purpose
  }
}

describe('@fastify/under-pressure', () => {
  it('answers 503 on /health/ready under event-loop pressure while /health/live and /metrics answer 200', async () => {
    // A loaded machine can show a delay on its own right after start-up: begin from a calm loop.
    await waitFor(async () => (await app.inject('/health/ready')).statusCode === 200, {
      timeoutMs: 10_000,
      what: '/health/ready to answer 200 before the pressure',
    })
    const seen = await waitFor(
      async () => {
        blockEventLoop(1000)
        // Let the overdue sampling timer run and record the delay.
        await new Promise((r) => setImmediate(r))
        const [ready, live, metrics] = await Promise.all([
          app.inject('/health/ready'),
          app.inject('/health/live'),
          app.inject('/metrics'),
        ])
        return ready.statusCode === 503 ? { ready, live, metrics } : undefined
      },
      { timeoutMs: 10_000, what: 'under-pressure to answer 503' },
    )
    expect(seen.ready.json()).toMatchObject({ statusCode: 503, code: 'FST_UNDER_PRESSURE' })
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
