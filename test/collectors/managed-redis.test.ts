import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServerStats } from '../../src/collectors/server-stats.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'

/** A pino logger whose lines land in `lines`, parsed. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string; command?: string }> = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: pino({ level: 'info' }, stream), lines }
}

describe('server stats on a managed-style Redis with CONFIG, SLOWLOG and LATENCY renamed away', () => {
  let redis: RedisServer
  let client: Redis

  beforeAll(async () => {
    // CONFIG renamed to nothing; SLOWLOG and LATENCY to names we cannot know (Redis 7.0 refuses a
    // second rename to "").
    redis = await startRedis({
      args: [
        '--rename-command',
        'CONFIG',
        '""',
        '--rename-command',
        'SLOWLOG',
        'slowlog-7f3a',
        '--rename-command',
        'LATENCY',
        'latency-7f3a',
      ],
    })
    client = new Redis({ port: redis.port, host: redis.host, maxRetriesPerRequest: 1 })
    await client.set('k', 'v')
  })
  afterAll(async () => {
    client.disconnect()
    await redis.stop()
  })

  it('keeps redis_up 1 and the INFO families (memory, keyspace, commandstats, maxclients), leaves the slow log and latency families without samples', async () => {
    const registry = new Registry()
    const { logger } = capturingLogger()
    const stats = createServerStats({ redis: client, registry, logger })
    expect(await stats.collect({ timeoutMs: 2000 })).toMatchObject({ ok: true })
    const text = await registry.metrics()
    expect(text).toMatch(/^redis_up 1$/m)
    expect(text).toMatch(/^redis_monitor_last_scrape_error 0$/m)
    expect(text).toMatch(/^redis_memory_used_bytes \d+$/m)
    expect(text).toMatch(/^redis_db_keys\{db="db0"\} 1$/m)
    expect(text).toMatch(/^redis_commands_total\{cmd="set"\} 1$/m)
    expect(text).toMatch(/^redis_config_maxclients \d+$/m)
    // The families stay registered (HELP/TYPE), with no samples.
    for (const family of ['redis_slowlog_length', 'redis_latency_spike_last']) {
      expect(text).toMatch(new RegExp(`^# TYPE ${family} gauge$`, 'm'))
      expect(text).not.toMatch(new RegExp(`^${family}[{ ]`, 'm'))
    }
    await stats.close()
  })

  it('says once per command that it is skipped, however many scrapes follow', async () => {
    const { logger, lines } = capturingLogger()
    const stats = createServerStats({ redis: client, registry: new Registry(), logger })
    for (let i = 0; i < 5; i++) expect((await stats.collect({ timeoutMs: 2000 })).ok).toBe(true)
    const skipped = lines.filter((l) => /not available/.test(l.msg))
    expect(skipped.map((l) => l.command).sort()).toEqual(['LATENCY', 'SLOWLOG'])
    expect(lines.filter((l) => l.level >= 50)).toEqual([])
    await stats.close()
  })
})
