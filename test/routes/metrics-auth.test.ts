import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorized } from '../../src/routes/metrics.js'
import { freePort } from '../helpers/redis-server.js'
import { appFor } from './support.js'

// No Redis at all: auth is decided before anything touches Redis, and /metrics still answers.
let bearer: FastifyInstance
let basic: FastifyInstance
const basicHeader = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

beforeAll(async () => {
  const deadRedis = `redis://127.0.0.1:${await freePort()}`
  const quick = { REDIS_URL: deadRedis, SCRAPE_TIMEOUT_SECONDS: '1' }
  bearer = await appFor({ ...quick, METRICS_BEARER_TOKEN: 'tok-123' })
  basic = await appFor({ ...quick, METRICS_BASIC_AUTH: 'prom:pa:ss' })
})
afterAll(async () => {
  await bearer?.close()
  await basic?.close()
})

describe('/metrics with METRICS_BEARER_TOKEN', () => {
  it('answers 401 with a JSON reason and WWW-Authenticate without a token', async () => {
    const res = await bearer.inject('/metrics')
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toContain('Bearer')
    expect(res.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' })
  })

  it('answers 401 for a wrong token and 200 for the right one', async () => {
    expect(
      (await bearer.inject({ url: '/metrics', headers: { authorization: 'Bearer tok-12' } })).statusCode,
    ).toBe(401)
    const ok = await bearer.inject({ url: '/metrics', headers: { authorization: 'Bearer tok-123' } })
    expect(ok.statusCode).toBe(200)
    expect(ok.body).toContain('redis_up 0')
  })

  it('leaves the health routes open', async () => {
    expect((await bearer.inject('/health/live')).statusCode).toBe(200)
  })
})

describe('/metrics with METRICS_BASIC_AUTH', () => {
  it('accepts the configured user and password (a colon in the password included)', async () => {
    const ok = await basic.inject({
      url: '/metrics',
      headers: { authorization: basicHeader('prom', 'pa:ss') },
    })
    expect(ok.statusCode).toBe(200)
  })

  it('rejects a wrong password, a wrong user and another scheme', async () => {
    for (const authorization of [
      basicHeader('prom', 'pa:sS'),
      basicHeader('root', 'pa:ss'),
      'Bearer pa:ss',
    ]) {
      const res = await basic.inject({ url: '/metrics', headers: { authorization } })
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toContain('Basic')
    }
  })
})

describe('authorized()', () => {
  it('lets everything through when no credential is configured', () => {
    expect(authorized(undefined, { bearerToken: undefined, basic: undefined })).toBe(true)
  })

  it('accepts either credential when both are configured', () => {
    const both = { bearerToken: 't', basic: { user: 'u', password: 'p' } }
    expect(authorized('Bearer t', both)).toBe(true)
    expect(authorized(basicHeader('u', 'p'), both)).toBe(true)
    expect(authorized('Bearer u:p', both)).toBe(false)
  })
})
