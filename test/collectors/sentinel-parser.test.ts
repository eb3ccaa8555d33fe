import { readFileSync } from 'node:fs'
import pino from 'pino'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { RedisCommander } from '../../src/collectors/collector.js'
import { parseInfo } from '../../src/collectors/info-parser.js'
import { createScrape } from '../../src/collectors/scrape.js'
import {
  isSentinelInfo,
  okReplicas,
  okSentinels,
  readSentinel,
  sentinelInfoMasters,
  sentinelRecords,
} from '../../src/collectors/sentinel.js'
import { SERVER_COLLECTORS } from '../../src/collectors/server-collectors.js'

// Replies of a redis-sentinel 7.0.15 (one of three, quorum 2) watching a master with two replicas,
// taken after one Sentinel and one replica were SIGKILLed.
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/sentinel-redis-7.0.15.json', import.meta.url), 'utf8'),
)
const info = parseInfo(fixture.info)
const masterAddress = `127.0.0.1:${fixture.masters[0][fixture.masters[0].indexOf('port') + 1]}`

class ReplyError extends Error {
  override name = 'ReplyError'
}

/** Answers the captured replies, as a Sentinel would; records every command it was sent. */
function capturedSentinel(ckquorum: { ok: string } | { error: string }) {
  const sent: string[] = []
  const redis: RedisCommander = {
    async call(command, ...args) {
      const line = [command, ...args].join(' ')
      sent.push(line)
      switch (line) {
        case 'INFO ALL':
          return fixture.info
        case 'SENTINEL MASTERS':
          return fixture.masters
        case 'SENTINEL SLAVES mymaster':
          return fixture.replicas
        case 'SENTINEL SENTINELS mymaster':
          return fixture.sentinels
        case 'SENTINEL CKQUORUM mymaster':
          if ('error' in ckquorum) throw new ReplyError(ckquorum.error)
          return ckquorum.ok
        default:
          throw new ReplyError(`ERR unknown command '${command}'`)
      }
    },
  }
  return { redis, sent }
}

describe('Sentinel replies parsed as redis_exporter reads them', () => {
  it('recognises a Sentinel by INFO and reads its masterN lines', () => {
    expect(isSentinelInfo(info)).toBe(true)
    expect(isSentinelInfo(parseInfo('# Server\r\nredis_mode:standalone\r\n'))).toBe(false)
    expect(sentinelInfoMasters(info)).toEqual([
      { name: 'mymaster', status: 'ok', address: masterAddress, slaves: 2, sentinels: 3 },
    ])
  })

  it('turns flat RESP2 arrays and RESP3 maps into the same records', () => {
    const flat = sentinelRecords([['name', 'mymaster', 'flags', 'master']])
    const map = sentinelRecords([
      new Map([
        ['name', 'mymaster'],
        ['flags', 'master'],
      ]),
    ])
    expect(flat).toEqual([{ name: 'mymaster', flags: 'master' }])
    expect(map).toEqual(flat)
    expect(sentinelRecords('not an array')).toEqual([])
  })

  it('counts ok replicas and Sentinels without the s_down ones, the answering Sentinel included', async () => {
    const reading = await readSentinel(capturedSentinel({ ok: fixture.ckquorum }).redis)
    const [master] = reading.masters
    expect(master?.replicas.map((r) => r['flags'])).toEqual(['s_down,slave,disconnected', 'slave'])
    expect(master?.sentinels.map((s) => s['flags'])).toEqual(['s_down,sentinel,disconnected', 'sentinel'])
    expect(okReplicas(master!)).toBe(1)
    expect(okSentinels(master!)).toBe(2)
    expect(master?.ckquorum).toEqual({ ok: true, message: fixture.ckquorum })
  })

  it('reports NOQUORUM as status 0 with the reply as message, not as a failed collection', async () => {
    const reading = await readSentinel(capturedSentinel({ error: fixture.ckquorumLost }).redis)
    expect(reading.masters[0]?.ckquorum).toEqual({ ok: false, message: fixture.ckquorumLost })
  })
})

describe('a scrape of a Sentinel', () => {
  const scrapeOf = async (ckquorum: { ok: string } | { error: string }) => {
    const target = capturedSentinel(ckquorum)
    const registry = new Registry()
    const scrape = createScrape({
      redis: target.redis,
      registry,
      logger: pino({ level: 'silent' }),
      collectors: SERVER_COLLECTORS,
    })
    expect(await scrape.collect({ timeoutMs: 2000 })).toMatchObject({ ok: true })
    expect(await scrape.collect({ timeoutMs: 2000 })).toMatchObject({ ok: true })
    return { text: await registry.metrics(), sent: target.sent }
  }

  it("renders redis_exporter's Sentinel families with its labels and the captured values", async () => {
    const { text } = await scrapeOf({ ok: fixture.ckquorum })
    const labels = `master_name="mymaster",master_address="${masterAddress}"`
    const lines = text.split('\n').filter((l) => l.startsWith('redis_sentinel_'))
    expect(lines.sort()).toEqual(
      [
        'redis_sentinel_masters 1',
        'redis_sentinel_tilt 0',
        'redis_sentinel_running_scripts 0',
        'redis_sentinel_scripts_queue_length 0',
        'redis_sentinel_simulate_failure_flags 0',
        `redis_sentinel_master_status{${labels},master_status="ok"} 1`,
        `redis_sentinel_master_slaves{${labels}} 2`,
        `redis_sentinel_master_sentinels{${labels}} 3`,
        `redis_sentinel_master_ok_slaves{${labels}} 1`,
        `redis_sentinel_master_ok_sentinels{${labels}} 2`,
        `redis_sentinel_master_ckquorum_status{master_name="mymaster",message="${fixture.ckquorum}"} 1`,
        `redis_sentinel_master_setting_ckquorum{${labels}} 2`,
        `redis_sentinel_master_setting_failover_timeout{${labels}} 2000`,
        `redis_sentinel_master_setting_parallel_syncs{${labels}} 1`,
        `redis_sentinel_master_setting_down_after_milliseconds{${labels}} 2000`,
        `redis_sentinel_master_config_epoch{${labels}} 0`,
        `redis_sentinel_master_last_ok_ping_reply_seconds{${labels}} 0.059`,
      ].sort(),
    )
  })

  it('has no redis_db_keys and sends a Sentinel only INFO and SENTINEL, never a command it rejects', async () => {
    const { text, sent } = await scrapeOf({ error: fixture.ckquorumLost })
    expect(text).not.toMatch(/^redis_db_keys/m)
    expect(text).toMatch(/^redis_up 1$/m)
    expect(text).toContain(`message="${fixture.ckquorumLost}"} 0`)
    expect(new Set(sent.map((line) => line.split(' ').slice(0, 2).join(' ')))).toEqual(
      new Set(['INFO ALL', 'SENTINEL MASTERS', 'SENTINEL SLAVES', 'SENTINEL SENTINELS', 'SENTINEL CKQUORUM']),
    )
  })
})
