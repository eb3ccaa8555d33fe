import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'

// Every byte the service writes (stdout, stderr) and serves (all routes, error paths, a wrong
// password run) is checked for the password at the end.
const PASSWORD = 'Fault-Pa55word-xyz'
let redis: RedisServer
let service: ServiceProcess
const written: string[] = []
const served: string[] = []

const ALL_ROUTES = [
  '/metrics',
  '/health/live',
  '/health/ready',
  '/health',
  '/status',
  '/status/history',
  '/',
  '/discover-nodes',
  '/discover-cluster-nodes',
  '/scrape?target=127.0.0.1:6379',
  '/nope',
]

/** Requests every route (and /metrics in both formats and a refused one); returns each status. */
async function hitEverything(s: ServiceProcess): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {}
  for (const path of ALL_ROUTES) statuses[path] = (await s.get(path)).status
  statuses['/metrics openmetrics'] = (
    await s.get('/metrics', { accept: 'application/openmetrics-text; version=1.0.0' })
  ).status
  statuses['/metrics json'] = (await s.get('/metrics', { accept: 'application/json' })).status
  return statuses
}

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD })
  service = await runService({
    env: { REDIS_URL: redis.url, LOG_LEVEL: 'debug', PROBE_INTERVAL_MS: '500', KEY_GROUPS: 'user:*' },
  })
  await waitFor(async () => (await service.get('/health/ready')).status === 200, {
    timeoutMs: 10_000,
    what: 'the service to be ready',
  })
}, 60_000)

afterAll(async () => {
  await service?.stop()
  await redis?.stop()
})

describe('against a password-protected redis-server', () => {
  it('serves every route while Redis is up', async () => {
    expect(await hitEverything(service)).toEqual({
      '/metrics': 200,
      '/health/live': 200,
      '/health/ready': 200,
      '/health': 200,
      '/status': 200,
      '/status/history': 200,
      '/': 200,
      '/discover-nodes': 200, // standalone: the one node
      '/discover-cluster-nodes': 404, // without REDIS_CLUSTER
      '/scrape?target=127.0.0.1:6379': 404, // without SCRAPE_TARGETS
      '/nope': 404,
      '/metrics openmetrics': 200,
      '/metrics json': 406,
    })
    const metrics = await service.get('/metrics')
    expect(metricValue(metrics.body, 'redis_up')).toBe(1)
  })

  it('keeps /health/live 200 while /health/ready turns 503 within 10 s of Redis dying', async () => {
    await redis.kill()
    const notReady = await waitFor(
      async () => {
        const res = await service.get('/health/ready')
        return res.status === 503 ? res : undefined
      },
      { timeoutMs: 10_000, what: '/health/ready to answer 503' },
    )
    expect(JSON.parse(notReady.body)).toMatchObject({ status: 'not_ready' })
    // The probe's failure is the reason, ahead of the breaker it opens.
    expect(JSON.parse(notReady.body).reason).toMatch(/^redis probe failed: connection: ./)
    expect((await service.get('/health/live')).status).toBe(200)
    const metrics = await service.get('/metrics')
    expect(metrics.status).toBe(200)
    expect(metricValue(metrics.body, 'redis_up')).toBe(0)
    await hitEverything(service)
  })

  it('turns /health/ready back to 200 within 15 s of the restart', async () => {
    await redis.restart()
    await waitFor(async () => (await service.get('/health/ready')).status === 200, {
      timeoutMs: 15_000,
      what: '/health/ready to answer 200 again',
    })
    expect((await service.get('/health/live')).status).toBe(200)
  })

  it('answers /metrics within a 3 s scrape budget while Redis is frozen (SIGSTOP)', async () => {
    redis.pause()
    try {
      const started = performance.now()
      const res = await service.get('/metrics', { 'x-prometheus-scrape-timeout-seconds': '3' })
      const seconds = (performance.now() - started) / 1000
      expect(res.status).toBe(200)
      expect(seconds).toBeLessThan(3)
      expect(metricValue(res.body, 'redis_up')).toBe(0)
      expect(metricValue(res.body, 'redis_monitor_last_scrape_error')).toBe(1)
      expect((await service.get('/health/live')).status).toBe(200)
    } finally {
      redis.resume()
    }
  })
})

describe('with a wrong password', () => {
  it('stays up (live 200) and not ready (503)', async () => {
    const wrong = await runService({
      env: {
        REDIS_URL: `redis://:not-the-${encodeURIComponent(PASSWORD)}@127.0.0.1:${redis.port}`,
        LOG_LEVEL: 'debug',
        PROBE_INTERVAL_MS: '500',
      },
    })
    try {
      await waitFor(async () => (await wrong.get('/health/ready')).status === 503, {
        timeoutMs: 10_000,
        what: 'not ready with a wrong password',
      })
      // Still not ready after several probes, and still alive.
      await new Promise((r) => setTimeout(r, 1_500))
      expect((await wrong.get('/health/ready')).status).toBe(503)
      expect((await wrong.get('/health/live')).status).toBe(200)
      await hitEverything(wrong)
    } finally {
      const { code } = await wrong.stop()
      expect(code).toBe(0)
      written.push(wrong.stdout(), wrong.stderr())
      served.push(wrong.served())
    }
  })
})

describe('the password', () => {
  it('appears in nothing the service wrote or served', async () => {
    const { code } = await service.stop()
    expect(code).toBe(0)
    written.push(service.stdout(), service.stderr())
    served.push(service.served())
    const everything = [...written, ...served].join('\n')
    // The capture is real: logs and bodies were collected.
    expect(service.stdout()).toContain('redis probe failed')
    expect(served.join('')).toContain('redis_up')
    for (const form of [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(PASSWORD).toString('base64')]) {
      expect(everything).not.toContain(form)
    }
  })
})
