import type { FastifyInstance } from 'fastify'
import { register as globalRegistry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { appFor, sample, whenReady } from './support.js'

const PASSWORD = 'r0utes-Secret-pw'
let redis: RedisServer
let app: FastifyInstance
/** Just before the app was built: its uptime can be no longer than the time since. */
let builtAfter: number

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD })
  builtAfter = Date.now()
  app = await appFor({
    REDIS_URL: redis.url,
    KEY_GROUPS: 'user:*',
    // A loaded 2-core machine can take over 50 ms for a PING; /status's verdict here is about Redis.
    STATUS_LATENCY_WARNING_MS: '2000',
    STATUS_LATENCY_CRITICAL_MS: '2500',
    // A history sample every 500 ms, so the history test sees one taken after the pool connected.
    STATUS_HISTORY_INTERVAL_MS: '500',
  })
  await whenReady(app)
})
afterAll(async () => {
  await app?.close()
  await redis?.stop()
})

describe('GET /health/live', () => {
  it('answers 200 {"status":"ok"}', async () => {
    const res = await app.inject('/health/live')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })
})

describe('GET /health/ready', () => {
  it('answers 200 when the latest probe succeeded and the breaker is closed', async () => {
    const res = await app.inject('/health/ready')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ status: 'ready', circuit_breaker_state: 'closed' })
  })
})

describe('GET /health', () => {
  it('reports healthy with redis and circuit_breaker checks', async () => {
    const res = await app.inject('/health')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.status).toBe('healthy')
    expect(body.timestamp).toBe(new Date(Date.parse(body.timestamp)).toISOString())
    expect(Object.keys(body).sort()).toEqual(['checks', 'status', 'timestamp', 'uptime_seconds'])
    expect(body.uptime_seconds).toBeGreaterThanOrEqual(0)
    expect(body.uptime_seconds).toBeLessThanOrEqual(Math.round((Date.now() - builtAfter) / 1000))
    expect(body.checks.redis).toEqual({
      status: 'pass',
      message: expect.stringMatching(/^PONG in \d+\.\d\d ms$/),
      duration_ms: expect.any(Number),
    })
    expect(body.checks.circuit_breaker).toEqual({
      status: 'pass',
      message: 'closed',
      duration_ms: expect.any(Number),
    })
    for (const check of ['redis', 'circuit_breaker']) {
      // Measured, not a literal: reading the breaker takes a fraction of a microsecond, but not 0.
      expect(body.checks[check].duration_ms).toBeGreaterThan(0)
    }
  })
})

describe('GET /status and /status/history', () => {
  it('answers the Redis snapshot with the pool latency and breaker state', async () => {
    await app.inject('/metrics')
    const res = await app.inject('/status')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    // maxmemory 0 (no memory percentage) and fewer than 100 lookups (no hit rate yet): OK, no reasons.
    expect(body).toMatchObject({
      available: true,
      status: 'OK',
      reasons: [],
      memory_usage_percent: null,
      hit_rate_percent: null,
      circuit_breaker_state: 'closed',
    })
    expect(body.total_keys).toBe(0) // nothing in this file writes a key
    expect(body.latency_ms).toBeGreaterThan(0)
  })

  it('answers the history as a JSON array of samples with the README keys, oldest first', async () => {
    const samples = await waitFor(
      async () => {
        const res = await app.inject('/status/history')
        expect(res.statusCode).toBe(200)
        expect(res.headers['content-type']).toMatch(/^application\/json/)
        const list = res.json() as Array<Record<string, unknown>>
        return list.at(-1)?.['available'] === true ? list : undefined
      },
      { what: 'a sample of a collection that reached Redis' },
    )
    const times = samples.map((s) => Date.parse(String(s['timestamp'])))
    expect(times).toEqual([...times].sort((a, b) => a - b))
    for (const s of samples) {
      expect(Object.keys(s).sort()).toEqual([
        'available',
        'circuit_breaker_state',
        'connected_clients',
        'fallback_in_use',
        'hit_rate_percent',
        'latency_ms',
        'memory_usage_percent',
        'ops_per_sec',
        'pool_utilization_percent',
        'timestamp',
        'total_keys',
        'used_memory_bytes',
      ])
    }
    expect(samples.at(-1)).toMatchObject({
      available: true,
      total_keys: 0,
      memory_usage_percent: null,
      fallback_in_use: false,
    })
  })
})

describe('GET /metrics', () => {
  it('serves Prometheus text 0.0.4 with the pool, server, service and default families', async () => {
    const res = await app.inject('/metrics')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = res.body
    for (const family of [
      'redis_pool_max_connections',
      'redis_operation_errors_total',
      'redis_circuit_breaker_state',
      'redis_up',
      'redis_monitor_scrape_duration_seconds',
      'redis_monitor_last_scrape_error',
      'http_request_duration_seconds',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${family} `)
    }
    expect(sample(text, 'redis_up')).toBe(1)
    expect(sample(text, 'redis_monitor_last_scrape_error')).toBe(0)
  })

  it('serves OpenMetrics when Accept asks for it, without renaming counters for the next text scrape', async () => {
    const om = await app.inject({
      url: '/metrics',
      headers: {
        accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      },
    })
    expect(om.statusCode).toBe(200)
    expect(om.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8')
    expect(om.body.endsWith('# EOF\n')).toBe(true)
    expect(om.body).toContain('# TYPE redis_operation_errors counter')
    expect(om.body).toMatch(/^redis_operation_errors_total\{/m)
    expect(om.body).not.toContain('_total_total')

    const text = await app.inject('/metrics')
    expect(text.body).toContain('# TYPE redis_operation_errors_total counter')
    expect(text.body).not.toContain('# EOF')
  })

  it('labels request durations by route template, never by the raw URL, once per request', async () => {
    const count = (text: string, route: string, status: number) =>
      sample(
        text,
        `http_request_duration_seconds_count{method="GET",route="${route}",status_code="${status}"}`,
      ) ?? 0
    const before = (await app.inject('/metrics')).body
    await app.inject('/health/live?probe=1')
    await app.inject('/health/live')
    await app.inject('/no/such/page/12345')
    await app.inject('/metrics/12345')
    const text = (await app.inject('/metrics')).body
    expect(count(text, '/health/live', 200) - count(before, '/health/live', 200)).toBe(2)
    expect(count(text, 'unmatched', 404) - count(before, 'unmatched', 404)).toBe(2)
    expect(text).not.toContain('12345')
    expect(text).not.toContain('probe=1')
  })

  it('answers 406 with a JSON reason when Accept allows no format it serves', async () => {
    const res = await app.inject({ url: '/metrics', headers: { accept: 'application/json' } })
    expect(res.statusCode).toBe(406)
    expect(res.json()).toEqual({
      statusCode: 406,
      error: 'Not Acceptable',
      message:
        'serves text/plain; version=0.0.4; charset=utf-8 or application/openmetrics-text; version=1.0.0; charset=utf-8; the Accept header allows neither',
    })
  })

  it('keeps prom-client global registry empty', async () => {
    expect(globalRegistry.getMetricsAsArray()).toHaveLength(0)
  })
})

describe('bad HTTP input', () => {
  it('answers unknown routes with a 404 JSON reason', async () => {
    const res = await app.inject('/nope')
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toContain('application/json')
    expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' })
  })

  it('answers a method a route does not have with 404 JSON', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/metrics' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' })
  })
})
