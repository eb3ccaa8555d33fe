import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { infoNumber, parseInfo } from '../../src/collectors/info-parser.js'

const read = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')
const fixture = read('info-redis-7.0.15.txt')

describe('parseInfo (captured INFO ALL of Redis 7.0.15)', () => {
  const info = parseInfo(fixture)

  it('reads plain fields with CRLF line ends and remembers their section', () => {
    expect(info.fields['redis_version']).toBe('7.0.15')
    expect(info.sectionOf['redis_version']).toBe('server')
    expect(info.sectionOf['used_memory']).toBe('memory')
    expect(infoNumber(info, 'maxmemory')).toBe(0)
    expect(infoNumber(info, 'connected_clients')).toBe(1)
  })

  it('reads keyspace lines into keys, expires and avg_ttl per db', () => {
    expect(info.keyspace['db0']).toEqual({ keys: 1000, expires: 1, avgTtlMs: 998010 })
    expect(info.keyspace['db2']).toEqual({ keys: 1, expires: 0, avgTtlMs: 0 })
    expect(info.fields['db0']).toBeUndefined()
  })

  it('reads commandstats with subcommands and errorstats', () => {
    expect(info.commandStats['set']).toEqual({ calls: 1, usec: 5, rejectedCalls: 0, failedCalls: 0 })
    expect(info.commandStats['client|setname']?.calls).toBe(1)
    expect(info.commandStats['evalsha']?.failedCalls).toBe(1)
    expect(info.errorStats).toEqual({ NOSCRIPT: 1 })
  })

  it('reads latencystats into quantiles per command, p99.9 as 0.999', () => {
    expect(info.latencyPercentiles['scan']).toEqual({ '0.5': 1.003, '0.99': 489.471, '0.999': 489.471 })
    expect(info.latencyPercentiles['memory|usage']?.['0.99']).toBe(1.003)
    expect(info.fields['latency_percentiles_usec_scan']).toBeUndefined()
  })

  it('returns undefined for non-numeric or missing fields instead of NaN', () => {
    expect(infoNumber(info, 'redis_mode')).toBeUndefined()
    expect(infoNumber(info, 'no_such_field')).toBeUndefined()
  })

  it('accepts LF-only text and ignores malformed lines', () => {
    const parsed = parseInfo(
      '# Server\nredis_version:7.2.4\ngarbage\n:empty\n# Keyspace\ndb3:keys=5,expires=2,avg_ttl=10\n',
    )
    expect(parsed.fields).toEqual({ redis_version: '7.2.4' })
    expect(parsed.keyspace).toEqual({ db3: { keys: 5, expires: 2, avgTtlMs: 10 } })
  })
})

describe('parseInfo (captured INFO ALL of a Redis 7.0.15 master and its replica)', () => {
  it('reads each connected replica of a master with its offset, state and lag', () => {
    const master = parseInfo(read('info-redis-7.0.15-master-with-replica.txt'))
    expect(master.fields['role']).toBe('master')
    expect(infoNumber(master, 'connected_slaves')).toBe(1)
    expect(master.replicas).toEqual([{ ip: '127.0.0.1', port: '16492', state: 'online', offset: 50, lag: 0 }])
    expect(master.fields['slave0']).toBeUndefined()
  })

  it('reads the master link of a replica as plain fields', () => {
    const replica = parseInfo(read('info-redis-7.0.15-replica.txt'))
    expect(replica.fields).toMatchObject({
      role: 'slave',
      master_host: '127.0.0.1',
      master_port: '16491',
      master_link_status: 'up',
      slave_read_only: '1',
    })
    expect(infoNumber(replica, 'slave_repl_offset')).toBe(50)
    expect(replica.replicas).toEqual([])
  })
})
