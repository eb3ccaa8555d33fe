import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyGroupCollector } from '../../src/collectors/key-group-collector.js'
import { createScrape } from '../../src/collectors/scrape.js'
import { notOnSentinel } from '../../src/collectors/sentinel.js'
import { SERVER_COLLECTORS } from '../../src/collectors/server-collectors.js'
import { type SentinelSet, startSentinelSet } from '../helpers/sentinel.js'
import { waitFor } from '../helpers/wait-for.js'

const silent = pino({ level: 'silent' })

const sample = (text: string, name: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

/** Error replies a Redis or Sentinel has sent so far (INFO stats). */
const errorReplies = async (cli: (...args: string[]) => Promise<string>) =>
  Number(/total_error_replies:(\d+)/.exec(await cli('INFO', 'stats'))?.[1])

describe('server-side families of a real Sentinel', () => {
  let set: SentinelSet
  let sentinel: Redis
  beforeAll(async () => {
    set = await startSentinelSet({ replicas: 2, sentinelPassword: 'sentinel-only' })
    const target = set.sentinels[0]!
    sentinel = new Redis({
      host: target.host,
      port: target.port,
      password: 'sentinel-only',
      maxRetriesPerRequest: 1,
    })
  }, 60_000)
  afterAll(async () => {
    sentinel?.disconnect()
    await set?.stop()
  })

  const scrapeOnce = async () => {
    const registry = new Registry()
    const scrape = createScrape({ redis: sentinel, registry, logger: silent, collectors: SERVER_COLLECTORS })
    expect(await scrape.collect({ timeoutMs: 5000 })).toMatchObject({ ok: true })
    expect(await scrape.collect({ timeoutMs: 5000 })).toMatchObject({ ok: true })
    await scrape.close()
    return registry.metrics()
  }

  it('counts equal what SENTINEL MASTERS and SENTINEL REPLICAS answer', async () => {
    const text = await scrapeOnce()
    const masters = (await sentinel.call('SENTINEL', 'MASTERS')) as unknown[]
    const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', 'mymaster')) as unknown[]
    const master = await set.masterAddress()
    const labels = `master_name="mymaster",master_address="${master.host}:${master.port}"`
    expect(sample(text, 'redis_sentinel_masters')).toBe(masters.length)
    expect(text).toContain(`redis_sentinel_master_slaves{${labels}} ${replicas.length}`)
    expect(text).toContain(`redis_sentinel_master_ok_slaves{${labels}} ${replicas.length}`)
    expect(text).toContain(`redis_sentinel_master_sentinels{${labels}} 3`)
    expect(text).toContain(`redis_sentinel_master_ok_sentinels{${labels}} 3`)
    expect(text).toContain(`redis_sentinel_master_status{${labels},master_status="ok"} 1`)
    expect(text).toMatch(
      /^redis_sentinel_master_ckquorum_status\{master_name="mymaster",message="OK 3 usable .*"\} 1$/m,
    )
    expect(replicas).toHaveLength(2)
  })

  it('shows no databases and makes the Sentinel answer no error: nothing it rejects is sent', async () => {
    const before = await errorReplies(set.sentinels[0]!.cli)
    const text = await scrapeOnce()
    expect(await errorReplies(set.sentinels[0]!.cli)).toBe(before)
    expect(text).toMatch(/^redis_up 1$/m)
    expect(text).not.toMatch(/^redis_db_keys/m)
    expect(text).not.toMatch(/^redis_slowlog_length/m)
  })

  it('runs no key-group pass against a Sentinel, and starts one on a data node after its first collection', async () => {
    const before = await errorReplies(set.sentinels[0]!.cli)
    const registry = new Registry()
    const keyGroups = createKeyGroupCollector({
      redis: sentinel,
      logger: silent,
      keyGroups: { patterns: ['a:*'] },
    })
    const scrape = createScrape({
      redis: sentinel,
      registry,
      logger: silent,
      collectors: [...SERVER_COLLECTORS, notOnSentinel(keyGroups)],
    })
    scrape.start()
    await scrape.collect({ timeoutMs: 5000 })
    await new Promise((r) => setTimeout(r, 500))
    await scrape.collect({ timeoutMs: 5000 })
    await scrape.close()
    expect(await errorReplies(set.sentinels[0]!.cli)).toBe(before)
    expect(keyGroups.latest()).toEqual([])

    const master = await set.master()
    const data = new Redis({ host: master.host, port: master.port, maxRetriesPerRequest: 1 })
    await data.set('a:1', 'x')
    const onData = createKeyGroupCollector({ redis: data, logger: silent, keyGroups: { patterns: ['a:*'] } })
    const dataScrape = createScrape({
      redis: data,
      registry: new Registry(),
      logger: silent,
      collectors: [...SERVER_COLLECTORS, notOnSentinel(onData)],
    })
    dataScrape.start()
    expect(onData.latest()).toEqual([])
    await dataScrape.collect({ timeoutMs: 5000 })
    await waitFor(() => onData.latest().length === 1, { what: 'a key-group pass on the master' })
    expect(onData.latest()[0]?.groups.map((g) => [g.group, g.count])).toEqual([['a:*', 1]])
    await dataScrape.close()
    data.disconnect()
  })

  it('with one of three Sentinels killed: two ok Sentinels, quorum still reachable', async () => {
    await set.sentinels[2]!.kill()
    const text = await waitFor(
      async () => {
        const t = await scrapeOnce()
        return sample(t, 'redis_sentinel_master_ok_sentinels') === 2 ? t : undefined
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'the killed Sentinel to be s_down' },
    )
    expect(text).toMatch(
      /^redis_sentinel_master_ckquorum_status\{master_name="mymaster",message="OK 2 usable .*"\} 1$/m,
    )
    expect(sample(text, 'redis_sentinel_master_sentinels')).toBe(3)
  })
})
