import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectBudgetMs, scrapeBudgetSeconds } from '../../src/routes/metrics.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { appFor, sample, whenReady } from './support.js'

// The README: collection gets the scrape budget (the header, else SCRAPE_TIMEOUT_SECONDS) minus 10 %,
// at least 200 ms (and, in the code, at most 1 s), so the answer leaves in time to render and travel.
describe('the scrape budget', () => {
  it.each([
    [10, 9_000], // SCRAPE_TIMEOUT_SECONDS' default: 10 % kept back
    [3, 2_700],
    [1, 800], // 10 % would be 100 ms: 200 ms kept back
    [0.5, 300],
    [30, 29_000], // 10 % would be 3 s: 1 s kept back
    [0.1, 50], // never below 50 ms of collection
  ])('gives collection %s s minus the margin: %s ms', (seconds, ms) => {
    expect(collectBudgetMs(seconds)).toBe(ms)
  })

  it('takes X-Prometheus-Scrape-Timeout-Seconds when it is a positive number, else SCRAPE_TIMEOUT_SECONDS', () => {
    expect(scrapeBudgetSeconds('2.5', 10)).toBe(2.5)
    expect(scrapeBudgetSeconds(['4', '9'], 10)).toBe(4)
    for (const bad of [undefined, '', 'soon', '0', '-3', 'NaN', 'Infinity'])
      expect(scrapeBudgetSeconds(bad, 7), String(bad)).toBe(7)
    // A header can ask for at most 5 minutes.
    expect(scrapeBudgetSeconds('3600', 10)).toBe(300)
  })
})

describe('GET /metrics against a frozen Redis: the budget collection gets', () => {
  let redis: RedisServer
  let app: FastifyInstance
  const lines: string[] = []

  beforeAll(async () => {
    redis = await startRedis()
    app = await appFor(
      {
        REDIS_URL: redis.url,
        SCRAPE_TIMEOUT_SECONDS: '1',
        // Only the scrape budget may end a collection here, not the per-command timeout.
        COMMAND_TIMEOUT_MS: '30000',
        // No background collection (its own 2 s budget) while Redis is frozen.
        STATUS_HISTORY_INTERVAL_MS: '3600000',
      },
      { logger: pino({ level: 'warn' }, { write: (line: string) => lines.push(line) }) },
    )
    await whenReady(app)
    // The collection the service starts with must be over before Redis freezes: a scrape that joins
    // it would share a reply read before the pause (redis_up 1).
    await app.serverStats.firstCollection()
  })
  afterAll(async () => {
    redis?.resume()
    await app?.close()
    await redis?.stop()
  })

  /**
   * One /metrics with Redis frozen; returns the budget the failed collection names in its log
   * line (logged once per failure after a success, so Redis is collected from again after).
   */
  async function frozenScrape(headers: Record<string, string>): Promise<number> {
    lines.length = 0
    redis.pause()
    let text: string
    try {
      const res = await app.inject({ url: '/metrics', headers })
      expect(res.statusCode).toBe(200)
      text = res.body
    } finally {
      redis.resume()
    }
    expect(sample(text, 'redis_up')).toBe(0)
    expect(sample(text, 'redis_monitor_last_scrape_error')).toBe(1)
    const failures = lines
      .map((line) => JSON.parse(line) as { msg: string; err?: { message: string } })
      .filter((entry) => entry.msg === 'collection from Redis failed')
    expect(failures).toHaveLength(1)
    const budget = /^Collecting from Redis took longer than the scrape budget of (\d+) ms$/.exec(
      failures[0]!.err!.message,
    )
    expect(budget, failures[0]!.err!.message).not.toBeNull()
    await waitFor(async () => sample((await app.inject('/metrics')).body, 'redis_up') === 1, {
      what: 'a collection to succeed again',
    })
    return Number(budget![1])
  }

  it('is SCRAPE_TIMEOUT_SECONDS minus 200 ms without the header (10 % of 1 s would be 100 ms)', async () => {
    expect(await frozenScrape({})).toBe(800)
  })

  it('is X-Prometheus-Scrape-Timeout-Seconds minus 10 % when the header is a positive number', async () => {
    expect(await frozenScrape({ 'x-prometheus-scrape-timeout-seconds': '2.5' })).toBe(2250)
  })

  it('falls back to SCRAPE_TIMEOUT_SECONDS when the header is not a positive number', async () => {
    expect(await frozenScrape({ 'x-prometheus-scrape-timeout-seconds': 'soon' })).toBe(800)
  })
})
