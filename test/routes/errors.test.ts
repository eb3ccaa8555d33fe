import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { parseConfig } from '../../src/config/config.js'
import { freePort } from '../helpers/redis-server.js'
import { captureLogger } from '../monitor/support.js'
import { sample } from './support.js'

// Redis is not the point here: the pool points at a port nobody listens on.
let app: FastifyInstance
const { logger, lines } = captureLogger('info')

beforeAll(async () => {
  const config = parseConfig({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` })
  app = await buildApp({ config, logger })
  app.get('/boom/:id', async () => {
    throw new Error('the handler broke on purpose')
  })
  await app.ready()
})
afterAll(async () => {
  await app?.close()
})

describe('a route that throws', () => {
  it('answers 500 with a generic JSON reason and keeps the details for the log', async () => {
    const res = await app.inject('/boom/7')
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error; see the service log',
    })
    expect(res.body).not.toContain('on purpose')
  })

  it('logs the error once, with the request id', async () => {
    const before = lines.length
    await app.inject('/boom/8')
    const logged = lines
      .slice(before)
      .map((line) => JSON.parse(line))
      .filter((l) => l.msg === 'request failed')
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({
      reqId: expect.stringMatching(/^req-/),
      err: { message: 'the handler broke on purpose' },
    })
  })

  it('counts the request once under its route template with status 500', async () => {
    const count = async () =>
      sample(
        (await app.inject('/metrics')).body,
        'http_request_duration_seconds_count{method="GET",route="/boom/:id",status_code="500"}',
      ) ?? 0
    const before = await count()
    await app.inject('/boom/9')
    expect((await count()) - before).toBe(1)
  })
})
