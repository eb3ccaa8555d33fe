import { Redis } from 'ioredis'
import pino from 'pino'
import { register as globalRegistry, type Registry as PromRegistry, Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseInfo } from '../../src/collectors/info-parser.js'
import { createServerStats, type RedisCommander } from '../../src/collectors/server-stats.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'

const silent = pino({ level: 'silent' })
const commander = (client: Redis): RedisCommander => ({
  call: (command, ...args) => client.call(command, ...args),
})

async function sampleValue(registry: PromRegistry, name: string, labels: Record<string, string> = {}) {
  const metric = await registry.getSingleMetric(name)?.get()
  const match = metric?.values.find((v) =>
    Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l),
  )
  return match?.value
}

describe('server stats against a real redis-server', () => {
  let redis: RedisServer
  let client: Redis

  beforeAll(async () => {
    // CONFIG renamed away, as on managed Redis: nothing here may need it.
    redis = await startRedis({
      args: [
        '--rename-command',
        'CONFIG',
        '""',
        '--maxmemory',
        '0',
        '--latency-monitor-threshold',
        '10',
        '--enable-debug-command',
        'yes',
      ],
    })
    client = new Redis({ port: redis.port, host: redis.host, lazyConnect: true, maxRetriesPerRequest: 1 })
    await client.connect()
    for (let i = 0; i < 50; i++) await client.set(`user:${i}`, 'x'.repeat(100))
    await client.expire('user:1', 1000)
    await client.get('user:1')
    await client.get('missing')
    await client.select(3)
    await client.set('other-db', '1')
    await client.select(0)
  })
  afterAll(async () => {
    client.disconnect()
    await redis.stop()
  })

  it('with CONFIG renamed away, gives redis_up 1 and the INFO families', async () => {
    await expect(client.call('CONFIG', 'GET', 'maxmemory')).rejects.toThrow(/unknown command/i)
    const registry = new Registry()
    const stats = createServerStats({ redis: commander(client), registry, logger: silent })
    expect(await stats.collect({ timeoutMs: 2000 })).toMatchObject({ ok: true })
    expect(await sampleValue(registry, 'redis_up')).toBe(1)
    expect(await sampleValue(registry, 'redis_monitor_last_scrape_error')).toBe(0)
    const text = await registry.metrics()
    for (const family of [
      'redis_uptime_in_seconds',
      'redis_instance_info',
      'redis_memory_used_bytes',
      'redis_memory_max_bytes',
      'redis_connected_clients',
      'redis_blocked_clients',
      'redis_rejected_connections_total',
      'redis_commands_processed_total',
      'redis_keyspace_hits_total',
      'redis_keyspace_misses_total',
      'redis_evicted_keys_total',
      'redis_expired_keys_total',
      'redis_db_keys',
      'redis_db_keys_expiring',
      'redis_slowlog_length',
      'redis_commands_total',
      'redis_config_maxclients',
      'redis_monitor_scrape_duration_seconds',
    ]) {
      expect(text, family).toMatch(new RegExp(`^${family}(\\{| )`, 'm'))
    }
    expect(text).toMatch(/^# TYPE redis_commands_processed_total counter$/m)
    expect(text).toMatch(/^# HELP redis_memory_used_bytes .*\(bytes\)\.$/m)
    await stats.close()
  })

  it('reports the same values as redis-cli INFO taken at the same moment', async () => {
    const registry = new Registry()
    const stats = createServerStats({ redis: commander(client), registry, logger: silent })
    const before = parseInfo(await redis.cli('INFO', 'ALL'))
    await stats.collect({ timeoutMs: 2000 })
    const after = parseInfo(await redis.cli('INFO', 'ALL'))
    const between = async (name: string, field: string, labels: Record<string, string> = {}) => {
      const value = (await sampleValue(registry, name, labels)) ?? Number.NaN
      expect(value, name).toBeGreaterThanOrEqual(Number(before.fields[field]))
      expect(value, name).toBeLessThanOrEqual(Number(after.fields[field]))
    }
    await between('redis_commands_processed_total', 'total_commands_processed')
    await between('redis_keyspace_hits_total', 'keyspace_hits')
    await between('redis_keyspace_misses_total', 'keyspace_misses')
    await between('redis_connections_received_total', 'total_connections_received')
    expect(await sampleValue(registry, 'redis_db_keys', { db: 'db0' })).toBe(after.keyspace['db0']?.keys)
    expect(await sampleValue(registry, 'redis_db_keys', { db: 'db3' })).toBe(1)
    expect(await sampleValue(registry, 'redis_db_keys_expiring', { db: 'db0' })).toBe(1)
    expect(await sampleValue(registry, 'redis_memory_max_bytes')).toBe(0)
    // What redis_exporter's -include-system-metrics adds, always here: the community
    // RedisOutOfSystemMemory and redis-mixin RedisOutOfMemory rules divide by it.
    expect(await sampleValue(registry, 'redis_total_system_memory_bytes')).toBe(
      Number(after.fields['total_system_memory']),
    )
    expect(Number(after.fields['total_system_memory'])).toBeGreaterThan(0)
    expect(
      await sampleValue(registry, 'redis_instance_info', { redis_version: after.fields['redis_version']! }),
    ).toBe(1)
    await stats.close()
  })

  it('costs Redis exactly INFO ALL, SLOWLOG LEN, SLOWLOG GET 1 and LATENCY LATEST per collection (no CONFIG, no CLUSTER, no error reply), one round for two collections at once', async () => {
    const registry = new Registry()
    const stats = createServerStats({ redis: commander(client), registry, logger: silent })
    const calls = async () => {
      const info = parseInfo(await redis.cli('INFO', 'ALL'))
      return {
        commands: Object.fromEntries(Object.entries(info.commandStats).map(([cmd, s]) => [cmd, s.calls])),
        errors: Object.fromEntries(Object.entries(info.errorStats).map(([err, n]) => [err, n])),
      }
    }
    const before = await calls()
    const [first, second] = await Promise.all([
      stats.collect({ timeoutMs: 2000 }),
      stats.collect({ timeoutMs: 2000 }),
    ])
    expect(first.ok).toBe(true)
    expect(second.ok).toBe(true)
    const after = await calls()
    const delta = Object.fromEntries(
      Object.entries(after.commands)
        .map(([cmd, n]) => [cmd, n - (before.commands[cmd] ?? 0)])
        .filter(([, n]) => n !== 0),
    )
    // INFO twice: the collection's and this test's own first read (a command counts once it ran).
    expect(delta).toEqual({ info: 2, 'slowlog|len': 1, 'slowlog|get': 1, 'latency|latest': 1 })
    expect(after.errors).toEqual(before.errors)
    await stats.close()
  })

  it('with maxmemory 0 gives no memory percentage in /status, never Infinity or NaN', async () => {
    const registry = new Registry()
    const stats = createServerStats({ redis: commander(client), registry, logger: silent })
    await stats.collect({ timeoutMs: 2000 })
    const status = stats.status({ latencyMs: 1, breaker: 'closed' })
    expect(status).toMatchObject({
      available: true,
      status: 'OK',
      memory_usage_percent: null,
      total_keys: 51,
    })
    expect(JSON.stringify(status)).not.toMatch(/Infinity|NaN/)
    await stats.close()
  })

  it('exposes LATENCY spikes and per-command latency percentiles under redis_exporter names', async () => {
    await client.call('DEBUG', 'SLEEP', '0.03')
    const registry = new Registry()
    const stats = createServerStats({ redis: commander(client), registry, logger: silent })
    await stats.collect({ timeoutMs: 2000 })
    const spike = await sampleValue(registry, 'redis_latency_spike_duration_seconds', {
      event_name: 'command',
    })
    expect(spike).toBeGreaterThanOrEqual(0.03)
    const last = await sampleValue(registry, 'redis_latency_spike_last', { event_name: 'command' })
    expect(Math.abs((last ?? 0) - Date.now() / 1000)).toBeLessThan(60)

    const text = await registry.metrics()
    expect(text).toMatch(/^# TYPE redis_latency_percentiles_usec summary$/m)
    expect(text).toMatch(/^redis_latency_percentiles_usec\{cmd="set",quantile="0.99"\} [\d.]+$/m)
    expect(text).toMatch(/^redis_latency_percentiles_usec\{cmd="set",quantile="0.999"\} [\d.]+$/m)
    const setCalls = await sampleValue(registry, 'redis_commands_total', { cmd: 'set' })
    expect(text).toContain(`redis_latency_percentiles_usec_count{cmd="set"} ${setCalls}`)
    await stats.close()
  })

  it('never touches the global prom-client registry', () => {
    expect(globalRegistry.getMetricsAsArray()).toHaveLength(0)
  })

  it('when Redis is frozen, answers within the budget with redis_up 0 and last_scrape_error 1', async () => {
    const frozenClient = new Redis({ port: redis.port, host: redis.host, maxRetriesPerRequest: 1 })
    await frozenClient.ping()
    const registry = new Registry()
    const stats = createServerStats({ redis: commander(frozenClient), registry, logger: silent })
    await stats.collect({ timeoutMs: 2000 })
    redis.pause()
    try {
      const started = Date.now()
      const result = await stats.collect({ timeoutMs: 500 })
      // Bounded by the 500 ms budget, not by Redis (which never answers): room for a loaded machine.
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(result.ok).toBe(false)
      expect(await sampleValue(registry, 'redis_up')).toBe(0)
      expect(await sampleValue(registry, 'redis_monitor_last_scrape_error')).toBe(1)
      // No stale server values are served as if they were current: the family stays, empty.
      expect((await registry.getSingleMetric('redis_memory_used_bytes')?.get())?.values).toEqual([])
      expect(stats.status({ latencyMs: undefined, breaker: 'open' })).toMatchObject({
        available: false,
        status: 'CRITICAL',
      })
    } finally {
      redis.resume()
    }
    expect((await stats.collect({ timeoutMs: 2000 })).ok).toBe(true)
    expect(await sampleValue(registry, 'redis_up')).toBe(1)
    frozenClient.disconnect()
    await stats.close()
  })

  it('keeps a history of samples with memory, hit rate (none below 100 lookups), ops/s, clients, keys and the client context', async () => {
    const registry = new Registry()
    const stats = createServerStats({
      redis: commander(client),
      registry,
      logger: silent,
      historyIntervalMs: 20,
      historySize: 3,
      context: () => ({ latencyMs: 0.5, breaker: 'closed', poolUtilizationPercent: 10 }),
    })
    stats.start()
    const deadline = Date.now() + 5000
    while (stats.history().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 100))
    const history = stats.history()
    expect(history).toHaveLength(3)
    expect(history[2]).toMatchObject({
      available: true,
      used_memory_bytes: expect.any(Number),
      memory_usage_percent: null, // maxmemory 0
      hit_rate_percent: null, // 1 hit and 1 miss: below the 100 lookups a hit rate needs
      connected_clients: expect.any(Number),
      ops_per_sec: expect.any(Number),
      total_keys: 51, // 50 user:* in db0 and other-db in db3
      fallback_in_use: false,
      latency_ms: 0.5,
      pool_utilization_percent: 10,
      circuit_breaker_state: 'closed',
    })
    expect(history[2]).not.toHaveProperty('hits')
    await stats.close()
  })
})
