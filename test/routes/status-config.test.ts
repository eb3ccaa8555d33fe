import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StatusReport } from '../../src/collectors/status-history.js'
import type { HistorySample } from '../../src/history/types.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { appFor, whenReady } from './support.js'

// The STATUS_* variables end to end: env literals -> parseConfig -> the app -> /status and
// /status/history, against a real redis-server whose memory, hit rate and latency the tests set.
let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

/** /status once a collection after the change has run (/metrics collects INFO first). */
async function statusNow(app: FastifyInstance): Promise<StatusReport> {
  expect((await app.inject('/metrics')).statusCode).toBe(200)
  const res = await app.inject('/status')
  expect(res.statusCode).toBe(200)
  return res.json() as StatusReport
}

async function infoNumber(section: string, field: string): Promise<number> {
  const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(await redis.cli('INFO', section))
  if (!match) throw new Error(`INFO ${section} has no ${field}`)
  return Number(match[1])
}

describe('STATUS_MEMORY_* and STATUS_HIT_RATE_* from the environment', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    await redis.cli('CONFIG', 'RESETSTAT')
    app = await appFor({
      REDIS_URL: redis.url,
      POOL_SIZE: '2',
      // Thresholds the defaults (75/90 memory, 50/40 hit rate) would judge differently.
      STATUS_MEMORY_WARNING_PERCENT: '40',
      STATUS_MEMORY_CRITICAL_PERCENT: '60',
      STATUS_HIT_RATE_WARNING_PERCENT: '60',
      STATUS_HIT_RATE_CRITICAL_PERCENT: '55',
      // Probe latency is not what these tests judge: a loaded machine must not add a reason.
      STATUS_LATENCY_WARNING_MS: '60000',
      STATUS_LATENCY_CRITICAL_MS: '60000',
      // One background sample at start only, so the hit-rate window is the counters since then.
      STATUS_HISTORY_INTERVAL_MS: '3600000',
    })
    await whenReady(app)
  })
  afterAll(async () => {
    await app?.close()
    await redis.cli('CONFIG', 'SET', 'maxmemory', '0')
  })

  it('turns WARNING from STATUS_MEMORY_WARNING_PERCENT and CRITICAL from STATUS_MEMORY_CRITICAL_PERCENT of maxmemory', async () => {
    /** maxmemory set so that used memory is about `percent` of it. */
    const usedAt = async (percent: number) => {
      const used = await infoNumber('memory', 'used_memory')
      await redis.cli('CONFIG', 'SET', 'maxmemory', String(Math.round((used * 100) / percent)))
      return statusNow(app)
    }
    const below = await usedAt(30)
    expect(below.memory_usage_percent).toBeGreaterThan(20)
    expect(below.memory_usage_percent).toBeLessThan(40)
    expect(below).toMatchObject({ status: 'OK', reasons: [] })

    // Between the two configured thresholds, below the default warning of 75 %.
    const warning = await usedAt(50)
    expect(warning.memory_usage_percent).toBeGreaterThanOrEqual(40)
    expect(warning.memory_usage_percent).toBeLessThan(60)
    expect(warning).toMatchObject({
      status: 'WARNING',
      reasons: [`memory ${warning.memory_usage_percent}% of maxmemory >= 40%`],
    })

    // Above the configured critical, still below the default warning of 75 %.
    const critical = await usedAt(67)
    expect(critical.memory_usage_percent).toBeGreaterThanOrEqual(60)
    expect(critical.memory_usage_percent).toBeLessThan(75)
    expect(critical).toMatchObject({
      status: 'CRITICAL',
      reasons: [`memory ${critical.memory_usage_percent}% of maxmemory >= 60%`],
    })
    await redis.cli('CONFIG', 'SET', 'maxmemory', '0')
  })

  it('turns WARNING below STATUS_HIT_RATE_WARNING_PERCENT and CRITICAL below STATUS_HIT_RATE_CRITICAL_PERCENT, not at them', async () => {
    await redis.cli('SET', 'present', '1')
    /** `n` GETs of one key inside Redis: each is one keyspace hit (key present) or miss. */
    const lookups = (key: string, n: number) =>
      redis.cli('EVAL', "for i = 1, tonumber(ARGV[1]) do redis.call('GET', KEYS[1]) end", '1', key, String(n))
    const expectCounters = async (hits: number, misses: number) => {
      expect(await infoNumber('stats', 'keyspace_hits')).toBe(hits)
      expect(await infoNumber('stats', 'keyspace_misses')).toBe(misses)
    }

    // 132 hits of 220 lookups: exactly 60 %, the configured warning, which is not below it.
    await lookups('present', 132)
    await lookups('absent', 88)
    await expectCounters(132, 88)
    expect(await statusNow(app)).toMatchObject({ status: 'OK', reasons: [], hit_rate_percent: 60 })

    await lookups('absent', 1)
    await expectCounters(132, 89)
    expect(await statusNow(app)).toMatchObject({
      status: 'WARNING',
      reasons: ['hit rate 59.73% < 60%'],
      hit_rate_percent: 59.73,
    })

    // 132 of 240: exactly the configured critical 55 %, still a warning.
    await lookups('absent', 19)
    await expectCounters(132, 108)
    expect(await statusNow(app)).toMatchObject({
      status: 'WARNING',
      reasons: ['hit rate 55% < 60%'],
      hit_rate_percent: 55,
    })

    // Above the default thresholds (50/40), so only the configured 55 % makes this CRITICAL.
    await lookups('absent', 1)
    await expectCounters(132, 109)
    expect(await statusNow(app)).toMatchObject({
      status: 'CRITICAL',
      reasons: ['hit rate 54.77% < 55%'],
      hit_rate_percent: 54.77,
    })
  })
})

describe('STATUS_LATENCY_* from the environment', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    // No lookups (no hit rate) and no maxmemory (no memory percentage): latency is the only check.
    await redis.cli('CONFIG', 'RESETSTAT')
    await redis.cli('CONFIG', 'SET', 'maxmemory', '0')
    app = await appFor({
      REDIS_URL: redis.url,
      POOL_SIZE: '2',
      STATUS_LATENCY_WARNING_MS: '1000',
      STATUS_LATENCY_CRITICAL_MS: '4000',
      // The tests send the probes; a PING held by CLIENT PAUSE must not time out.
      PROBE_INTERVAL_MS: '3600000',
      COMMAND_TIMEOUT_MS: '20000',
      STATUS_HISTORY_INTERVAL_MS: '3600000',
    })
    await whenReady(app)
  })
  afterAll(async () => {
    await app?.close()
  })

  /**
   * A probe sent right after `CLIENT PAUSE <ms> ALL` returned: Redis holds the PING until the
   * pause ends, so its latency is the pause minus the time the probe took to leave (a second or
   * more of slack on either side of each threshold below).
   */
  async function probeDuringPause(pauseMs: number): Promise<number> {
    await redis.cli('CLIENT', 'PAUSE', String(pauseMs), 'ALL')
    const probe = await app.poolMonitor.probe()
    expect(probe.ok).toBe(true)
    return probe.latencyMs as number
  }
  const round2 = (n: number) => Math.round(n * 100) / 100

  it('turns WARNING from STATUS_LATENCY_WARNING_MS and CRITICAL from STATUS_LATENCY_CRITICAL_MS of probe latency', async () => {
    const warningLatency = await probeDuringPause(2500)
    expect(warningLatency).toBeGreaterThanOrEqual(1000)
    expect(warningLatency).toBeLessThan(4000)
    const warning = await statusNow(app)
    // The default thresholds (50/100 ms) would call this latency CRITICAL.
    expect(warning).toMatchObject({
      status: 'WARNING',
      reasons: [`latency ${round2(warningLatency)} ms >= 1000 ms`],
      latency_ms: warningLatency,
      memory_usage_percent: null,
      hit_rate_percent: null,
    })

    const criticalLatency = await probeDuringPause(6000)
    expect(criticalLatency).toBeGreaterThanOrEqual(4000)
    const critical = await statusNow(app)
    expect(critical).toMatchObject({
      status: 'CRITICAL',
      reasons: [`latency ${round2(criticalLatency)} ms >= 4000 ms`],
      latency_ms: criticalLatency,
    })
  })
})

describe('STATUS_HISTORY_SIZE from the environment', () => {
  const SIZE = 3
  let app: FastifyInstance
  beforeAll(async () => {
    app = await appFor({
      REDIS_URL: redis.url,
      POOL_SIZE: '2',
      STATUS_HISTORY_SIZE: String(SIZE),
      STATUS_HISTORY_INTERVAL_MS: '100',
    })
  })
  afterAll(async () => {
    await app?.close()
  })

  const history = async (query = '') => {
    const res = await app.inject(`/status/history${query}`)
    expect(res.statusCode).toBe(200)
    return res.json() as HistorySample[]
  }
  const time = (s: HistorySample) => Date.parse(s.timestamp)

  it('holds exactly the newest STATUS_HISTORY_SIZE samples, oldest first, once more were taken', async () => {
    const first = await waitFor(async () => {
      const h = await history()
      return h.length === SIZE ? h : undefined
    })
    // Wait until every one of those three has been pushed out: at least six collections so far.
    const later = await waitFor(
      async () => {
        const h = await history()
        return time(h[0]!) > time(first.at(-1)!) ? h : undefined
      },
      { what: 'three more samples' },
    )
    expect(later).toHaveLength(SIZE)
    const times = later.map(time)
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(new Set(times).size).toBe(SIZE)

    // The next samples push the oldest out: what is answered is the last SIZE of the sequence.
    const next = await waitFor(
      async () => {
        const h = await history()
        return time(h.at(-1)!) > time(later.at(-1)!) ? h : undefined
      },
      { what: 'one more sample' },
    )
    const added = next.filter((s) => time(s) > time(later.at(-1)!))
    expect(next).toEqual([...later, ...added].slice(-SIZE))

    // The memory ring holds no more: a larger limit answers the same number of samples.
    expect(await history('?limit=100')).toHaveLength(SIZE)
  })
})
