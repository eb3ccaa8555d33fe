import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Collector } from '../../src/collectors/collector.js'
import { createKeyGroupCollector } from '../../src/collectors/key-group-collector.js'
import { createScrape } from '../../src/collectors/scrape.js'
import { SERVER_COLLECTORS } from '../../src/collectors/server-collectors.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'

const silent = pino({ level: 'silent' })

describe('createScrape: server-side families of any Redis on any registry', () => {
  let first: RedisServer
  let second: RedisServer
  let a: Redis
  let b: Redis

  beforeAll(async () => {
    ;[first, second] = await Promise.all([startRedis(), startRedis()])
    a = new Redis({ port: first.port, host: first.host, maxRetriesPerRequest: 1 })
    b = new Redis({ port: second.port, host: second.host, maxRetriesPerRequest: 1 })
    for (let i = 0; i < 3; i++) await a.set(`a:${i}`, '1')
    for (let i = 0; i < 7; i++) await b.set(`b:${i}`, '1')
  })
  afterAll(async () => {
    a.disconnect()
    b.disconnect()
    await Promise.all([first.stop(), second.stop()])
  })

  it('two targets on two fresh registries each show their own Redis, and neither sees the other', async () => {
    const ra = new Registry()
    const rb = new Registry()
    const sa = createScrape({ redis: a, registry: ra, logger: silent, collectors: SERVER_COLLECTORS })
    const sb = createScrape({ redis: b, registry: rb, logger: silent, collectors: SERVER_COLLECTORS })
    await Promise.all([sa.collect({ timeoutMs: 2000 }), sb.collect({ timeoutMs: 2000 })])
    const [ta, tb] = await Promise.all([ra.metrics(), rb.metrics()])
    expect(ta).toMatch(/^redis_up 1$/m)
    expect(tb).toMatch(/^redis_up 1$/m)
    expect(ta).toMatch(/^redis_db_keys\{db="db0"\} 3$/m)
    expect(tb).toMatch(/^redis_db_keys\{db="db0"\} 7$/m)
    expect(ta).toContain(`tcp_port="${first.port}"`)
    expect(ta).not.toContain(`tcp_port="${second.port}"`)
    await Promise.all([sa.close(), sb.close()])
  })

  it('a new collector plugs in with read() and register(): its reading renders, INFO is awaitable in read()', async () => {
    const dbsize: Collector<{ keys: number; role: string }> = {
      name: 'dbsize',
      async read(redis, ctx) {
        const [keys, info] = await Promise.all([redis.call('DBSIZE'), ctx.info])
        return { keys: Number(keys), role: info.fields['role'] ?? '' }
      },
      register(registry, view) {
        registry.registerMetric({
          name: 'test_dbsize',
          help: 'DBSIZE (count).',
          type: 'gauge',
          aggregator: 'sum',
          get: async () => {
            const r = view()?.reading(dbsize)
            return {
              name: 'test_dbsize',
              help: 'DBSIZE (count).',
              type: 'gauge',
              aggregator: 'sum',
              values: r ? [{ value: r.keys, labels: { role: r.role } }] : [],
            }
          },
          reset() {},
        } as unknown as Parameters<Registry['registerMetric']>[0])
      },
    }
    const registry = new Registry()
    const scrape = createScrape({ redis: b, registry, logger: silent, collectors: [dbsize] })
    expect(await scrape.collect({ timeoutMs: 2000 })).toMatchObject({ ok: true })
    const text = await registry.metrics()
    expect(text).toMatch(/^test_dbsize\{role="master"\} 7$/m)
    expect(text).toMatch(/^redis_up 1$/m)
    // Only what was asked for: no INFO families without the info collector.
    expect(text).not.toMatch(/^redis_memory_used_bytes/m)
    await scrape.close()
  })

  it('key groups are optional per target: on for one registry, absent on the other', async () => {
    const withGroups = new Registry()
    const keyGroups = createKeyGroupCollector({ redis: a, logger: silent, keyGroups: { patterns: ['a:*'] } })
    const scrape = createScrape({
      redis: a,
      registry: withGroups,
      logger: silent,
      collectors: [...SERVER_COLLECTORS, keyGroups],
    })
    scrape.start()
    await waitFor(async () =>
      (await withGroups.metrics()).includes('redis_key_group_count{db="db0",key_group="a:*"} 3'),
    )
    const without = new Registry()
    const plain = createScrape({ redis: a, registry: without, logger: silent, collectors: SERVER_COLLECTORS })
    await plain.collect({ timeoutMs: 2000 })
    expect(await without.metrics()).not.toContain('redis_key_group_count')
    await Promise.all([scrape.close(), plain.close()])
  })
})
