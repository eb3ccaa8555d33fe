import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { parseConfig } from '../../src/config/config.js'
import { createSqliteHistory } from '../../src/history/sqlite.js'
import { PUBLIC_DIR } from '../../src/views/web.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { ROOT } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'
import { NO_SQLITE_REASON, SQLITE, sampleAt, tempDir } from '../history/support.js'

const ARTIFACTS = join(ROOT, 'test-artifacts')
const CHART_IDS = ['memory', 'hit-rate', 'ops', 'latency', 'pool', 'breaker']

let redis: RedisServer
let app: FastifyInstance
let baseUrl: string

beforeAll(async () => {
  redis = await startRedis({ password: 'web-page-secret' })
  // The real service app (pool monitor, server stats, /status routes) with its synthetic
  // workload, so every chart has something to draw; the app serves the page itself.
  app = await buildApp({
    config: parseConfig({
      REDIS_URL: redis.url,
      PROBE_INTERVAL_MS: '200',
      KEY_GROUPS: 'user:*,session:*,cart:*',
      // The first pass runs before the workload has written keys: scan again soon.
      KEY_GROUPS_INTERVAL_MS: '1000',
      // A loaded machine can take over 50 ms for a PING: the page's verdict here is about Redis.
      STATUS_LATENCY_WARNING_MS: '2000',
      STATUS_LATENCY_CRITICAL_MS: '2500',
    }),
    workload: true,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (!address || typeof address !== 'object') throw new Error('the app is not listening')
  baseUrl = `http://127.0.0.1:${address.port}`
})

afterAll(async () => {
  await app?.close()
  await redis?.stop()
})

describe('GET / and its assets', () => {
  it('serves the page as HTML with a content security policy that allows only this origin', async () => {
    const response = await app.inject({ method: 'GET', url: '/' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(response.body).toBe(readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8'))
    const csp = String(response.headers['content-security-policy'])
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("connect-src 'self'")
  })

  it('serves uPlot from the installed package, so the page needs no CDN', async () => {
    const require = createRequire(import.meta.url)
    const js = await app.inject({ method: 'GET', url: '/ui/vendor/uPlot.iife.min.js' })
    expect(js.statusCode).toBe(200)
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(js.body).toBe(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'))
    const css = await app.inject({ method: 'GET', url: '/ui/vendor/uPlot.min.css' })
    expect(css.statusCode).toBe(200)
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8')
  })

  it('serves the page script and stylesheet, and nothing else under /ui', async () => {
    expect((await app.inject({ method: 'GET', url: '/ui/app.js' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/ui/app.css' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/ui/../package.json' })).statusCode).toBe(404)
    expect((await app.inject({ method: 'GET', url: '/ui/index.html' })).statusCode).toBe(404)
  })

  it('revalidates assets: no-cache for its own files, a day for uPlot, 304 for an unchanged ETag', async () => {
    const js = await app.inject({ method: 'GET', url: '/ui/app.js' })
    expect(js.headers['cache-control']).toBe('no-cache')
    expect(js.headers['x-content-type-options']).toBe('nosniff')
    const again = await app.inject({
      method: 'GET',
      url: '/ui/app.js',
      headers: { 'if-none-match': String(js.headers['etag']) },
    })
    expect(again.statusCode).toBe(304)
    const vendor = await app.inject({ method: 'GET', url: '/ui/vendor/uPlot.min.css' })
    expect(vendor.headers['cache-control']).toBe('public, max-age=86400')
  })

  it('refers to no address outside the service', () => {
    const html = readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8')
    const js = readFileSync(join(PUBLIC_DIR, 'app.js'), 'utf8')
    expect(`${html}\n${js}`).not.toMatch(/https?:\/\//)
  })
})

/**
 * chromium where npm test's pretest looks for it and installs it (scripts/ensure-system-tools.js:
 * `command -v chromium`, apt-get as root): on PATH. Missing, the page tests fail; they never skip.
 */
function chromiumOnPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' })
  const path = found.stdout.trim()
  if (found.status !== 0 || path === '')
    throw new Error(
      'chromium is not on PATH: run node scripts/ensure-system-tools.js (npm test does) or apt-get install chromium',
    )
  return path
}

describe('the status page in headless Chromium', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: chromiumOnPath(),
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('loads without console errors, fills every chart from /status/history and keeps a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
    const problems: string[] = []
    const requested: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`console ${message.type()}: ${message.text()}`)
    })
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`))
    page.on('request', (request) => requested.push(request.url()))

    await page.goto(`${baseUrl}/`, { waitUntil: 'load' })
    expect(await page.title()).toBe('redis-pool-monitor')

    // The service samples history every 5 s: two samples make a line on every chart.
    await waitFor(
      async () => {
        const counts = await page.$$eval('figure.chart', (figures) =>
          figures.map((f) => ({
            id: f.id,
            points: Number(f.getAttribute('data-points')),
            values: Number(f.getAttribute('data-values')),
          })),
        )
        return counts.length === CHART_IDS.length && counts.every((c) => c.points >= 2 && c.values >= 1)
      },
      { timeoutMs: 30_000, what: 'two history samples on every chart' },
    )
    for (const id of CHART_IDS) {
      // uPlot drew its one canvas for each chart (a redraw replaces nothing: no second canvas).
      expect(await page.locator(`#chart-${id} canvas`).count()).toBe(1)
    }
    await waitFor(async () => (await page.locator('#groups tbody tr').count()) > 0, {
      timeoutMs: 30_000,
      what: 'the key-group table',
    })
    // No maxmemory, relaxed latency, the workload's cache hit rate: OK once the hit rate is judged,
    // as /status says, with no reasons listed.
    await waitFor(async () => (await page.locator('#status').textContent()) === 'OK', {
      timeoutMs: 30_000,
      what: 'the status badge to read OK',
    })
    expect(await page.locator('#reasons li').count()).toBe(0)
    expect((await app.inject('/status')).json()).toMatchObject({ status: 'OK', reasons: [] })
    expect(await page.locator('#v-version').textContent()).toMatch(/^\d+\.\d+\.\d+$/)
    expect(await page.locator('#groups tbody').textContent()).toContain('user:*')

    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true })

    const content = await page.content()
    expect(content).not.toContain('web-page-secret')
    expect(requested.every((url) => url.startsWith(baseUrl))).toBe(true)
    expect(problems).toEqual([])
    await page.close()
  }, 60_000)
  it('polls GET /status and GET /status/history again every 5000 ms, not sooner', async () => {
    const page = await browser.newPage()
    try {
      // The page's timers on a clock of the test's own, paused before the page loads (an installed
      // clock runs on its own until paused); its requests go to the real service.
      const start = Date.now()
      await page.clock.install({ time: start })
      await page.clock.pauseAt(start + 60_000)
      const polls: string[] = []
      page.on('request', (request) => {
        const { pathname } = new URL(request.url())
        if (pathname === '/status' || pathname === '/status/history') polls.push(pathname)
      })
      await page.goto(`${baseUrl}/`, { waitUntil: 'load' })
      // The first poll, at load: both answered, and the next one scheduled.
      await waitFor(async () => /^updated /.test((await page.locator('#updated').textContent()) ?? ''), {
        what: 'the first poll to be drawn',
      })
      expect(polls.sort()).toEqual(['/status', '/status/history'])
      await page.clock.runFor(4999)
      // A round trip through the page and a moment more: a request sent at 4999 ms would show by now.
      await page.evaluate(() => 0)
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(polls).toHaveLength(2)
      await page.clock.runFor(1)
      await waitFor(() => polls.length === 4, { what: 'the second poll at 5000 ms' })
      expect(polls.slice(2).sort()).toEqual(['/status', '/status/history'])
    } finally {
      await page.close()
    }
  }, 30_000)

  it.skipIf(!SQLITE)(
    `after a restart with HISTORY_FILE, charts the hours written before it (${SQLITE ? 'node:sqlite present' : NO_SQLITE_REASON})`,
    async () => {
      const tmp = tempDir()
      const file = join(tmp.dir, 'history.db')
      // Two hours of samples, one a minute, as a previous run of the service left them.
      const before = createSqliteHistory({ file, logger: pino({ level: 'silent' }) })
      const start = Date.now() - 121 * 60_000
      for (let i = 0; i < 120; i++) before.append(sampleAt(start + i * 60_000, i + 1))
      await before.close()
      const restarted = await buildApp({
        config: parseConfig({ REDIS_URL: redis.url, PROBE_INTERVAL_MS: '200', HISTORY_FILE: file }),
      })
      const page = await browser.newPage()
      try {
        await restarted.listen({ host: '127.0.0.1', port: 0 })
        const address = restarted.server.address()
        if (!address || typeof address !== 'object') throw new Error('not listening')
        const requested: string[] = []
        page.on('request', (request) => requested.push(request.url()))
        await page.goto(`http://127.0.0.1:${address.port}/`, { waitUntil: 'load' })
        const points = await waitFor(
          async () => {
            const n = Number(await page.locator('#chart-memory').getAttribute('data-points'))
            return n > 120 ? n : undefined
          },
          { timeoutMs: 20_000, what: 'the earlier samples and a new one on the memory chart' },
        )
        expect(points).toBeGreaterThan(120)
        expect(requested.some((u) => u.endsWith('/status/history?since=6h'))).toBe(true)
      } finally {
        await page.close()
        await restarted.close()
        tmp.remove()
      }
    },
    60_000,
  )
})
