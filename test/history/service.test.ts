import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { parseConfig } from '../../src/config/config.js'
import type { HistorySample } from '../../src/history/types.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { runService, runToExit, type ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'
import { sample } from '../routes/support.js'
import { NO_SQLITE_REASON, SQLITE, tempDir } from './support.js'

const PASSWORD = 'history-secret-pw'
let redis: RedisServer
let tmp: ReturnType<typeof tempDir>

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD })
  await redis.cli('SET', 'history:one', '1')
  tmp = tempDir()
})

afterAll(async () => {
  await redis?.stop()
  tmp?.remove()
})

const history = async (service: ServiceProcess, query = '') =>
  JSON.parse((await service.get(`/status/history${query}`)).body) as HistorySample[]

/** Samples every 200 ms so a test sees several in a second. */
const serve = (env: Record<string, string>) =>
  runService({ env: { REDIS_URL: redis.url, STATUS_HISTORY_INTERVAL_MS: '200', ...env } })

describe('GET /status/history parameters', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    app = await buildApp({
      config: parseConfig({
        REDIS_URL: redis.url,
        STATUS_HISTORY_INTERVAL_MS: '100',
        STATUS_HISTORY_SIZE: '50',
      }),
    })
    await app.ready()
    await waitFor(async () => (await app.inject('/status/history')).json().length >= 6, {
      what: 'six samples',
    })
  })
  afterAll(async () => {
    await app?.close()
  })

  it('lists the newest N samples oldest first, with the redis_metrics keys', async () => {
    const all = (await app.inject('/status/history')).json() as HistorySample[]
    const res = await app.inject('/status/history?limit=3')
    expect(res.statusCode).toBe(200)
    const three = res.json() as HistorySample[]
    expect(three).toHaveLength(3)
    const times = three.map((s) => Date.parse(s.timestamp))
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(times[0]).toBeGreaterThanOrEqual(Date.parse(all.at(-3)!.timestamp))
    expect(three[2]).toEqual(
      expect.objectContaining({
        available: true,
        total_keys: 1,
        fallback_in_use: false, // no cache layer in this app
        circuit_breaker_state: 'closed',
        memory_usage_percent: null, // no maxmemory on the test server
      }),
    )
    expect(Object.keys(three[2]!)).not.toContain('keyspace_hits')
  })

  it('takes since as a duration or an ISO time', async () => {
    const all = (await app.inject('/status/history')).json() as HistorySample[]
    const pivot = all.at(-2)!.timestamp
    const after = (
      await app.inject(`/status/history?since=${encodeURIComponent(pivot)}`)
    ).json() as HistorySample[]
    // From the pivot on: the two samples listed before, then any taken since.
    expect(after.slice(0, 2)).toEqual(all.slice(-2))
    const lastHour = (await app.inject('/status/history?since=1h&limit=2')).json() as HistorySample[]
    expect(lastHour).toHaveLength(2)
    expect((await app.inject('/status/history?since=2099-01-01T00:00:00Z')).json()).toEqual([])
  })

  it('answers 400 with a JSON reason for a bad since or limit', async () => {
    const cases: Array<[string, RegExp]> = [
      ['since=yesterday', /^since expects an ISO 8601 time .* \(got "yesterday"\)$/],
      ['since=15', /^since expects/],
      ['limit=0', /^limit expects an integer from 1 to 10000 \(got "0"\)$/],
      ['limit=10001', /^limit expects an integer from 1 to 10000/],
      ['limit=ten', /^limit expects/],
      ['limit=1&limit=2', /^limit expects/],
    ]
    for (const [query, message] of cases) {
      const res = await app.inject(`/status/history?${query}`)
      expect(res.statusCode, query).toBe(400)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      expect(res.json()).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.stringMatching(message),
      })
    }
  })
})

describe('fallback_in_use', () => {
  it('is true in the samples taken while the workload cache serves from its fallback', async () => {
    const app = await buildApp({
      config: parseConfig({
        REDIS_URL: redis.url,
        PROBE_INTERVAL_MS: '100',
        STATUS_HISTORY_INTERVAL_MS: '100',
      }),
      workload: true,
    })
    const samples = async (query = '') =>
      (await app.inject(`/status/history${query}`)).json() as HistorySample[]
    try {
      await app.ready()
      await waitFor(async () => (await samples()).some((s) => s.available), {
        what: 'a sample with Redis up',
      })
      expect((await samples()).some((s) => s.fallback_in_use)).toBe(false)
      await redis.kill()
      const during = await waitFor(async () => (await samples('?limit=1')).find((s) => s.fallback_in_use), {
        what: 'a sample with fallback_in_use',
        timeoutMs: 15_000,
      })
      expect(during).toEqual(expect.objectContaining({ available: false, fallback_in_use: true }))
    } finally {
      await redis.restart()
      await app.close()
    }
  })
})

describe.skipIf(!SQLITE)(
  `HISTORY_FILE across restarts (${SQLITE ? 'node:sqlite present' : NO_SQLITE_REASON})`,
  () => {
    it('serves the samples written before a restart, and the history command prints them', async () => {
      const file = join(tmp.dir, 'restart.db')
      const first = await serve({ HISTORY_FILE: file })
      await waitFor(async () => (await history(first)).length >= 5, { what: 'five samples' })
      await first.stop()
      const before = (await runToExit(['history', '--since', '1h', '--json'], { HISTORY_FILE: file })).stdout
      const written = JSON.parse(before) as HistorySample[]
      expect(written.length).toBeGreaterThanOrEqual(5)

      const second = await serve({ HISTORY_FILE: file })
      try {
        const after = await history(second, '?since=1h')
        // Every sample of the first run comes back as it was written, then the new run's.
        expect(after.slice(0, written.length)).toEqual(written)
        await waitFor(async () => (await history(second, '?since=1h')).length > written.length, {
          what: 'a sample of the second run',
        })
        // The same samples through a running service's route.
        const viaUrl = await runToExit(['history', '--since', '1h', '--json', '--url', second.baseUrl])
        expect(viaUrl.code).toBe(0)
        expect((JSON.parse(viaUrl.stdout) as HistorySample[]).slice(0, written.length)).toEqual(written)
      } finally {
        await second.stop()
      }

      const csv = await runToExit(['history', '--since', '1h', '--csv', '--history-file', file])
      expect(csv.code).toBe(0)
      const lines = csv.stdout.trim().split('\n')
      expect(lines[0]).toBe(
        'timestamp,available,memory_usage_percent,hit_rate_percent,total_keys,latency_ms,ops_per_sec,connected_clients,used_memory_bytes,pool_utilization_percent,circuit_breaker_state,fallback_in_use',
      )
      expect(lines[1]).toMatch(new RegExp(`^${written[0]!.timestamp},true,,`))
      const text = await runToExit(['history', '--since', '1h', '--limit', '2'], { HISTORY_FILE: file })
      expect(text.code).toBe(0)
      expect(text.stdout.trim().split('\n')).toHaveLength(3)
      expect(text.stdout).toMatch(/^time \(UTC\)\s+up\s+mem %/)
      for (const out of [before, csv.stdout, text.stdout]) expect(out).not.toContain(PASSWORD)
    })

    it('keeps every sample committed before a SIGKILL of the service', async () => {
      const file = join(tmp.dir, 'killed.db')
      const first = await serve({ HISTORY_FILE: file })
      await waitFor(async () => (await history(first)).length >= 8, { what: 'eight samples' })
      const seen = await history(first, '?since=1h')
      first.child.kill('SIGKILL')
      expect((await first.exited).signal).toBe('SIGKILL')

      const second = await serve({ HISTORY_FILE: file })
      try {
        const after = await history(second, '?since=1h')
        expect(after.slice(0, seen.length)).toEqual(seen)
        expect(second.stdout()).not.toMatch(/history is off/)
      } finally {
        await second.stop()
      }
    })

    it('still serves metrics with a corrupt file, says why history is off, and exposes it', async () => {
      const file = join(tmp.dir, 'corrupt.db')
      writeFileSync(file, 'not a database\n'.repeat(1000))
      const service = await serve({ HISTORY_FILE: file })
      try {
        const metrics = await service.get('/metrics')
        expect(metrics.status).toBe(200)
        expect(sample(metrics.body, 'redis_up')).toBe(1)
        expect(sample(metrics.body, 'redis_monitor_history_file_up')).toBe(0)
        await waitFor(async () => (await history(service)).length >= 2, { what: 'in-memory samples' })
        const off = service
          .stdout()
          .split('\n')
          .filter((l) => l.includes('history is off'))
        expect(off).toHaveLength(1)
        expect(JSON.parse(off[0]!).msg).toMatch(/corrupt\.db cannot be used: .*not a database/)
        expect(`${service.stdout()}${service.stderr()}${service.served()}`).not.toContain(PASSWORD)
      } finally {
        await service.stop()
      }
    })
  },
)

describe.skipIf(SQLITE)(
  `HISTORY_FILE without node:sqlite (${SQLITE ? 'skipped: this runtime has node:sqlite' : 'this runtime lacks node:sqlite'})`,
  () => {
    it('exits within 2 s with one line naming the Node version needed', async () => {
      const file = join(tmp.dir, 'never.db')
      const run = await runToExit(['serve'], { REDIS_URL: redis.url, HISTORY_FILE: file })
      expect(run.code).toBe(1)
      expect(run.ms).toBeLessThan(2_000)
      expect(run.stderr).toBe(
        `redis-pool-monitor: invalid configuration: HISTORY_FILE expects Node.js 22.13 or newer (24 recommended) for node:sqlite; this is Node.js ${process.versions.node} (unset HISTORY_FILE to keep history in memory)\n`,
      )
      expect(existsSync(file)).toBe(false)
    })
  },
)
