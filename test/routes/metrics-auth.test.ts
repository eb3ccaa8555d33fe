import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/redis-server.js'
import { appFor } from './support.js'

// No Redis at all: auth is decided before anything touches Redis, and /metrics still answers.
let bearer: FastifyInstance
let basic: FastifyInstance
let both: FastifyInstance
let open: FastifyInstance
const basicHeader = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

beforeAll(async () => {
  const deadRedis = `redis://127.0.0.1:${await freePort()}`
  const quick = { REDIS_URL: deadRedis, SCRAPE_TIMEOUT_SECONDS: '1' }
  bearer = await appFor({ ...quick, METRICS_BEARER_TOKEN: 'tok-123' })
  basic = await appFor({ ...quick, METRICS_BASIC_AUTH: 'prom:pa:ss' })
  both = await appFor({ ...quick, METRICS_BEARER_TOKEN: 't', METRICS_BASIC_AUTH: 'u:p' })
  open = await appFor(quick)
})
afterAll(async () => {
  await bearer?.close()
  await basic?.close()
  await both?.close()
  await open?.close()
})
const status = (app: FastifyInstance, headers: Record<string, string>) =>
  app.inject({ url: '/metrics', headers }).then((res) => res.statusCode)

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

  it('answers 401 when anything follows the token, or the token is a prefix or has a different case', async () => {
    for (const authorization of [
      'Bearer tok-123 extra',
      'Bearer tok-123,tok-123',
      'Bearer tok-1234',
      'Bearer TOK-123',
      'Bearer',
      'tok-123',
    ]) {
      expect(await status(bearer, { authorization }), authorization).toBe(401)
    }
  })

  it('takes the scheme name in any case (RFC 7235)', async () => {
    expect(await status(bearer, { authorization: 'bearer tok-123' })).toBe(200)
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

describe('/metrics with both credentials configured', () => {
  it('accepts either, and neither mixed up', async () => {
    expect(await status(both, { authorization: 'Bearer t' })).toBe(200)
    expect(await status(both, { authorization: basicHeader('u', 'p') })).toBe(200)
    expect(await status(both, { authorization: 'Bearer u:p' })).toBe(401)
    expect(await status(both, { authorization: `${basicHeader('u', 'p')} junk` })).toBe(401)
    const res = await both.inject('/metrics')
    expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics", Basic realm="metrics"')
  })

  it('lets everything through when no credential is configured', async () => {
    expect(await status(open, {})).toBe(200)
  })
})

describe('/metrics content negotiation (Accept)', () => {
  const negotiated = async (accept: string) => {
    const res = await open.inject({ url: '/metrics', headers: { accept } })
    return res.statusCode === 200 ? String(res.headers['content-type']).split(';')[0] : res.statusCode
  }

  it('serves Prometheus text without a preference and OpenMetrics when ranked first', async () => {
    expect(await negotiated('*/*')).toBe('text/plain')
    expect(await negotiated('text/plain;version=0.0.4')).toBe('text/plain')
    expect(
      await negotiated(
        'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      ),
    ).toBe('application/openmetrics-text')
  })

  it('follows q-values: q=0 excludes a type, the higher q wins', async () => {
    expect(await negotiated('text/plain;q=0')).toBe(406)
    expect(await negotiated('text/plain;q=0, */*')).toBe('application/openmetrics-text')
    expect(await negotiated('application/openmetrics-text;q=0, */*;q=0.1')).toBe('text/plain')
    expect(await negotiated('application/openmetrics-text;q=0.2, text/plain;q=0.9')).toBe('text/plain')
  })

  it('answers 406 with a JSON reason when nothing acceptable remains', async () => {
    const res = await open.inject({ url: '/metrics', headers: { accept: 'application/json, text/*;q=0' } })
    expect(res.statusCode).toBe(406)
    expect(res.json()).toMatchObject({ statusCode: 406, error: 'Not Acceptable' })
  })
})
