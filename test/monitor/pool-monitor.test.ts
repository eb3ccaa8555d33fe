import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cachedSpellings, MAX_CACHED_SPELLINGS } from '../../src/monitor/command-names.js'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor, PoolMonitorOptions } from '../../src/monitor/types.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { captureLogger, histogramCount, metricValue } from './support.js'

let redis: RedisServer
const open: PoolMonitor[] = []

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()))
})

async function monitor(options: Partial<PoolMonitorOptions> = {}) {
  const registry = options.registry ?? new Registry()
  const { logger, lines } = captureLogger()
  const m = createPoolMonitor({
    redis: { host: redis.host, port: redis.port },
    registry,
    logger,
    size: 4,
    probeIntervalMs: 0,
    ...options,
  })
  open.push(m)
  await waitFor(() => m.stats().idle + m.stats().active === m.stats().max, {
    timeoutMs: 10_000,
    what: 'connections ready',
  })
  return { m, registry, lines }
}

const clientNames = async () =>
  (await redis.cli('CLIENT', 'LIST'))
    .split('\n')
    .map((line) => /name=(\S*)/.exec(line)?.[1])
    .filter((n): n is string => !!n && n.startsWith('rpm:'))

describe('pool monitor against a real redis-server', () => {
  it('opens POOL_SIZE named connections, visible in CLIENT LIST', async () => {
    await monitor({ name: 'orders', size: 5 })
    expect((await clientNames()).sort()).toEqual([
      'rpm:orders:0',
      'rpm:orders:1',
      'rpm:orders:2',
      'rpm:orders:3',
      'rpm:orders:4',
    ])
  })

  it('registers every client-side family on the given registry and none on the global one', async () => {
    const { registry } = await monitor({ name: 'families' })
    const { register } = await import('prom-client')
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name)
    expect([...names].sort()).toEqual([
      'redis_circuit_breaker_state',
      'redis_circuit_breaker_transitions_total',
      'redis_connection_latency_ms',
      'redis_operation_duration_seconds',
      'redis_operation_errors_total',
      'redis_pool_acquire_duration_seconds',
      'redis_pool_active_connections',
      'redis_pool_connection_busy_seconds_total',
      'redis_pool_connection_refusals_total',
      'redis_pool_failovers_total',
      'redis_pool_idle_connections',
      'redis_pool_max_connections',
      'redis_pool_pending_acquires',
      'redis_pool_redirections_total',
      'redis_pool_utilization_percent',
    ])
    expect(register.getMetricsAsArray()).toHaveLength(0)
  })

  it('starts every error type and the breaker at zero, before anything fails', async () => {
    const { registry } = await monitor({ name: 'zeros' })
    for (const type of ['timeout', 'connection', 'reply', 'circuit_open', 'pool_exhausted', 'other']) {
      expect(await metricValue(registry, 'redis_operation_errors_total', { pool: 'zeros', type })).toBe(0)
    }
    expect(await metricValue(registry, 'redis_circuit_breaker_state', { pool: 'zeros' })).toBe(0)
    expect(await metricValue(registry, 'redis_pool_max_connections', { pool: 'zeros' })).toBe(4)
  })

  it('reports as active exactly the connections leased, and the rest as idle', async () => {
    const { m, registry } = await monitor({ name: 'leases', size: 4 })
    const releases: Array<() => void> = []
    const held = Array.from({ length: 3 }, () =>
      m.withConnection(() => new Promise<void>((resolve) => releases.push(resolve))),
    )
    await waitFor(() => releases.length === 3, { what: 'three leases' })
    expect(await metricValue(registry, 'redis_pool_active_connections', { pool: 'leases' })).toBe(3)
    expect(await metricValue(registry, 'redis_pool_idle_connections', { pool: 'leases' })).toBe(1)
    expect(await metricValue(registry, 'redis_pool_utilization_percent', { pool: 'leases' })).toBe(75)
    for (const release of releases) release()
    await Promise.all(held)
    expect(await metricValue(registry, 'redis_pool_active_connections', { pool: 'leases' })).toBe(0)
  })

  it('counts busy connection-seconds up to the scrape: one connection held half a window reads 50 % within 5 %', async () => {
    const { m, registry } = await monitor({ name: 'busy', size: 2 })
    await waitFor(() => m.stats().inFlight === 0, { what: 'an idle pool' })
    const busy = async () => {
      const value = await metricValue(registry, 'redis_pool_connection_busy_seconds_total', { pool: 'busy' })
      return { value: value ?? Number.NaN, at: performance.now() }
    }
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
    const start = await busy()
    // A real command holds the connection: BLPOP on an empty list for 0.6 s.
    const leasedAt = performance.now()
    const held = m.withConnection((client) => client.blpop('busy:never', 0.6))
    await sleep(300)
    // Work still in flight at a scrape is counted up to that scrape.
    const during = await busy()
    expect(during.value - start.value).toBeCloseTo((during.at - leasedAt) / 1000, 1)
    expect((during.value - start.value) / ((during.at - leasedAt) / 1000)).toBeGreaterThan(0.95)
    await held
    const heldSeconds = (performance.now() - leasedAt) / 1000
    await sleep(heldSeconds * 1000)
    const end = await busy()
    const window = (end.at - start.at) / 1000
    // One of two connections held for about half the window: rate over max is about 25 %, the held
    // connection's share 50 %.
    expect(heldSeconds / window).toBeGreaterThan(0.4)
    expect(heldSeconds / window).toBeLessThan(0.6)
    const measured = (end.value - start.value) / window
    expect(Math.abs(measured - heldSeconds / window) / (heldSeconds / window)).toBeLessThan(0.05)
    // The instantaneous gauge, read between uses, shows none of it.
    expect(await metricValue(registry, 'redis_pool_utilization_percent', { pool: 'busy' })).toBe(0)
  })

  it('fills connections one after another, so busy connections follow the load', async () => {
    const { m } = await monitor({ name: 'fill', size: 4, slotsPerConnection: 8 })
    await m.call('set', 'fill', 'v')
    // The start-up probe may still be on the wire on a loaded machine: start from an empty pool.
    await waitFor(() => m.stats().inFlight === 0, { what: 'an idle pool' })
    const inFlight = Array.from({ length: 12 }, () => m.call('get', 'fill'))
    expect(m.stats().active).toBe(2)
    expect(m.stats().inFlight).toBe(12)
    await Promise.all(inFlight)
    expect(m.stats().active).toBe(0)
  })

  it('times every command into the histogram, labelled by lower-case command', async () => {
    const { m, registry } = await monitor({ name: 'timing' })
    const writes = Array.from({ length: 25 }, (_, i) => m.call('SET', `k${i}`, 'v'))
    await Promise.all(writes)
    for (let i = 0; i < 17; i++) await m.call('get', `k${i}`)
    await m.call('MY.UNKNOWN.CMD').catch(() => undefined)
    expect(
      await histogramCount(registry, 'redis_operation_duration_seconds', {
        pool: 'timing',
        command: 'set',
        status: 'ok',
      }),
    ).toBe(25)
    expect(
      await histogramCount(registry, 'redis_operation_duration_seconds', {
        pool: 'timing',
        command: 'get',
        status: 'ok',
      }),
    ).toBe(17)
    expect(
      await histogramCount(registry, 'redis_operation_duration_seconds', {
        pool: 'timing',
        command: 'other',
        status: 'error',
      }),
    ).toBe(1)
    expect(await histogramCount(registry, 'redis_operation_duration_seconds', { pool: 'timing' })).toBe(43)
    const text = await registry.metrics()
    expect(text).toContain('# TYPE redis_operation_duration_seconds histogram')
    expect(text).toContain(
      'redis_operation_duration_seconds_bucket{pool="timing",command="get",status="ok",le="+Inf"} 17',
    )
    expect(text).toContain(
      'redis_operation_duration_seconds_count{pool="timing",command="set",status="ok"} 25',
    )
  })

  it('labels the 1025th distinct spelling of a command like the first, and the label cache remembers at most 1024 spellings', async () => {
    const { m, registry } = await monitor({ name: 'spellings' })
    // 1100 spellings of HINCRBYFLOAT none used before (case masks 1..1100 of its 12 letters):
    // whatever this file sent earlier, the label cache passes its cap of 1024 on the way.
    const spell = (mask: number) =>
      [...'hincrbyfloat'].map((c, i) => (mask & (1 << i) ? c.toUpperCase() : c)).join('')
    const spellings = Array.from({ length: 1100 }, (_, i) => spell(i + 1))
    expect(new Set(spellings).size).toBe(1100)
    expect(cachedSpellings()).toBeLessThan(MAX_CACHED_SPELLINGS)
    for (let i = 0; i < spellings.length; i += 100) {
      await Promise.all(spellings.slice(i, i + 100).map((s) => m.call(s, 'spelled', 'field', 1)))
    }
    expect(cachedSpellings()).toBe(1024)
    // Every call, the ones past the cap included, carries the command's own label.
    expect(await redis.cli('HGET', 'spelled', 'field')).toBe('1100\n')
    expect(
      await histogramCount(registry, 'redis_operation_duration_seconds', {
        pool: 'spellings',
        command: 'hincrbyfloat',
        status: 'ok',
      }),
    ).toBe(1100)
    // A name past the cap outside the allow-list is still other, and still not remembered.
    await m.call('NOT.A.COMMAND').catch(() => undefined)
    expect(
      await histogramCount(registry, 'redis_operation_duration_seconds', {
        pool: 'spellings',
        command: 'other',
        status: 'error',
      }),
    ).toBe(1)
    expect(await histogramCount(registry, 'redis_operation_duration_seconds', { pool: 'spellings' })).toBe(
      1101,
    )
    expect(cachedSpellings()).toBe(1024)
  })

  it('times a pipeline and a transaction as one operation each', async () => {
    const { m, registry } = await monitor({ name: 'batch' })
    const piped = await m.pipeline([
      ['set', 'p1', '1'],
      ['incr', 'p1'],
    ])
    expect(piped).toEqual([
      [null, 'OK'],
      [null, 2],
    ])
    const tx = await m.multi([
      ['incr', 'p1'],
      ['get', 'p1'],
    ])
    expect(tx).toEqual([
      [null, 3],
      [null, '3'],
    ])
    expect(
      await histogramCount(registry, 'redis_operation_duration_seconds', {
        pool: 'batch',
        command: 'pipeline',
      }),
    ).toBe(1)
    expect(
      await histogramCount(registry, 'redis_operation_duration_seconds', { pool: 'batch', command: 'multi' }),
    ).toBe(1)
  })

  it('keeps blocking commands out of the latency histogram', async () => {
    const { m, registry } = await monitor({ name: 'blocking' })
    await m.call('rpush', 'queue', 'job')
    expect(await m.call('blpop', 'queue', 1)).toEqual(['queue', 'job'])
    expect(
      await histogramCount(registry, 'redis_operation_duration_seconds', {
        pool: 'blocking',
        command: 'blpop',
      }),
    ).toBe(0)
  })

  it('counts WRONGTYPE as a reply error, and reply errors never open the breaker', async () => {
    const { m, registry } = await monitor({ name: 'reply', breaker: { minimumCalls: 2 } })
    await m.call('set', 'str', 'v')
    for (let i = 0; i < 30; i++) {
      await expect(m.call('lpush', 'str', 'x')).rejects.toMatchObject({
        code: 'RPM_REPLY',
        message: expect.stringContaining('WRONGTYPE'),
      })
    }
    expect(
      await metricValue(registry, 'redis_operation_errors_total', { pool: 'reply', type: 'reply' }),
    ).toBe(30)
    expect(m.breakerState()).toBe('closed')
    expect(
      await metricValue(registry, 'redis_circuit_breaker_transitions_total', {
        pool: 'reply',
        from: 'closed',
        to: 'open',
      }),
    ).toBe(0)
  })

  it('fails with pool_exhausted when no slot frees within the acquire timeout', async () => {
    const { m, registry } = await monitor({ name: 'exhausted', size: 2, acquireTimeoutMs: 200 })
    const releases: Array<() => void> = []
    const held = Array.from({ length: 2 }, () =>
      m.withConnection(() => new Promise<void>((r) => releases.push(r))),
    )
    await waitFor(() => releases.length === 2, { what: 'every connection leased' })
    const waiting = m.call('get', 'x')
    expect(m.stats().pending).toBe(1)
    await expect(waiting).rejects.toMatchObject({ code: 'RPM_POOL_EXHAUSTED' })
    expect(
      await metricValue(registry, 'redis_operation_errors_total', {
        pool: 'exhausted',
        type: 'pool_exhausted',
      }),
    ).toBe(1)
    expect(m.breakerState()).toBe('closed')
    for (const release of releases) release()
    await Promise.all(held)
    expect(await m.call('ping')).toBe('PONG')
  })

  it('shows a waiting call in redis_pool_pending_acquires and its wait in redis_pool_acquire_duration_seconds', async () => {
    const { m, registry } = await monitor({ name: 'waiting', size: 1, acquireTimeoutMs: 10_000 })
    const labels = { pool: 'waiting' }
    const countBefore = await histogramCount(registry, 'redis_pool_acquire_duration_seconds', labels)
    const sumBefore = (await metricValue(registry, 'redis_pool_acquire_duration_seconds_sum', labels)) ?? 0
    let release: () => void = () => {}
    const held = m.withConnection(() => new Promise<void>((r) => (release = r)))
    await waitFor(() => m.stats().active === 1, { what: 'the connection leased' })
    expect(await metricValue(registry, 'redis_pool_pending_acquires', labels)).toBe(0)
    const waiting = m.call('ping')
    expect(await metricValue(registry, 'redis_pool_pending_acquires', labels)).toBe(1)
    const heldMs = 300
    await new Promise((r) => setTimeout(r, heldMs))
    release()
    await held
    expect(await waiting).toBe('PONG')
    expect(await metricValue(registry, 'redis_pool_pending_acquires', labels)).toBe(0)
    // The lease and the waiting call each acquired once; the call waited at least as long as it was held.
    expect(await histogramCount(registry, 'redis_pool_acquire_duration_seconds', labels)).toBe(
      countBefore + 2,
    )
    const waited =
      ((await metricValue(registry, 'redis_pool_acquire_duration_seconds_sum', labels)) ?? 0) - sumBefore
    expect(waited).toBeGreaterThanOrEqual((heldMs - 20) / 1000)
  })

  it('refuses commands that would change a shared connection, pointing at withConnection', async () => {
    const { m } = await monitor({ name: 'stateful' })
    await expect(m.call('select', 1)).rejects.toMatchObject({ code: 'RPM_UNSUPPORTED_COMMAND' })
    const watched = await m.withConnection(async (client) => {
      await client.watch('w')
      const result = await client.multi().set('w', '1').exec()
      return result
    })
    expect(watched).toEqual([[null, 'OK']])
  })

  it('is not ready when PING is answered with anything but PONG (a peer answering +OK to everything)', async () => {
    const { createServer } = await import('node:net')
    const peer = createServer((socket) => {
      socket.on('data', (chunk) => {
        // One +OK per command received (each starts with a RESP array header).
        const commands = chunk.toString('latin1').match(/(^|\r\n)\*\d+\r\n/g)?.length ?? 1
        socket.write('+OK\r\n'.repeat(commands))
      })
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve))
    const port = (peer.address() as { port: number }).port
    try {
      const { m } = await monitor({ name: 'okpeer', redis: { host: '127.0.0.1', port }, size: 1 })
      const result = await m.probe()
      expect(result.ok).toBe(false)
      expect(result.error).toBe('other: PING was answered with "OK", not PONG')
      expect(m.health()).toMatchObject({ ready: false })
    } finally {
      await Promise.all(open.splice(0).map((x) => x.close()))
      peer.close()
    }
  })

  it('sets the connection latency and readiness from the probe', async () => {
    const { m, registry } = await monitor({ name: 'probe' })
    expect(m.health()).toMatchObject({ ready: false, reason: 'no probe has completed yet' })
    const result = await m.probe()
    expect(result.ok).toBe(true)
    expect(m.health()).toMatchObject({ ready: true, reason: undefined, breaker: 'closed' })
    expect(await metricValue(registry, 'redis_connection_latency_ms', { pool: 'probe' })).toBe(
      result.latencyMs,
    )
  })

  it('lets two monitors share a registry, each counting only its own operations', async () => {
    const registry = new Registry()
    const a = await monitor({ name: 'a', registry })
    const b = await monitor({ name: 'b', registry })
    for (let i = 0; i < 5; i++) await a.m.call('get', 'x')
    for (let i = 0; i < 3; i++) await b.m.call('get', 'x')
    expect(await histogramCount(registry, 'redis_operation_duration_seconds', { pool: 'a' })).toBe(5)
    expect(await histogramCount(registry, 'redis_operation_duration_seconds', { pool: 'b' })).toBe(3)
    expect(() =>
      createPoolMonitor({ name: 'a', registry, redis: {}, logger: captureLogger().logger }),
    ).toThrow(/already registered/)
  })

  it('quits every connection on close and refuses calls afterwards', async () => {
    const { m } = await monitor({ name: 'closing', size: 3 })
    const ours = async () => (await clientNames()).filter((n) => n.startsWith('rpm:closing:')).sort()
    // Connected eagerly: all three are there before any call.
    await waitFor(async () => (await ours()).length === 3, { what: 'three connections' })
    expect(await ours()).toEqual(['rpm:closing:0', 'rpm:closing:1', 'rpm:closing:2'])
    await m.close()
    await waitFor(async () => !(await clientNames()).some((n) => n.startsWith('rpm:closing:')), {
      what: 'connections gone',
    })
    await expect(m.call('get', 'x')).rejects.toMatchObject({ code: 'RPM_POOL_CLOSED' })
  })
})
