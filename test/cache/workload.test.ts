import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { parseConfig } from '../../src/config/config.js'
import { zipfSampler } from '../../src/plugins/workload.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'

let redis: RedisServer
let app: FastifyInstance

beforeAll(async () => {
  redis = await startRedis()
  app = await buildApp({
    config: parseConfig({ REDIS_URL: redis.url, PROBE_INTERVAL_MS: '200', POOL_SIZE: '4' }),
    workload: true,
  })
  await app.ready()
})
afterAll(async () => {
  await app?.close()
  await redis?.stop()
})

/** Sum of redis_cache_requests_total by result, from the app's own /metrics. */
async function cacheRequests(): Promise<Record<string, number>> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const totals: Record<string, number> = {}
  for (const m of text.matchAll(/^redis_cache_requests_total\{[^}]*result="(\w+)"\} (\S+)$/gm)) {
    totals[m[1]!] = (totals[m[1]!] ?? 0) + Number(m[2])
  }
  return totals
}

describe('the synthetic workload through the cache layer (demo, BENCH_POOL_LOAD)', () => {
  it('draws Zipf-distributed ranks: a few hot keys, a long cold tail', () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const pick = zipfSampler(1_000, 1, random)
    const counts = new Array<number>(1_000).fill(0)
    for (let i = 0; i < 100_000; i++) counts[pick()]!++
    // P(rank 0) = 1 / H(1000) = 13.4 %; rank 1 half of that; the top 10 about 39 %.
    expect(counts[0]! / 100_000).toBeCloseTo(0.134, 1)
    expect(counts[0]! / counts[1]!).toBeCloseTo(2, 0)
    const top10 = counts.slice(0, 10).reduce((a, b) => a + b, 0) / 100_000
    expect(top10).toBeGreaterThan(0.35)
    expect(top10).toBeLessThan(0.43)
  })

  it('decorates the app with its cache as cacheLayer, serving from Redis', () => {
    expect(app.cacheLayer).toBeDefined()
    expect(app.cacheLayer?.fallbackActive).toBe(false)
  })

  it('gives /status an honest OK within seconds: a real cache hit rate, with the minimum-lookups guard', async () => {
    const report = await waitFor(
      async () => {
        const body = (await app.inject({ method: 'GET', url: '/status' })).json()
        return body.hit_rate_percent !== null ? body : undefined
      },
      { timeoutMs: 15_000, what: 'a hit rate with enough lookups' },
    )
    expect(report.status).toBe('OK')
    expect(report.reasons).toEqual([])
    expect(report.hit_rate_percent).toBeGreaterThanOrEqual(60)
    expect(report.hit_rate_percent).toBeLessThan(100)
    const requests = await cacheRequests()
    const lookups = (requests['hit'] ?? 0) + (requests['miss'] ?? 0)
    expect(lookups).toBeGreaterThan(50)
    // The cache's own hit rate: a warm cache with a cold tail, neither all hits nor mostly misses.
    const cacheHitRate = (requests['hit'] ?? 0) / lookups
    expect(cacheHitRate).toBeGreaterThan(0.6)
    expect(cacheHitRate).toBeLessThan(0.98)
    expect(requests['error'] ?? 0).toBe(0)
  })

  it('reports fallbackActive while Redis is down, and false again once it is back', async () => {
    await redis.kill()
    await waitFor(() => app.cacheLayer?.fallbackActive, { what: 'fallback active' })
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(/^redis_cache_fallback_active\{pool="default"\} 1$/m)
    await redis.restart()
    await waitFor(() => app.cacheLayer?.fallbackActive === false, {
      timeoutMs: 15_000,
      what: 'fallback dropped',
    })
  })
})
