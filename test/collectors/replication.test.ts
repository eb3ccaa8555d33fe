import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServerStats, type ServerStats } from '../../src/collectors/server-stats.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'

const silent = pino({ level: 'silent' })

describe('replication metrics from a real master and its replica', () => {
  let master: RedisServer
  let replica: RedisServer
  const clients: Redis[] = []
  const connect = (server: RedisServer) => {
    const client = new Redis({ port: server.port, host: server.host, maxRetriesPerRequest: 1 })
    clients.push(client)
    return client
  }
  const statsFor = (server: RedisServer) => {
    const registry = new Registry()
    const stats = createServerStats({ redis: connect(server), registry, logger: silent })
    return { registry, stats }
  }
  const scrape = async (stats: ServerStats, registry: Registry) => {
    await stats.collect({ timeoutMs: 2000 })
    return registry.metrics()
  }

  beforeAll(async () => {
    master = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] })
    replica = await startRedis({ args: ['--replicaof', master.host, String(master.port)] })
    await waitFor(async () => /master_link_status:up/.test(await replica.cli('INFO', 'replication')), {
      timeoutMs: 15_000,
    })
    // The master lists the replica as online a moment after the replica sees its link up.
    await waitFor(async () => /slave0:.*state=online/.test(await master.cli('INFO', 'replication')), {
      timeoutMs: 15_000,
    })
  })
  afterAll(async () => {
    for (const client of clients) client.disconnect()
    await replica.stop()
    await master.stop()
  })

  it('on the replica: link up, last I/O and offset labelled with the master, and redis_slave_info', async () => {
    const { registry, stats } = statsFor(replica)
    const text = await scrape(stats, registry)
    const labels = `master_host="${master.host}",master_port="${master.port}"`
    expect(text).toContain(`redis_master_link_up{${labels}} 1`)
    expect(text).toMatch(new RegExp(`^redis_master_last_io_seconds_ago\\{${labels}\\} \\d+$`, 'm'))
    expect(text).toContain(`redis_master_sync_in_progress{${labels}} 0`)
    expect(text).toMatch(new RegExp(`^redis_slave_repl_offset\\{${labels}\\} \\d+$`, 'm'))
    expect(text).toContain(`redis_slave_info{${labels},read_only="1"} 1`)
    expect(text).toMatch(/^redis_instance_info\{.*role="slave".*\} 1$/m)
    await stats.close()
  })

  it('on the master: one offset and lag series per connected replica, and no replica-side series', async () => {
    const { registry, stats } = statsFor(master)
    const text = await scrape(stats, registry)
    const labels = `slave_ip="127.0.0.1",slave_port="${replica.port}",slave_state="online"`
    expect(text).toMatch(/^redis_connected_slaves 1$/m)
    expect(text).toMatch(new RegExp(`^redis_connected_slave_offset_bytes\\{${labels}\\} \\d+$`, 'm'))
    expect(text).toMatch(new RegExp(`^redis_connected_slave_lag_seconds\\{${labels}\\} \\d+$`, 'm'))
    expect(text).not.toMatch(/^redis_master_link_up/m)
    expect(text).not.toMatch(/^redis_slave_info/m)
    expect(text).toMatch(/^redis_instance_info\{.*role="master".*\} 1$/m)
    await stats.close()
  })
})
