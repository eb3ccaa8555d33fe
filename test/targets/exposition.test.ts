import { readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'
import pino from 'pino'
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { Collector, RedisCommander } from '../../src/collectors/collector.js'
import { createCommandDenied } from '../../src/collectors/command-denied.js'
import { createKeyGroupCollector } from '../../src/collectors/key-group-collector.js'
import { createScrape } from '../../src/collectors/scrape.js'
import { notOnSentinel } from '../../src/collectors/sentinel.js'
import { SERVER_COLLECTORS } from '../../src/collectors/server-collectors.js'
import { renderOpenMetrics } from '../../src/metrics/openmetrics.js'
import { createServerSideCollection } from '../../src/targets/collection.js'
import { type ExpositionFormat, exposition, type Family } from '../../src/targets/exposition.js'
import { parseTarget, type ScrapeTarget } from '../../src/targets/target.js'

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')
const silent = pino({ level: 'silent' })
const sentinel = JSON.parse(fixture('sentinel-redis-7.0.15.json'))
const target = parseTarget('127.0.0.1:6379/0') as ScrapeTarget

class ReplyError extends Error {
  override name = 'ReplyError'
}

/** Captured replies of one Redis, `refused` commands answered with a reply error: this file checks rendering, not I/O. */
function captured(info: string, refused: string[] = []): RedisCommander {
  const replies: Record<string, unknown> = {
    'INFO ALL': info,
    'SLOWLOG LEN': 3,
    'SLOWLOG GET 1': [[7, 1700000000, 12000, ['GET', 'x']]],
    'LATENCY LATEST': [['command', 1700000000, 30, 30]],
    'CLUSTER INFO': fixture('cluster-info-redis-7.0.15-ok.txt'),
    'SENTINEL MASTERS': sentinel.masters,
    'SENTINEL SLAVES mymaster': sentinel.replicas,
    'SENTINEL SENTINELS mymaster': sentinel.sentinels,
    'SENTINEL CKQUORUM mymaster': sentinel.ckquorum,
  }
  for (const line of refused) delete replies[line]
  return {
    async call(command, ...args) {
      const line = [command, ...args].join(' ')
      if (line in replies) return replies[line]
      throw new ReplyError(`ERR unknown command '${command}'`)
    },
  }
}
const down: RedisCommander = {
  call: async () => {
    throw new Error('Connection is closed.')
  },
}

// The clock both sides collect with: one collection takes exactly 4 ms.
const clock = () => {
  let t = 1_700_000_000_000
  return () => {
    t += 2
    return t
  }
}

/**
 * What every /scrape target rendered before the shared layout: its own prom-client Registry with
 * createScrape's families, every server-side collector, key groups (with check-keys) and command
 * denied, rendered by prom-client.
 */
async function previous(redis: RedisCommander, checkKeys: string[], format: ExpositionFormat, now = clock()) {
  const commandDenied = createCommandDenied({ logger: silent })
  const wrapped = commandDenied.wrap(redis)
  const stateful: Collector[] = [
    ...(checkKeys.length > 0
      ? [
          notOnSentinel(
            createKeyGroupCollector({
              redis: wrapped,
              logger: silent,
              keyGroups: { patterns: checkKeys, db: 0 },
            }),
          ),
        ]
      : []),
    commandDenied,
  ]
  const registry = new Registry()
  const scrape = createScrape({
    redis: wrapped,
    registry,
    logger: silent,
    collectors: [...SERVER_COLLECTORS, ...stateful],
    now,
  })
  await scrape.collect({ timeoutMs: 1000 })
  const text = format === 'openmetrics' ? await renderOpenMetrics(registry) : await registry.metrics()
  await scrape.close()
  return text
}

const cases: Array<[string, () => RedisCommander, string[]]> = [
  ['a master with a replica', () => captured(fixture('info-redis-7.0.15-master-with-replica.txt')), []],
  ['a replica', () => captured(fixture('info-redis-7.0.15-replica.txt')), []],
  ['a cluster node', () => captured(fixture('info-redis-7.0.15-cluster.txt')), []],
  ['a Sentinel', () => captured(sentinel.info), []],
  ['a target with check-keys', () => captured(fixture('info-redis-7.0.15.txt')), ['user:*', 'session:*']],
  [
    'a target whose SLOWLOG and LATENCY are refused',
    () => captured(fixture('info-redis-7.0.15.txt'), ['SLOWLOG LEN', 'SLOWLOG GET 1', 'LATENCY LATEST']),
    [],
  ],
  [
    'label values holding a quote and a backslash',
    () => captured(fixture('info-redis-7.0.15.txt').replace(/^os:.*$/m, 'os:Linux "custom" C:\\kernel')),
    [],
  ],
  ['an unreachable target', () => down, []],
]

describe("a /scrape target's text from the shared layout", () => {
  const collection = createServerSideCollection()
  const current = async (redis: RedisCommander, checkKeys: string[], format: ExpositionFormat) => {
    const state = collection({
      redis: redis as unknown as Redis,
      logger: silent,
      target,
      checkKeys,
      now: clock(),
    })
    const text = await state.scrape(1000, format)
    await state.close()
    return text
  }

  for (const [what, redis, checkKeys] of cases) {
    for (const format of ['text', 'openmetrics'] as const) {
      it(`is byte for byte what its own prom-client Registry rendered, for ${what} (${format})`, async () => {
        const expected = await previous(redis(), checkKeys, format)
        expect(await current(redis(), checkKeys, format)).toBe(expected)
      })
    }
  }

  it('gives each of targets scraped at the same time its own values, twice in a row', async () => {
    // A clock that stands still: two scrapes sharing one collection then report the same duration.
    const still = () => 1_700_000_000_000
    const master = fixture('info-redis-7.0.15-master-with-replica.txt')
    const replica = fixture('info-redis-7.0.15-replica.txt')
    const expected = await Promise.all(
      [captured(master), captured(replica), down].map((redis) => previous(redis, [], 'text', still)),
    )
    expect(new Set(expected).size).toBe(3)
    const states = [captured(master), captured(replica), down].map((redis) =>
      collection({ redis: redis as unknown as Redis, logger: silent, target, checkKeys: [], now: still }),
    )
    for (let round = 0; round < 2; round++) {
      // Two scrapes of each target at once: they share its collection and both render all of it.
      const texts = await Promise.all(states.flatMap((s) => [s.scrape(1000, 'text'), s.scrape(1000, 'text')]))
      expect(texts).toEqual([expected[0], expected[0], expected[1], expected[1], expected[2], expected[2]])
    }
    await Promise.all(states.map((s) => s.close()))
  })
})

describe('exposition()', () => {
  it("writes prom-client's own metric classes as prom-client's registry does", async () => {
    const registry = new Registry()
    const registers = [registry]
    const counter = new Counter({
      name: 'c_total',
      help: 'a "counter"\\ with\nnewline',
      labelNames: ['a', 'b'],
      registers,
    })
    counter.inc({ a: 'x"y', b: 'p\\q\nr' }, 2)
    counter.inc({ a: '1', b: '2' }, 0.5)
    new Gauge({ name: 'g', help: 'unset gauge', registers })
    const special = new Gauge({ name: 'g_special', help: 'NaN and infinities', labelNames: ['v'], registers })
    special.set({ v: 'nan' }, Number.NaN)
    special.set({ v: 'inf' }, Number.POSITIVE_INFINITY)
    special.set({ v: '-inf' }, Number.NEGATIVE_INFINITY)
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'h',
      buckets: [0.1, 1],
      labelNames: ['r'],
      registers,
    })
    histogram.observe({ r: 'x' }, 0.5)
    const summary = new Summary({ name: 's', help: 's', percentiles: [0.5, 0.9], registers })
    summary.observe(3)
    const families = registry.getMetricsAsArray() as unknown as Family[]
    expect(await exposition(families, 'text')).toBe(await registry.metrics())
    expect(await exposition(families, 'openmetrics')).toBe(await renderOpenMetrics(registry))
  })
})
