import { writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, type RedisServer, startRedis } from '../helpers/redis-server.js'
import { captureLogger } from '../monitor/support.js'
import { appFor, sample } from './support.js'

const TARGET_PASSWORD = 'target-secret-7f3a'

let plain: RedisServer
let secured: RedisServer
let frozen: RedisServer
/** A TCP listener outside the allow-list: counts every connection anyone opens to it. */
let trap: Server
let trapPort: number
let trapConnections = 0
let closedPort: number
let app: FastifyInstance
let logLines: string[]

const scrape = (target: string, headers: Record<string, string> = {}) =>
  app.inject({ url: `/scrape?target=${encodeURIComponent(target)}`, headers })

beforeAll(async () => {
  ;[plain, secured, frozen] = await Promise.all([
    startRedis(),
    startRedis({ password: TARGET_PASSWORD }),
    startRedis(),
  ])
  await plain.cli('SET', 'k1', 'v')
  await plain.cli('-n', '2', 'SET', 'k2', 'v')
  trap = createServer((socket) => {
    trapConnections++
    socket.destroy()
  })
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve))
  trapPort = (trap.address() as { port: number }).port
  closedPort = await freePort()
  const passwordsFile = join(tmpdir(), `rpm-target-passwords-${process.pid}.json`)
  writeFileSync(passwordsFile, JSON.stringify({ [`redis://127.0.0.1:${secured.port}`]: TARGET_PASSWORD }))
  const { logger, lines } = captureLogger('info')
  logLines = lines
  app = await appFor(
    {
      REDIS_URL: plain.url,
      SCRAPE_TARGETS: [plain.port, secured.port, frozen.port, closedPort]
        .map((p) => `127.0.0.*:${p}`)
        .join(','),
      REDIS_TARGET_PASSWORDS_FILE: passwordsFile,
    },
    { logger },
  )
})
afterAll(async () => {
  await app?.close()
  frozen?.resume()
  await Promise.all([plain?.stop(), secured?.stop(), frozen?.stop()])
  trap?.close()
})

describe('GET /scrape?target= for an allowed target', () => {
  it("answers 200 with the target's server-side families under redis_exporter's names, and no pool families", async () => {
    const res = await scrape(`redis://127.0.0.1:${plain.port}`)
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/plain; version=0.0.4')
    expect(sample(res.body, 'redis_up')).toBe(1)
    expect(sample(res.body, 'redis_db_keys{db="db0"}')).toBe(1)
    expect(sample(res.body, 'redis_db_keys{db="db2"}')).toBe(1)
    expect(res.body).toMatch(/^redis_connected_clients \d+$/m)
    expect(res.body).not.toContain('redis_pool_')
    expect(res.body).not.toContain('http_request_duration_seconds')
  })

  it('reads host:port as redis://, and a /db path selects the database', async () => {
    const res = await scrape(`127.0.0.1:${plain.port}/2`)
    expect(sample(res.body, 'redis_up')).toBe(1)
    const clients = await plain.cli('CLIENT', 'LIST')
    expect(clients).toMatch(/name=rpm:scrape:target .* db=2 /)
  })

  it('reuses one connection per target across scrapes', async () => {
    const count = async () =>
      (await plain.cli('CLIENT', 'LIST')).split('\n').filter((l) => /name=rpm:scrape:target .* db=0 /.test(l))
        .length
    await scrape(`127.0.0.1:${plain.port}`)
    const before = Number((await plain.cli('INFO', 'stats')).match(/total_connections_received:(\d+)/)![1])
    for (let i = 0; i < 3; i++) await scrape(`redis://127.0.0.1:${plain.port}`)
    const after = Number((await plain.cli('INFO', 'stats')).match(/total_connections_received:(\d+)/)![1])
    expect(await count()).toBe(1)
    // redis-cli's own INFO connection is the only new one between the two readings.
    expect(after - before).toBe(1)
  })

  it('authenticates with the password REDIS_TARGET_PASSWORDS_FILE holds for it, never showing it', async () => {
    const res = await scrape(`127.0.0.1:${secured.port}`)
    expect(sample(res.body, 'redis_up')).toBe(1)
    expect(res.body).not.toContain(TARGET_PASSWORD)
    expect(logLines.join('\n')).not.toContain(TARGET_PASSWORD)
  })

  it('answers 200 with redis_up 0 for a target nobody listens on, within the budget', async () => {
    const res = await scrape(`127.0.0.1:${closedPort}`, { 'x-prometheus-scrape-timeout-seconds': '1' })
    expect(res.statusCode).toBe(200)
    expect(sample(res.body, 'redis_up')).toBe(0)
    expect(sample(res.body, 'redis_monitor_last_scrape_error')).toBe(1)
  })

  it('check-keys turns on key groups for that target only, from the background pass', async () => {
    const url = `/scrape?target=127.0.0.1:${plain.port}&check-keys=${encodeURIComponent('k*,other:*')}`
    await expect
      .poll(
        async () => sample((await app.inject(url)).body, 'redis_key_group_count{db="db0",key_group="k*"}'),
        {
          timeout: 10_000,
        },
      )
      .toBe(1)
    const without = await scrape(`127.0.0.1:${plain.port}`)
    expect(without.body).not.toContain('redis_key_group_count')
  })

  it('serves OpenMetrics when Accept asks for it', async () => {
    const res = await scrape(`127.0.0.1:${plain.port}`, { accept: 'application/openmetrics-text' })
    expect(res.headers['content-type']).toContain('application/openmetrics-text')
    expect(res.body.endsWith('# EOF\n')).toBe(true)
  })

  it('a frozen target never delays another target: the other answers while the frozen one waits out its budget', async () => {
    await scrape(`127.0.0.1:${frozen.port}`) // connected before it freezes, as a target in service is
    frozen.pause()
    const finished: string[] = []
    const slow = scrape(`127.0.0.1:${frozen.port}`, { 'x-prometheus-scrape-timeout-seconds': '3' }).then(
      (r) => {
        finished.push('frozen')
        return r
      },
    )
    const fast = await scrape(`127.0.0.1:${plain.port}`)
    finished.push('other')
    expect(sample(fast.body, 'redis_up')).toBe(1)
    const stuck = await slow
    frozen.resume()
    expect(finished).toEqual(['other', 'frozen'])
    expect(stuck.statusCode).toBe(200)
    expect(sample(stuck.body, 'redis_up')).toBe(0)
  })
})

describe('GET /scrape refusals', () => {
  it('403 with a JSON reason for a target outside SCRAPE_TARGETS, and no connection is opened to it', async () => {
    const res = await scrape(`127.0.0.1:${trapPort}`)
    expect(res.statusCode).toBe(403)
    expect(res.json()).toMatchObject({ statusCode: 403, code: 'RPM_SCRAPE_TARGET_FORBIDDEN' })
    expect(res.json().message).toContain(`127.0.0.1:${trapPort}`)
    await new Promise((r) => setTimeout(r, 200))
    expect(trapConnections).toBe(0)
  })

  it('400 with a JSON reason for a target carrying a password, never echoing it', async () => {
    const res = await scrape(`redis://user:hunter2@127.0.0.1:${plain.port}`)
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'RPM_SCRAPE_TARGET_INVALID' })
    expect(res.json().message).toMatch(/password/)
    expect(res.body).not.toContain('hunter2')
  })

  it('400 for a missing, malformed or repeated target', async () => {
    expect((await app.inject('/scrape')).statusCode).toBe(400)
    expect((await scrape('http://127.0.0.1:6379')).json().message).toMatch(/scheme/)
    const twice = await app.inject(`/scrape?target=127.0.0.1:${plain.port}&target=127.0.0.1:${plain.port}`)
    expect(twice.statusCode).toBe(400)
  })
})

describe('GET /scrape with SCRAPE_TARGETS unset', () => {
  let off: FastifyInstance
  beforeAll(async () => {
    off = await appFor({ REDIS_URL: plain.url })
  })
  afterAll(async () => {
    await off?.close()
  })

  it('answers 404 with a reason while nothing is discovered', async () => {
    const res = await off.inject(`/scrape?target=127.0.0.1:${plain.port}`)
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ code: 'RPM_SCRAPE_DISABLED' })
  })

  it('scrapes the nodes a discovery provider names (Sentinel, Cluster), and only those', async () => {
    const remove = off.scrapeTargets.addDiscovered('test-topology', () => [`127.0.0.1:${plain.port}`])
    expect(sample((await off.inject(`/scrape?target=127.0.0.1:${plain.port}`)).body, 'redis_up')).toBe(1)
    expect((await off.inject(`/scrape?target=127.0.0.1:${secured.port}`)).statusCode).toBe(403)
    remove()
    expect((await off.inject(`/scrape?target=127.0.0.1:${plain.port}`)).statusCode).toBe(404)
  })
})

describe('GET /scrape: SCRAPE_TARGETS_MAX and auth', () => {
  let capped: FastifyInstance
  beforeAll(async () => {
    capped = await appFor({
      REDIS_URL: plain.url,
      SCRAPE_TARGETS: '127.0.0.1:*',
      SCRAPE_TARGETS_MAX: '2',
      METRICS_BEARER_TOKEN: 'tok-9',
    })
  })
  afterAll(async () => {
    await capped?.close()
  })
  const auth = { authorization: 'Bearer tok-9' }

  it('sits behind the same auth as /metrics', async () => {
    const res = await capped.inject(`/scrape?target=127.0.0.1:${plain.port}`)
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toContain('Bearer')
  })

  it('keeps at most SCRAPE_TARGETS_MAX targets connected, closing the least recently scraped', async () => {
    for (const db of [3, 4, 5]) {
      const res = await capped.inject({ url: `/scrape?target=127.0.0.1:${plain.port}/${db}`, headers: auth })
      expect(sample(res.body, 'redis_up')).toBe(1)
    }
    expect(capped.scrapeTargets.size).toBe(2)
    const dbs = async () =>
      (await plain.cli('CLIENT', 'LIST'))
        .split('\n')
        .filter((l) => l.includes('name=rpm:scrape:target') && /db=[345] /.test(l))
        .map((l) => l.match(/db=(\d+) /)![1])
        .sort()
    await expect.poll(dbs).toEqual(['4', '5'])
  })
})
