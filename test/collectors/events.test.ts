import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createServerStats,
  type ServerStats,
  type ServerStatsEvents,
} from '../../src/collectors/server-stats.js'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor, PoolMonitorEventMap } from '../../src/monitor/types.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { captureLogger } from '../monitor/support.js'

// The library's events against a real redis-server: memory pushed over the thresholds with
// CONFIG SET maxmemory, then the server killed and restarted.
let redis: RedisServer
let monitor: PoolMonitor
let stats: ServerStats
const log = captureLogger('info')
const serverEvents: Array<{ event: keyof ServerStatsEvents; payload: unknown }> = []
const poolEvents: Array<{ event: keyof PoolMonitorEventMap; payload: unknown }> = []

beforeAll(async () => {
  redis = await startRedis({ args: ['--maxmemory', '100mb'] })
  const registry = new Registry()
  monitor = createPoolMonitor({
    redis: { host: redis.host, port: redis.port },
    registry,
    logger: log.logger,
    size: 2,
    probeIntervalMs: 100,
    // Loose enough for a loaded 2-core machine: a false timeout would be a false CRITICAL here.
    commandTimeoutMs: 1_000,
    breaker: { resetTimeoutMs: 500 },
  })
  for (const event of ['breaker', 'probe', 'failover'] as const)
    monitor.on(event, (payload) => poolEvents.push({ event, payload }))
  stats = createServerStats({
    redis: monitor,
    registry,
    logger: log.logger,
    historyIntervalMs: 100,
    backgroundTimeoutMs: 1_000,
    // Memory and a dead Redis are what these tests judge: a probe slowed past the default 50 ms by a
    // loaded machine would otherwise turn a status WARNING (and an event's `previous` with it).
    thresholds: { latencyWarningMs: 10_000, latencyCriticalMs: 20_000 },
    context: () => ({
      latencyMs: monitor.health().lastProbe?.latencyMs,
      breaker: monitor.breakerState(),
      poolUtilizationPercent: monitor.stats().utilizationPercent,
    }),
  })
  // An application whose listener is broken: collection must go on regardless.
  stats.on('status', () => {
    throw new Error('listener bug')
  })
  for (const event of ['status', 'memoryRisk', 'keyGroupGrowth', 'fallback'] as const)
    stats.on(event, (payload) => serverEvents.push({ event, payload }))
  // The first status should judge a connected Redis, not a pool still dialling it.
  await waitFor(async () => (await monitor.probe()).ok, { what: 'the pool to reach Redis' })
  stats.start()
})

afterAll(async () => {
  await stats?.close()
  await monitor?.close()
  await redis?.stop()
})

const of = <T>(list: Array<{ event: string; payload: unknown }>, event: string) =>
  list.filter((e) => e.event === event).map((e) => e.payload as T)

describe('events of the server stats and the pool monitor', () => {
  it('starts with status OK and no memory risk', async () => {
    await waitFor(() => of(serverEvents, 'status').length > 0, { what: 'the first status event' })
    expect(of(serverEvents, 'status')[0]).toEqual(expect.objectContaining({ status: 'OK', previous: null }))
    expect(of(serverEvents, 'memoryRisk')).toEqual([])
  })

  it('reports memory crossing into CRITICAL with the reason, and the status turning CRITICAL', async () => {
    const used = Number(/used_memory:(\d+)/.exec(await redis.cli('INFO', 'memory'))![1])
    await redis.cli('CONFIG', 'SET', 'maxmemory', String(Math.round(used / 0.95)))
    const risk = await waitFor(() => of<ServerStatsEvents['memoryRisk']>(serverEvents, 'memoryRisk')[0], {
      what: 'a memoryRisk event',
    })
    expect(risk).toEqual(
      expect.objectContaining({ level: 'CRITICAL', previous: 'OK', warningPercent: 75, criticalPercent: 90 }),
    )
    expect(risk.memoryUsagePercent).toBeGreaterThanOrEqual(90)
    const critical = await waitFor(
      () => of<ServerStatsEvents['status']>(serverEvents, 'status').find((s) => s.status === 'CRITICAL'),
      { what: 'a CRITICAL status event' },
    )
    expect(critical.previous).toBe('OK')
    expect(critical.reasons.join('; ')).toMatch(/^memory [\d.]+% of maxmemory >= 90%$/)
    await redis.cli('CONFIG', 'SET', 'maxmemory', '100mb')
    await waitFor(
      () => of<ServerStatsEvents['memoryRisk']>(serverEvents, 'memoryRisk').at(-1)?.level === 'OK',
      {
        what: 'memory back to OK',
      },
    )
  })

  it('reports the probe failing and the breaker opening when Redis dies, and both recovering', async () => {
    await redis.kill()
    await waitFor(
      () => of<PoolMonitorEventMap['breaker']>(poolEvents, 'breaker').some((b) => b.to === 'open'),
      {
        what: 'the breaker to open',
      },
    )
    expect(of<PoolMonitorEventMap['probe']>(poolEvents, 'probe').some((p) => !p.ok)).toBe(true)
    const down = await waitFor(
      () =>
        of<ServerStatsEvents['status']>(serverEvents, 'status').find(
          (e, i) =>
            i > 0 &&
            e.status === 'CRITICAL' &&
            e.reasons.includes('Redis did not answer the latest collection'),
        ),
      { what: 'a CRITICAL status event for the dead Redis' },
    )
    expect(down.previous).toBe('OK')
    expect(down.reasons).toContain('Redis did not answer the latest collection')
    await redis.restart()
    await waitFor(() => of<PoolMonitorEventMap['breaker']>(poolEvents, 'breaker').at(-1)?.to === 'closed', {
      what: 'the breaker to close',
      timeoutMs: 15_000,
    })
    expect(of<PoolMonitorEventMap['probe']>(poolEvents, 'probe').at(-1)).toEqual(
      expect.objectContaining({ ok: true }),
    )
    await waitFor(() => of<ServerStatsEvents['status']>(serverEvents, 'status').at(-1)?.status === 'OK', {
      what: 'status OK again',
    })
  })

  it('kept sampling although a status listener throws, and logged each throw', async () => {
    const before = stats.history().length
    await waitFor(() => stats.history().length > before || stats.history().length === 100, {
      what: 'more samples',
    })
    const thrown = log.lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'a listener of the status event threw; ignored')
    expect(thrown.length).toBe(of(serverEvents, 'status').length)
    expect(of(poolEvents, 'failover')).toEqual([]) // standalone Redis: no failover
  })
})
