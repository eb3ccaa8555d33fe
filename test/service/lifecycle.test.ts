import { readFileSync } from 'node:fs'
import { Agent, get as httpGet } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { imageCommand } from '../helpers/image-command.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { ROOT, runService } from '../helpers/service-process.js'

let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

describe('SIGINT', () => {
  it('exits 0 within 10 s with an idle keep-alive connection open: it is closed, not waited out (72 s keep-alive)', async () => {
    const service = await runService({ env: { REDIS_URL: redis.url } })
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const socketClosed = new Promise<void>((resolve) => {
      const req = httpGet(`${service.baseUrl}/health/live`, { agent }, (res) => {
        res.resume()
        res.once('end', () => {
          // The response is read and the socket stays open, idle, in the agent's pool.
          expect(res.headers.connection).toBe('keep-alive')
          service.child.kill('SIGINT')
        })
      })
      req.once('socket', (socket) => socket.once('close', () => resolve()))
    })
    const started = Date.now()
    await socketClosed
    const { code, signal } = await service.exited
    agent.destroy()
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})

describe('SIGTERM', () => {
  it('finishes an in-flight request, closes the pool within its budget while Redis is frozen and exits 0 within 10 s', async () => {
    const service = await runService({ env: { REDIS_URL: redis.url } })
    // A scrape with Redis frozen is in flight for most of its 2 s budget when SIGTERM arrives.
    redis.pause()
    try {
      const inFlight = service.get('/metrics', { 'x-prometheus-scrape-timeout-seconds': '2' })
      await new Promise((r) => setTimeout(r, 300))
      const started = Date.now()
      service.child.kill('SIGTERM')
      const res = await inFlight
      const { code, signal } = await service.exited
      expect(res.status).toBe(200)
      expect(code, service.stdout() + service.stderr()).toBe(0)
      expect(signal).toBeNull()
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(service.stdout()).toContain('shutting down')
      // Each QUIT to the frozen Redis is given up after 1 s: the pool closed, not abandoned.
      expect(service.stdout()).not.toContain('the pool did not close within')
      expect(service.stdout()).toContain('"msg":"stopped"')
    } finally {
      redis.resume()
    }
  })

  it('logs only JSON lines on stdout when stdout is not a TTY, from ready to shutting down', async () => {
    const service = await runService({ env: { REDIS_URL: redis.url, LOG_FORMAT: 'auto' } })
    const { code } = await service.stop()
    expect(code).toBe(0)
    const lines = service.stdout().split('\n').filter(Boolean)
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg)
    expect(messages).toContain('redis-pool-monitor ready')
    expect(messages.slice(-2)).toEqual([
      'shutting down: finishing in-flight requests and closing the pool',
      'stopped',
    ])
  })
})

describe('TLS verification', () => {
  it('logs a warning at start when REDIS_TLS_INSECURE_SKIP_VERIFY is on', async () => {
    const service = await runService({
      env: { REDIS_URL: redis.url, REDIS_TLS_INSECURE_SKIP_VERIFY: 'true', LOG_FORMAT: 'json' },
    })
    expect((await service.stop()).code).toBe(0)
    const warning = service
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .find((entry) => entry.msg.startsWith('REDIS_TLS_INSECURE_SKIP_VERIFY is on'))
    expect(warning?.level).toBe(40)
  })

  it('logs no such warning by default', async () => {
    const service = await runService({ env: { REDIS_URL: redis.url, LOG_FORMAT: 'json' } })
    expect((await service.stop()).code).toBe(0)
    expect(service.stdout()).not.toContain('REDIS_TLS_INSECURE_SKIP_VERIFY')
  })
})

describe('the Dockerfile CMD', () => {
  it('runs with plain node and its flags: the built entry point starts and serves /health/live', async () => {
    const { nodeFlags, entry, args } = imageCommand()
    expect(entry).toBe('bin/redis-pool-monitor.js')
    const service = await runService({ env: { REDIS_URL: redis.url }, nodeFlags, args })
    const res = await service.get('/health/live')
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' })
    expect((await service.stop()).code).toBe(0)
  })

  it('is what npm start runs too, with the same node flags', () => {
    const { nodeFlags, entry, args } = imageCommand()
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.scripts.start).toBe(['node', ...nodeFlags, entry, ...args].join(' '))
  })

  it('declares a numeric non-root USER, tini, and a node fetch HEALTHCHECK on /health/live', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    expect(dockerfile).toMatch(/^USER\s+[1-9]\d*(:\d+)?\s*$/m)
    expect(dockerfile).toMatch(/^FROM node:24-[\w-]+ AS build$/m)
    expect(dockerfile).toContain('npm ci --omit=dev')
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m)
    expect(dockerfile).toMatch(
      /^HEALTHCHECK [^\n]*\\\n\s+CMD \["node", "-e", "[^\n]*fetch\([^\n]*\/health\/live/m,
    )
  })
})

describe('a start-up failure', () => {
  it('closes the Redis connections the app already opened', async () => {
    const { buildApp } = await import('../../src/app.js')
    const { parseConfig } = await import('../../src/config/config.js')
    const { Gauge, Registry } = await import('prom-client')
    // A family the server-stats plugin registers is already taken: that plugin fails after the
    // pool plugin has opened its connections.
    const registry = new Registry()
    new Gauge({ name: 'redis_up', help: 'taken', registers: [registry] })
    const named = async () =>
      (await redis.cli('CLIENT', 'LIST')).split('\n').filter((l) => l.includes('name=rpm:startfail:')).length
    await expect(
      buildApp({ config: parseConfig({ REDIS_URL: redis.url, POOL_NAME: 'startfail' }), registry }),
    ).rejects.toThrow(/redis_up/)
    await new Promise((r) => setTimeout(r, 200))
    expect(await named()).toBe(0)
  })

  it('exits 1 with one line naming HEALTH_PORT when that port is taken', async () => {
    const { createServer } = await import('node:net')
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      const service = await runService({
        env: { REDIS_URL: redis.url, HEALTH_PORT: String(port) },
        waitForListening: false,
      })
      const { code } = await service.exited
      expect(code).toBe(1)
      expect(service.stderr().trim()).toBe(
        `redis-pool-monitor: cannot listen on 127.0.0.1:${port} (EADDRINUSE); set HOST/HEALTH_PORT or --host/--health-port`,
      )
    } finally {
      taken.close()
    }
  })
})
