import { readFileSync } from 'node:fs'
import pino from 'pino'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createServerStats, type RedisCommander } from '../../src/collectors/server-stats.js'

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')
const silent = pino({ level: 'silent' })
/** The families, with type and help, that 0.1.0 registered (before the collectors were split by feature). */
const families010 = JSON.parse(fixture('server-families-0.1.0.json')) as Array<{
  name: string
  type: string
  help: string
}>

/** Answers with captured INFO and fixed SLOWLOG/LATENCY replies: this file checks rendering, not I/O. */
const capturedRedis = (info: string): RedisCommander => {
  const replies: Record<string, unknown> = {
    'INFO ALL': info,
    'SLOWLOG LEN': 3,
    'SLOWLOG GET 1': [[7, 1700000000, 12000, ['GET', 'x']]],
    'LATENCY LATEST': [['command', 1700000000, 30, 30]],
  }
  return { call: async (...args) => replies[args.join(' ')] }
}

describe('server-side families', () => {
  it('are rendered by the exact prom-client version package.json pins', () => {
    // Redis' own counters are copied through as plain objects prom-client's registry renders through
    // get() (metrics/snapshot-family.ts): documented for its own metric classes only, so the version
    // is pinned and the next test renders every family exactly; an upgrade must pass this file first.
    const root = new URL('../../', import.meta.url)
    const declared = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).dependencies[
      'prom-client'
    ]
    const installed = JSON.parse(
      readFileSync(new URL('node_modules/prom-client/package.json', root), 'utf8'),
    ).version
    expect(declared).toMatch(/^\d+\.\d+\.\d+$/)
    expect(installed).toBe(declared)
  })

  it('keeps every family of 0.1.0 with the same type and help text', async () => {
    const registry = new Registry()
    const stats = createServerStats({
      redis: capturedRedis(''),
      registry,
      logger: silent,
      keyGroups: { patterns: ['a:*'] },
    })
    const registered = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, m]))
    for (const family of families010) {
      expect(registered.get(family.name), family.name).toMatchObject({ type: family.type, help: family.help })
    }
    expect(families010).toHaveLength(168)
    await stats.close()
  })

  it('renders captured INFO of a master and of a replica into exactly the samples 0.1.0 rendered', async () => {
    const names = new Set(families010.map((f) => f.name))
    const family = (line: string) => /^([a-z_]+?)(_sum|_count)?[{ ]/.exec(line)
    const expected = fixture('server-samples-0.1.0.txt').trim().split('\n')
    const rendered: string[] = []
    for (const name of ['info-redis-7.0.15-master-with-replica.txt', 'info-redis-7.0.15-replica.txt']) {
      const registry = new Registry()
      const stats = createServerStats({
        redis: capturedRedis(fixture(name)),
        registry,
        logger: silent,
        now: () => 1,
      })
      expect(await stats.collect({ timeoutMs: 1000 })).toMatchObject({ ok: true })
      const samples = (await registry.metrics())
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        // Families added since 0.1.0 are not this test's business.
        .filter((line) => {
          const m = family(line)
          return m !== null && (names.has(m[1]!) || names.has(`${m[1]}${m[2] ?? ''}`))
        })
      rendered.push(`=== ${name}`, ...samples.sort())
      await stats.close()
    }
    expect(rendered).toEqual(expected)
  })
})
