import { performance } from 'node:perf_hooks'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { BreakerState, PoolMonitor } from '../../src/monitor/types.js'
import { freePort, type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { captureLogger, histogramCount, metricValue } from './support.js'

let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  redis?.resume()
  await redis?.stop()
})

function setup(name: string) {
  const registry = new Registry()
  const { logger, lines } = captureLogger()
  const transitions: Array<[BreakerState, BreakerState]> = []
  const m = createPoolMonitor({
    name,
    redis: { host: redis.host, port: redis.port },
    registry,
    logger,
    size: 4,
    probeIntervalMs: 250,
    commandTimeoutMs: 500,
    acquireTimeoutMs: 300,
    breaker: { resetTimeoutMs: 2_000 },
    events: { breakerTransition: (from, to) => transitions.push([from, to]) },
  })
  return { m, registry, lines, transitions }
}

/** Keeps `concurrency` callers busy until stopped; records what every call ended with. */
function load(m: PoolMonitor, concurrency: number) {
  let running = true
  const outcomes = { ok: 0, errors: new Map<string, number>() }
  const workers = Array.from({ length: concurrency }, async (_, w) => {
    while (running) {
      try {
        await m.call(w % 2 ? 'get' : 'set', `load:${w}`, ...(w % 2 ? [] : ['v']))
        outcomes.ok++
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'none'
        outcomes.errors.set(code, (outcomes.errors.get(code) ?? 0) + 1)
        // A failing call must not spin the loop hot: errors come back at once when the breaker is open.
        await new Promise((r) => setTimeout(r, 5))
      }
    }
  })
  return {
    outcomes,
    stop: async () => {
      running = false
      await Promise.all(workers)
    },
  }
}

describe('faults against a real redis-server', () => {
  it('SIGKILL with no traffic: probes alone open the breaker within 5 s, the latency gauge goes absent, one log line per change', async () => {
    const { m, registry, lines, transitions } = setup('idle-kill')
    const latency = () => metricValue(registry, 'redis_connection_latency_ms', { pool: 'idle-kill' })
    await waitFor(async () => (await m.probe()).ok, { what: 'first probe' })
    // Present while the probe answers (its value, from whichever probe ran last, is checked in pool-monitor.test.ts).
    expect(await latency()).toBeTypeOf('number')
    await redis.kill()
    const killedAt = Date.now()
    await waitFor(() => m.breakerState() === 'open', { timeoutMs: 5_000, what: 'breaker open' })
    expect(Date.now() - killedAt).toBeLessThan(5_000)
    expect(transitions).toEqual([['closed', 'open']])
    expect(m.health()).toMatchObject({ ready: false })
    // Absent while the probe fails (unknown), not the last value from before the kill.
    expect(await latency()).toBeUndefined()
    await redis.restart()
    await waitFor(() => m.breakerState() === 'closed', { timeoutMs: 15_000, what: 'breaker closed again' })
    expect(transitions).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
      ['half_open', 'closed'],
    ])
    await waitFor(() => m.health().ready, { timeoutMs: 5_000, what: 'ready again' })
    // src/monitor/README: one line per breaker transition and per probe ok/failed flip, however
    // many probes failed in between (one every 250 ms while Redis was down).
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg)
    expect(messages.filter((msg) => msg === 'redis probe failed')).toHaveLength(1)
    expect(messages.filter((msg) => msg === 'redis probe succeeded')).toHaveLength(1)
    expect(messages.filter((msg) => msg.startsWith('circuit breaker '))).toEqual([
      'circuit breaker opened: calls fail fast until Redis answers again',
      'circuit breaker half-open',
      'circuit breaker closed',
    ])
    await m.close()
  })

  it('SIGKILL under load: calls fail fast with circuit_open, then half-open and closed within 15 s of restart', async () => {
    const { m, registry, lines, transitions } = setup('load-kill')
    await waitFor(async () => (await m.probe()).ok, { what: 'first probe' })
    const traffic = load(m, 32)
    await waitFor(() => traffic.outcomes.ok > 200, { what: 'traffic flowing' })
    await redis.kill()
    await waitFor(() => m.breakerState() === 'open', { timeoutMs: 5_000, what: 'breaker open' })

    // While open: refused without a socket, so no call waits for a timeout.
    const refusedBefore = traffic.outcomes.errors.get('RPM_CIRCUIT_OPEN') ?? 0
    await waitFor(() => (traffic.outcomes.errors.get('RPM_CIRCUIT_OPEN') ?? 0) > refusedBefore + 100, {
      what: 'fast refusals',
    })
    await expect(m.call('get', 'x')).rejects.toMatchObject({ code: 'RPM_CIRCUIT_OPEN' })
    expect(
      await metricValue(registry, 'redis_operation_errors_total', { pool: 'load-kill', type: 'connection' }),
    ).toBeGreaterThan(0)
    expect(
      await metricValue(registry, 'redis_operation_errors_total', {
        pool: 'load-kill',
        type: 'circuit_open',
      }),
    ).toBeGreaterThan(100)
    expect(await metricValue(registry, 'redis_circuit_breaker_state', { pool: 'load-kill' })).toBe(2)

    await redis.restart()
    const restartedAt = Date.now()
    await waitFor(() => m.breakerState() === 'closed', { timeoutMs: 15_000, what: 'breaker closed' })
    expect(Date.now() - restartedAt).toBeLessThan(15_000)
    expect(transitions.slice(-2)).toEqual([
      ['open', 'half_open'],
      ['half_open', 'closed'],
    ])
    const okBefore = traffic.outcomes.ok
    await waitFor(() => traffic.outcomes.ok > okBefore + 100, { what: 'traffic flowing again' })
    await traffic.stop()

    // The counter holds exactly the transitions the machine made (a trial under load may reopen it).
    for (const [from, to] of [
      ['closed', 'open'],
      ['open', 'half_open'],
      ['half_open', 'closed'],
      ['half_open', 'open'],
    ] as const) {
      expect(
        await metricValue(registry, 'redis_circuit_breaker_transitions_total', {
          pool: 'load-kill',
          from,
          to,
        }),
        `${from} -> ${to}`,
      ).toBe(transitions.filter(([f, t]) => f === from && t === to).length)
    }
    // One log line per state change, never one per failed command.
    const breakerLines = lines.filter((l) => l.includes('circuit breaker'))
    expect(breakerLines.length).toBe(transitions.length)
    expect(lines.length).toBeLessThan(50)
    await m.close()
  })

  it('SIGSTOP: a call, a pipeline and a leased command fail with a timeout no sooner than commandTimeoutMs and within the sweep granularity after it', async () => {
    const { m } = setup('sweep')
    await waitFor(async () => (await m.probe()).ok, { what: 'first probe' })
    // commandTimeoutMs 500: the sweep runs every 500 / 8 = 63 ms. The upper bound adds a second of
    // slack for a loaded machine; the lower bound is exact (never before commandTimeoutMs).
    const outcome = async (op: Promise<unknown>) => {
      const started = performance.now()
      const err = await op.then(
        () => undefined,
        (e: unknown) => e,
      )
      return { err, ms: performance.now() - started }
    }
    redis.pause()
    try {
      const [call, pipeline, leased] = await Promise.all([
        outcome(m.call('get', 'frozen')),
        outcome(m.pipeline([['get', 'frozen']])),
        outcome(m.withConnection((client) => client.get('frozen'))),
      ])
      expect(call.err).toMatchObject({ code: 'RPM_COMMAND_TIMEOUT' })
      expect(pipeline.err).toMatchObject({ code: 'RPM_COMMAND_TIMEOUT' })
      // A lease hands out the raw client: ioredis' own commandTimeout is on for the lease.
      expect(leased.err).toMatchObject({ message: 'Command timed out' })
      for (const { ms } of [call, pipeline, leased]) {
        expect(ms).toBeGreaterThanOrEqual(499)
        expect(ms).toBeLessThan(500 + 63 * 2 + 1_000)
      }
    } finally {
      redis.resume()
    }
    await waitFor(async () => (await m.probe()).ok, { timeoutMs: 15_000, what: 'probe ok after SIGCONT' })
    await m.close()
  })

  it('close() resolves while Redis is frozen (SIGSTOP) with a probe PING in flight: each QUIT is given up after QUIT_TIMEOUT_MS and its socket dropped', async () => {
    const { m } = setup('frozen-close')
    await waitFor(async () => (await m.probe()).ok, { what: 'first probe' })
    const pooled = async () =>
      (await redis.cli('CLIENT', 'LIST')).split('\n').filter((l) => l.includes('name=rpm:frozen-close:'))
        .length
    expect(await pooled()).toBe(4)
    redis.pause()
    let closed: unknown
    // A PING sent to the frozen server: close() stops the sweep that would time it out.
    const probing = m.probe()
    try {
      // Without the bound, QUIT waits for an answer that never comes and close() never settles.
      closed = await m.close().then(
        () => 'closed',
        (err: unknown) => err,
      )
    } finally {
      redis.resume()
    }
    expect(closed).toBe('closed')
    expect(await probing).toMatchObject({ ok: false })
    // The sockets were dropped, not left open: once Redis runs again it sees them gone.
    await waitFor(async () => (await pooled()) === 0, { what: 'the pool connections to be gone' })
  }, 20_000)

  it('answers every one of many concurrent calls with its own reply when writes are coalesced', async () => {
    const { m, registry } = setup('coalesce')
    await waitFor(async () => (await m.probe()).ok, { what: 'first probe' })
    const n = 500
    await Promise.all(Array.from({ length: n }, (_, i) => m.call('set', `co:${i}`, `v${i}`)))
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => m.call('get', `co:${i}`)))
    expect(replies).toEqual(Array.from({ length: n }, (_, i) => `v${i}`))
    expect(await histogramCount(registry, 'redis_operation_duration_seconds', { pool: 'coalesce' })).toBe(
      2 * n,
    )
    await m.close()
  })

  it('SIGSTOP: every timeout a caller sees is counted once, the breaker opens, and queued work stays bounded', async () => {
    const { m, registry } = setup('stop')
    await waitFor(async () => (await m.probe()).ok, { what: 'first probe' })
    const traffic = load(m, 64)
    await waitFor(() => traffic.outcomes.ok > 200, { what: 'traffic flowing' })
    redis.pause()
    try {
      let peakInFlight = 0
      let peakPending = 0
      await waitFor(
        () => {
          const s = m.stats()
          peakInFlight = Math.max(peakInFlight, s.inFlight)
          peakPending = Math.max(peakPending, s.pending)
          return m.breakerState() === 'open'
        },
        { timeoutMs: 10_000, intervalMs: 10, what: 'breaker open' },
      )
      // Keep sampling for a while in the open state: nothing accumulates while Redis stays frozen.
      const until = Date.now() + 1_500
      while (Date.now() < until) {
        const s = m.stats()
        peakInFlight = Math.max(peakInFlight, s.inFlight)
        peakPending = Math.max(peakPending, s.pending)
        await new Promise((r) => setTimeout(r, 10))
      }
      // inFlight counts replies the sockets still owe, timed-out commands included: 4 connections x
      // 32 slots (+1 probe each) and at most the 64 callers waiting, bounded by design, not by luck.
      expect(peakInFlight).toBeGreaterThanOrEqual(1)
      expect(peakInFlight).toBeLessThanOrEqual(4 * 33)
      expect(peakPending).toBeLessThanOrEqual(64)
      expect(m.health().ready).toBe(false)
    } finally {
      redis.resume()
    }
    await traffic.stop()
    // Every timeout a caller saw is counted once (the probe's own failures are not operations).
    const timedOut = traffic.outcomes.errors.get('RPM_COMMAND_TIMEOUT') ?? 0
    expect(timedOut).toBeGreaterThanOrEqual(1)
    expect(
      await metricValue(registry, 'redis_operation_errors_total', { pool: 'stop', type: 'timeout' }),
    ).toBe(timedOut)
    await waitFor(() => m.breakerState() === 'closed', {
      timeoutMs: 15_000,
      what: 'breaker closed after SIGCONT',
    })
    await m.close()
  })
})

describe('no Redis at all', () => {
  it('fails calls with RPM_CONNECTION while every connection is down and reconnecting, without waiting out the acquire timeout', async () => {
    const port = await freePort() // nothing listens there: every connect is refused
    const registry = new Registry()
    const m = createPoolMonitor({
      name: 'nobody',
      redis: { host: '127.0.0.1', port },
      registry,
      logger: captureLogger().logger,
      size: 2,
      probeIntervalMs: 0,
      acquireTimeoutMs: 60_000,
    })
    try {
      for (let i = 0; i < 3; i++) {
        const started = performance.now()
        await expect(m.call('get', 'k')).rejects.toMatchObject({ code: 'RPM_CONNECTION' })
        // src/redis/README: at once, not after acquireTimeoutMs (a sixth of it leaves room for load).
        expect(performance.now() - started).toBeLessThan(10_000)
      }
      expect(
        await metricValue(registry, 'redis_operation_errors_total', { pool: 'nobody', type: 'connection' }),
      ).toBe(3)
      expect(
        await metricValue(registry, 'redis_operation_errors_total', {
          pool: 'nobody',
          type: 'pool_exhausted',
        }),
      ).toBe(0)
    } finally {
      await m.close()
    }
  })
})

describe('Redis refusing pool connections at maxclients', () => {
  let full: RedisServer
  const holders: Array<import('ioredis').Redis> = []
  beforeAll(async () => {
    const { Redis } = await import('ioredis')
    full = await startRedis({ args: ['--maxclients', '3'] })
    for (let i = 0; i < 3; i++) {
      const holder = new Redis({
        host: full.host,
        port: full.port,
        lazyConnect: true,
        retryStrategy: () => null,
      })
      holder.on('error', () => {})
      await holder.connect()
      holders.push(holder)
    }
  })
  afterAll(async () => {
    for (const holder of holders) holder.disconnect()
    await full?.stop()
  })

  it('logs the refusal once, counts every one, backs off, and logs once when Redis accepts again', async () => {
    const { createConnection, MAXCLIENTS_EVENT } = await import('../../src/redis/connection.js')
    // The connection's own policy: after a refusal its next delay is at least the maxclients base.
    const single = createConnection({ redis: { host: full.host, port: full.port }, pool: 'mc', index: 0 })
    single.on('error', () => {})
    const retry = single.options.retryStrategy as (attempt: number) => number
    expect(retry(1)).toBeLessThan(1_000)
    await new Promise<void>((resolve) => single.once(MAXCLIENTS_EVENT, () => resolve()))
    expect(retry(1)).toBeGreaterThanOrEqual(1_000)
    single.disconnect()

    const registry = new Registry()
    const { logger, lines } = captureLogger()
    const m = createPoolMonitor({
      name: 'maxclients',
      redis: { host: full.host, port: full.port },
      registry,
      logger,
      size: 2,
      probeIntervalMs: 0,
    })
    try {
      const refusals = async () =>
        (await metricValue(registry, 'redis_pool_connection_refusals_total', { pool: 'maxclients' })) ?? 0
      await waitFor(async () => (await refusals()) >= 2, { timeoutMs: 20_000, what: 'two refusals counted' })
      const said = (text: string) => lines.filter((l) => l.includes(text)).length
      expect(said('Redis refuses pool connections: max number of clients reached')).toBe(1)
      for (const holder of holders.splice(0)) holder.disconnect()
      await waitFor(() => said('Redis accepts pool connections again') === 1, {
        timeoutMs: 40_000,
        what: 'the pool to connect once slots are free',
      })
      expect(said('Redis refuses pool connections: max number of clients reached')).toBe(1)
    } finally {
      await m.close()
    }
  }, 70_000)
})
