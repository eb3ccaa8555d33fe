import assert from 'node:assert'
import { performance } from 'node:perf_hooks'
import type { Redis } from 'ioredis'
import {
  ConnectionError,
  CrossSlotError,
  ErrorType,
  PoolClosedError,
  UnsupportedCommandError,
} from '../errors.js'
import { createClusterTopology } from '../redis/cluster-topology.js'
import { closeClient, createConnection, MAX_REPLY_BYTES, MAXCLIENTS_EVENT } from '../redis/connection.js'
import { formatHostPort } from '../redis/endpoint.js'
import { coalesceWrites, type MultiplexPool, type PooledConnection } from '../redis/multiplex-pool.js'
import { isRedirection, replyCode } from '../redis/reply-error.js'
import {
  createSentinelTopology,
  isSentinelOptions,
  type SentinelTopology,
} from '../redis/sentinel-topology.js'
import { Command, createTimeoutSweep, setLeaseTimeout } from '../redis/timeout-sweep.js'
import { createStandaloneTopology, type PoolTopology, type Redirect } from '../redis/topology.js'
import { createBreaker } from './breaker.js'
import { classifyError, redact, toPublicError } from './classify.js'
import {
  changesConnectionState,
  commandLabel,
  isBlocking,
  MAX_CACHED_SPELLINGS,
  mayBlock,
} from './command-names.js'
import { createEventHub } from './events.js'
import type { Observe } from './fast-histogram.js'
import { poolFamilies } from './metrics.js'
import type {
  BreakerState,
  PipelineResult,
  PoolMonitor,
  PoolMonitorEventMap,
  PoolMonitorHealth,
  PoolMonitorOptions,
  PoolStats,
  ProbeResult,
  RedisArg,
  RedisCommand,
  TopologyNode,
} from './types.js'

/** The sweep runs this many times per commandTimeoutMs: the timeout's granularity. */
const SWEEP_DIVISOR = 8

/** MOVED/ASK hops one operation may follow (ioredis' Cluster allows 16; a healthy resharding needs 1 or 2). */
const MAX_REDIRECTIONS = 5

/** An operation's send on an acquired connection; `asking` precedes it with ASKING (an ASK redirect). */
type Send<T> = (conn: PooledConnection, startedAt: number, asking: boolean) => Promise<T>

/**
 * A pool of real ioredis connections to one Redis, instrumented: every operation is timed into
 * redis_operation_duration_seconds, every failure is classified into redis_operation_errors_total,
 * a PING probe keeps redis_connection_latency_ms and readiness current, and a circuit breaker
 * fails calls fast while Redis is down. See src/monitor/README.md for why it is built this way.
 */
export function createPoolMonitor(options: PoolMonitorOptions): PoolMonitor {
  const name = options.name ?? 'default'
  const size = options.size ?? 10
  const probeIntervalMs = options.probeIntervalMs ?? 5_000
  const commandTimeoutMs = options.commandTimeoutMs ?? 2_000
  const acquireTimeoutMs = options.acquireTimeoutMs ?? 1_000
  const slotsPerConnection = options.slotsPerConnection ?? 32
  const coalesce = options.coalesceWrites ?? true
  const now = options.now ?? Date.now
  const events = options.events ?? {}
  assert(options.registry, 'a prom-client Registry is required (never the global one)')
  assert(options.logger, 'a pino logger is required')
  assert(Number.isInteger(size) && size >= 1, 'size must be an integer >= 1')
  assert(probeIntervalMs >= 0, 'probeIntervalMs must be >= 0 (0 disables the probe)')
  assert(commandTimeoutMs > 0, 'commandTimeoutMs must be > 0')
  const maxReplyBytes = options.maxReplyBytes ?? MAX_REPLY_BYTES
  assert(
    Number.isSafeInteger(maxReplyBytes) && maxReplyBytes >= 0,
    'maxReplyBytes must be an integer >= 0 (0: no cap)',
  )

  const families = poolFamilies(options.registry)
  assert(
    ![...families.sources].some((s) => s.name === name),
    `a pool named ${name} is already registered on this registry`,
  )
  const log = options.logger.child({ pool: name })
  const hub = createEventHub<PoolMonitorEventMap>(log)
  /** Every connection opened and not ended, for updateCredentials(). */
  const live = new Set<Redis>()
  const secrets = [
    options.redis.password,
    options.redis.username,
    (options.redis as { sentinelPassword?: string }).sentinelPassword,
  ].filter((s): s is string => typeof s === 'string' && s.length > 0)

  // The topology is chosen once, here: everything below asks it where an operation goes.
  const cluster = options.cluster === true ? {} : options.cluster || undefined
  const sentinel: SentinelTopology | undefined =
    !cluster && isSentinelOptions(options.redis)
      ? createSentinelTopology({
          redis: options.redis,
          size,
          connect: (redis, index) =>
            watch(createConnection({ redis, pool: name, index, maxReplyBytes }), index),
          slotsPerConnection,
          acquireTimeoutMs,
          name,
          refreshIntervalMs: probeIntervalMs || 5_000,
          logger: log,
          readFromReplicas: options.sentinel?.readFromReplicas === true,
          onFailover: (from, to) => onFailover(formatHostPort(from), formatHostPort(to)),
        })
      : undefined
  const topology: PoolTopology = cluster
    ? createClusterTopology({
        seed: { host: options.redis.host ?? '127.0.0.1', port: options.redis.port ?? 6379 },
        nodeOptions: cluster.nodeOptions ?? ((node) => ({ ...options.redis, ...node })),
        connect: (redis, label) =>
          watch(createConnection({ redis, pool: name, index: label, maxReplyBytes }), label),
        size,
        slotsPerConnection,
        acquireTimeoutMs,
        name,
        refreshIntervalMs: cluster.refreshIntervalMs ?? (probeIntervalMs || 5_000),
        readFromReplicas: cluster.readFromReplicas === true,
        commandTimeoutMs,
        ...(options.redis.keyPrefix !== undefined ? { keyPrefix: options.redis.keyPrefix } : {}),
        logger: log,
      })
    : (sentinel ??
      createStandaloneTopology({
        size,
        connect: (index) =>
          watch(createConnection({ redis: options.redis, pool: name, index, maxReplyBytes }), index),
        slotsPerConnection,
        acquireTimeoutMs,
        name,
      }))
  const connections = topology.connections
  // One timer per pool instead of one per command: a command fails with a timeout between
  // commandTimeoutMs and commandTimeoutMs + sweepIntervalMs after it was sent (plus event-loop lag).
  const sweepIntervalMs = Math.max(1, Math.ceil(commandTimeoutMs / SWEEP_DIVISOR))
  const sweep = createTimeoutSweep({
    connections,
    timeoutMs: commandTimeoutMs,
    intervalMs: sweepIntervalMs,
  })
  const friendlyStacks = options.redis.showFriendlyErrorStack === true
  // What ioredis' own client.call() passes to a Command; the same for every connection.
  const sendOptions = { replyEncoding: 'utf8' as const, keyPrefix: options.redis.keyPrefix }
  // ioredis' client.callBuffer(): bulk replies stay Buffers.
  const bufferSendOptions = { replyEncoding: null, keyPrefix: options.redis.keyPrefix }

  let closed = false
  let lastProbe: ProbeResult | undefined
  let lastConnectionError: string | undefined

  const breaker = createBreaker(options.breaker ?? {}, {
    now,
    onTransition(from, to) {
      families.breakerTransitions.inc({ pool: name, from, to })
      if (to === 'open')
        log.warn({ from, to }, 'circuit breaker opened: calls fail fast until Redis answers again')
      else log.info({ from, to }, `circuit breaker ${to === 'closed' ? 'closed' : 'half-open'}`)
      notify(() => events.breakerTransition?.(from, to))
      hub.emit('breaker', { from, to, at: new Date(now()).toISOString() })
    },
  })

  // Pre-bound label sets: the hot path never builds a label object.
  const errorCounters = Object.fromEntries(
    Object.values(ErrorType).map((type) => [type, () => families.operationErrors.inc({ pool: name, type })]),
  ) as Record<ErrorType, () => void>
  const observeAcquire = families.acquireDuration.child({ pool: name })
  const redirections = {
    moved: () => families.redirections.inc({ pool: name, type: 'moved' }),
    ask: () => families.redirections.inc({ pool: name, type: 'ask' }),
  }
  const operationObservers = new Map<string, { ok: Observe; error: Observe }>()
  function observers(label: string) {
    let pair = operationObservers.get(label)
    if (pair === undefined) {
      pair = {
        ok: families.operationDuration.child({ pool: name, command: label, status: 'ok' }),
        error: families.operationDuration.child({ pool: name, command: label, status: 'error' }),
      }
      operationObservers.set(label, pair)
    }
    return pair
  }

  // What call() needs to know about a command name, worked out once per spelling: the label, its
  // bound observers, and whether it may block or changes connection state.
  interface Route {
    label: string
    ok: Observe
    error: Observe
    /** Blocking or connection-state command: not on the shared fast path. */
    special: boolean
  }
  const routes = new Map<string, Route>()
  function routeOf(command: string): Route {
    let route = routes.get(command)
    if (route === undefined) {
      const label = commandLabel(command)
      route = { label, ...observers(label), special: mayBlock(command) || changesConnectionState(command) }
      // Bounded like commandLabel's cache: callers inventing names cannot grow it.
      if (routes.size < MAX_CACHED_SPELLINGS) routes.set(command, route)
    }
    return route
  }

  const stats = (): PoolStats => {
    const s = topology.stats()
    return { ...s, utilizationPercent: (s.active / s.max) * 100 }
  }
  const detachMetrics = families.attach({
    name,
    stats,
    breakerState: () => breaker.state(),
    latencyMs: () => (lastProbe?.ok ? lastProbe.latencyMs : undefined),
  })

  function notify(hook: () => void): void {
    try {
      hook()
    } catch (err) {
      log.error({ err }, 'a pool monitor event hook threw')
    }
  }

  // A failover: the failures the breaker counted were the old master's, and the new one is probed
  // as soon as a connection reaches it instead of at the next tick.
  let probeOnReady = false
  function onFailover(from: string, to: string): void {
    families.failovers.inc({ pool: name })
    breaker.onEndpointChange()
    probeOnReady = true
    notify(() => events.failover?.(from, to))
    hub.emit('failover', { from, to, at: new Date(now()).toISOString() })
  }

  // Connection events: one debug line per connection state change, never one per retry. The
  // error listener is required anyway: an ioredis client without one crashes the process.
  // (A function declaration: the topology opens connections before the state below exists; the
  // listeners only read it once events arrive.)
  // Redis at maxclients: one line when it starts refusing, one when it accepts again, a count of
  // every refusal; the connection itself backs off (MAXCLIENTS_BACKOFF).
  let refusedAtMaxclients = false
  function watch(client: Redis, index: number | string): Redis {
    live.add(client)
    client.once('end', () => live.delete(client))
    client.on(MAXCLIENTS_EVENT, () => {
      families.connectionRefusals.inc({ pool: name })
      if (refusedAtMaxclients) return
      refusedAtMaxclients = true
      log.warn(
        { connection: index },
        'Redis refuses pool connections: max number of clients reached; reconnecting with backoff up to 30 s',
      )
    })
    let up = false
    client.on('error', (err: Error) => {
      lastConnectionError = redact(err.message, secrets)
    })
    client.on('ready', () => {
      if (!up) log.debug({ connection: index }, 'redis connection ready')
      up = true
      if (refusedAtMaxclients) {
        refusedAtMaxclients = false
        log.info({ connection: index }, 'Redis accepts pool connections again')
      }
      // A connection coming back after a failed probe: check now rather than at the next tick.
      if (((lastProbe && !lastProbe.ok) || probeOnReady) && !closed) {
        probeOnReady = false
        scheduleProbe(0)
      }
    })
    client.on('close', () => {
      if (up) log.debug({ connection: index }, 'redis connection lost')
      up = false
    })
    return client
  }

  /** Counts the failure, feeds the breaker and returns the error the caller sees. */
  function fail(err: unknown, command: string, route: Route | undefined, startedAt: number): Error {
    const type = classifyError(err)
    errorCounters[type]()
    if (type === ErrorType.timeout || type === ErrorType.connection) breaker.onFailure()
    else if (type === ErrorType.reply) breaker.onSuccess()
    else breaker.onNeutral()
    if (route !== undefined) route.error((performance.now() - startedAt) / 1000)
    return toPublicError(err, type, {
      command: route?.label ?? commandLabel(command),
      timeoutMs: commandTimeoutMs,
      pool: name,
      secrets,
    })
  }

  function refuse(err: Error): Promise<never> {
    errorCounters[classifyError(err)]()
    return Promise.reject(err)
  }

  /**
   * Times one operation holding a slot on `conn` and gives the slot back when it settles. Plain
   * then() callbacks, not an async function, so the caller's promise is the only one added. A
   * MOVED/ASK reply (a cluster resharding) resends on the node it names, within the same timing.
   * `args` rebuilds the send of a plain call only then, so the common path allocates no closure.
   */
  function settle<T>(
    node: MultiplexPool,
    conn: PooledConnection,
    command: string,
    route: Route,
    startedAt: number,
    sent: Promise<T>,
    resend: Send<T> | RedisArg[],
    hops: number,
  ): Promise<T> {
    return sent.then(
      (result) => {
        node.release(conn)
        breaker.onSuccess()
        route.ok((performance.now() - startedAt) / 1000)
        return result
      },
      (err) => {
        node.release(conn)
        const redirect = topology.onReplyError(err, conn)
        if (redirect !== undefined && hops < MAX_REDIRECTIONS) {
          redirections[redirect.type]()
          const send: Send<T> =
            typeof resend === 'function'
              ? resend
              : (c, t, asking) => sendCall(c, command, resend, t, asking) as Promise<T>
          return follow(redirect, command, route, startedAt, send, hops + 1)
        }
        throw fail(err, command, route, startedAt)
      },
    )
  }

  /** Resends an operation on the node a redirection named, keeping its first start time. */
  function follow<T>(
    redirect: Redirect,
    command: string,
    route: Route,
    startedAt: number,
    send: Send<T>,
    hops: number,
  ): Promise<T> {
    const node = redirect.pool
    const go = (conn: PooledConnection) => {
      let sent: Promise<T>
      try {
        sent = send(conn, startedAt, redirect.asking)
      } catch (err) {
        sent = Promise.reject(err)
      }
      return settle(node, conn, command, route, startedAt, sent, send, hops)
    }
    const conn = node.tryAcquire()
    if (conn !== undefined) return go(conn)
    return node.acquire().then(go, (err) => {
      throw fail(err, command, route, startedAt)
    })
  }

  function runShared<T>(
    node: MultiplexPool,
    conn: PooledConnection,
    command: string,
    route: Route,
    send: Send<T>,
  ): Promise<T> {
    const startedAt = performance.now()
    let sent: Promise<T>
    try {
      sent = send(conn, startedAt, false)
    } catch (err) {
      sent = Promise.reject(err)
    }
    return settle(node, conn, command, route, startedAt, sent, send, 0)
  }

  /** ASKING before a command sent to the importing node of an ASK redirection; its reply is OK. */
  function sendAsking(conn: PooledConnection, startedAt: number): void {
    sweep.send(conn.client, new Command('asking', [], sendOptions), startedAt).catch(() => undefined)
  }

  /** A command as ioredis' client.call() builds it, sent through the sweep so it is timed out. */
  function sendCall(
    conn: PooledConnection,
    command: string,
    args: RedisArg[],
    startedAt: number,
    asking = false,
  ) {
    const opts = friendlyStacks ? { ...sendOptions, errorStack: new Error() } : sendOptions
    if (coalesce) coalesceWrites(conn)
    if (asking) sendAsking(conn, startedAt)
    return sweep.send(conn.client, new Command(command, args, opts), startedAt)
  }

  /** sendCall() with Buffer replies; a function of its own so call()'s path stays as it was. */
  function sendBufferCall(
    conn: PooledConnection,
    command: string,
    args: RedisArg[],
    startedAt: number,
    asking: boolean,
  ) {
    const opts = friendlyStacks ? { ...bufferSendOptions, errorStack: new Error() } : bufferSendOptions
    if (coalesce) coalesceWrites(conn)
    if (asking) sendAsking(conn, startedAt)
    return sweep.send(conn.client, new Command(command, args, opts), startedAt)
  }

  function shared<T>(node: MultiplexPool, command: string, route: Route, send: Send<T>): Promise<T> {
    if (closed) return Promise.reject(new PoolClosedError(name))
    if (!breaker.tryAcquire()) return refuseOpen(route)
    const conn = node.tryAcquire()
    if (conn !== undefined) {
      observeAcquire(0)
      return runShared(node, conn, command, route, send)
    }
    return waitShared(node, command, route, send)
  }

  const refuseOpen = (route: Route) =>
    refuse(toPublicError(undefined, ErrorType.circuitOpen, context(route.label)))

  /** No slot free right now: wait for one (up to acquireTimeoutMs), then run. */
  function waitShared<T>(node: MultiplexPool, command: string, route: Route, send: Send<T>): Promise<T> {
    const waitStart = performance.now()
    return node.acquire().then(
      (acquired) => {
        observeAcquire((performance.now() - waitStart) / 1000)
        return runShared(node, acquired, command, route, send)
      },
      (err) => {
        observeAcquire((performance.now() - waitStart) / 1000)
        throw fail(err, command, undefined, waitStart)
      },
    )
  }

  const context = (command: string) => ({ command, timeoutMs: acquireTimeoutMs, pool: name, secrets })

  /**
   * A blocking command would stall every operation multiplexed on its connection, and its wait is
   * not latency: it takes a whole connection (an exclusive lease) and stays out of the histogram.
   */
  function blockingCall(
    command: string,
    args: RedisArg[],
    label: string,
    send: (client: Redis) => Promise<unknown>,
  ): Promise<unknown> {
    let node: MultiplexPool
    try {
      node = topology.route(command, args)
    } catch (err) {
      return refuse(err as Error)
    }
    return exclusive(node, label, send).catch((err) => {
      throw toPublicError(err, classifyError(err), context(label))
    })
  }

  async function exclusive<T>(
    node: MultiplexPool,
    command: string,
    fn: (client: Redis) => Promise<T>,
  ): Promise<T> {
    if (closed) throw new PoolClosedError(name)
    if (!breaker.tryAcquire()) {
      return refuse(toPublicError(undefined, ErrorType.circuitOpen, context(command)))
    }
    const waitStart = performance.now()
    let conn: PooledConnection
    try {
      conn = await node.acquireExclusive()
    } catch (err) {
      observeAcquire((performance.now() - waitStart) / 1000)
      throw fail(err, command, undefined, waitStart)
    }
    observeAcquire((performance.now() - waitStart) / 1000)
    // The lease's commands are user code on the raw client, out of the sweep's reach.
    setLeaseTimeout(conn.client, commandTimeoutMs)
    try {
      const result = await fn(conn.client)
      breaker.onSuccess()
      return result
    } catch (err) {
      const type = classifyError(err)
      errorCounters[type]()
      if (type === ErrorType.timeout || type === ErrorType.connection) breaker.onFailure()
      else if (type === ErrorType.reply) breaker.onSuccess()
      else breaker.onNeutral()
      // A lease is pinned to one node: a key of another slot comes back as MOVED/ASK/CROSSSLOT.
      // The slot map still learns from it; the caller gets the coded error, not a raw redirect.
      if (type === ErrorType.reply && (isRedirection(err) || replyCode(err) === 'CROSSSLOT')) {
        topology.onReplyError(err)
        throw new CrossSlotError(
          `a leased connection serves the slot of its key only (${(err as Error).message})`,
        )
      }
      throw err
    } finally {
      setLeaseTimeout(conn.client, undefined)
      node.releaseExclusive(conn)
    }
  }

  /** The error that decides a batch's fate: a transport failure, or a redirection of the whole batch. */
  function batchFailure(out: PipelineResult): Error | undefined {
    for (const [err] of out) {
      if (!err) continue
      const type = classifyError(err)
      if (type === ErrorType.timeout || type === ErrorType.connection) return err
    }
    // Every key of a batch is in one slot (routeBatch checks), so a redirection names them all.
    const first = out.find(([err]) => err)?.[0]
    return first && isRedirection(first) ? first : undefined
  }

  /** Pipeline/transaction replies: a transport failure fails the operation, reply errors stay per command. */
  async function batch(kind: 'pipeline' | 'multi', commands: RedisCommand[]): Promise<PipelineResult> {
    let node: MultiplexPool
    try {
      node = topology.routeBatch(commands)
    } catch (err) {
      return refuse(err as Error)
    }
    const results = await shared(node, kind, routeOf(kind), async ({ client }, _startedAt, asking) => {
      if (kind === 'multi') {
        // ASKING before MULTI covers the queued commands: Redis keeps the flag inside a transaction.
        if (asking) await client.call('asking')
        try {
          const out = ((await client.multi(commands).exec()) ?? []) as PipelineResult
          const failure = batchFailure(out)
          if (failure) throw failure
          return out
        } catch (err) {
          // A transaction sent to the wrong node aborts (EXECABORT) with the MOVED of its commands.
          const previous = (err as { previousErrors?: Error[] }).previousErrors?.[0]
          throw previous && isRedirection(previous) ? previous : err
        }
      }
      // ASKING applies to the one command after it: interleave it, then drop its replies.
      const sent = asking ? commands.flatMap((c): RedisCommand[] => [['asking'], c]) : commands
      const raw = ((await client.pipeline(sent).exec()) ?? []) as PipelineResult
      const out = asking ? raw.filter((_, i) => i % 2 === 1) : raw
      const failure = batchFailure(out)
      if (failure) throw failure
      return out
    })
    for (const [err] of results) if (err) errorCounters[classifyError(err)]()
    return results
  }

  // --- probe ---------------------------------------------------------------------------------
  let probeTimer: NodeJS.Timeout | undefined
  let probing: Promise<ProbeResult> | undefined

  function scheduleProbe(delayMs: number): void {
    if (closed || probeIntervalMs === 0) return
    clearTimeout(probeTimer)
    probeTimer = setTimeout(() => {
      void probe()
        .catch(() => undefined)
        .finally(() => scheduleProbe(probeIntervalMs))
    }, delayMs)
    probeTimer.unref()
  }

  /** The least-loaded open connection nobody holds exclusively; the probe bypasses slot limits. */
  function probeConnection(): PooledConnection | 'leased' | undefined {
    let best: PooledConnection | undefined
    let anyLeased = false
    for (const conn of topology.probeConnections ?? connections) {
      if (conn.client.status !== 'ready') continue
      if (conn.exclusive) {
        anyLeased = true
        continue
      }
      if (best === undefined || conn.client.commandQueue.length < best.client.commandQueue.length) best = conn
    }
    return best ?? (anyLeased ? 'leased' : undefined)
  }

  async function firstReady(): Promise<void> {
    const starting = connections
      .map((c) => c.client)
      .filter((c) => ['wait', 'connecting', 'connect'].includes(c.status))
    if (starting.length === 0) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, commandTimeoutMs)
      timer.unref()
      function done() {
        clearTimeout(timer)
        for (const c of starting) {
          c.off('ready', done)
          c.off('end', done)
        }
        resolve()
      }
      for (const c of starting) {
        c.once('ready', done)
        c.once('end', done)
      }
    })
  }

  async function runProbe(): Promise<ProbeResult> {
    if (probeConnection() === undefined) await firstReady()
    const conn = probeConnection()
    if (conn === 'leased')
      return lastProbe ?? { ok: false, latencyMs: undefined, at: now(), error: 'every connection is leased' }
    const startedAt = performance.now()
    let result: ProbeResult
    try {
      if (conn === undefined) {
        throw new ConnectionError(
          `no connection to Redis is open${lastConnectionError ? ` (${lastConnectionError})` : ''}`,
        )
      }
      const reply = await sweep.send(conn.client, new Command('ping', [], sendOptions), startedAt)
      const latencyMs = performance.now() - startedAt
      // Something that answers every command with +OK (a proxy, a port reused by another service)
      // is not a Redis that can serve: only PONG counts.
      const pong = reply === 'PONG' || (Buffer.isBuffer(reply) && reply.toString('latin1') === 'PONG')
      result = pong
        ? { ok: true, latencyMs, at: now(), error: undefined }
        : {
            ok: false,
            latencyMs: undefined,
            at: now(),
            error: `other: PING was answered with ${JSON.stringify(redact(String(reply).slice(0, 40), secrets))}, not PONG`,
          }
    } catch (err) {
      const type = classifyError(err)
      const message = redact(err instanceof Error ? err.message : String(err), secrets)
      result = { ok: false, latencyMs: undefined, at: now(), error: `${type}: ${message}` }
    }
    if (closed) return result
    const changed = lastProbe === undefined ? !result.ok : lastProbe.ok !== result.ok
    lastProbe = result
    if (!result.ok) families.connectionLatency.remove({ pool: name })
    breaker.onProbe(result.ok)
    if (changed) {
      if (result.ok) log.info({ latencyMs: result.latencyMs }, 'redis probe succeeded')
      else log.warn({ reason: result.error }, 'redis probe failed')
      notify(() => events.probeStateChange?.(result))
      hub.emit('probe', result)
    }
    return result
  }

  function probe(): Promise<ProbeResult> {
    if (closed) return Promise.reject(new PoolClosedError(name))
    // Concurrent callers share one PING.
    probing ??= runProbe().finally(() => {
      probing = undefined
    })
    return probing
  }

  scheduleProbe(0)

  return {
    name,

    call(command: string, ...args: RedisArg[]): Promise<unknown> {
      const route = routes.get(command) ?? routeOf(command)
      if (route.special) {
        if (isBlocking(command, args)) {
          return blockingCall(command, args, route.label, (client) => client.call(command, ...args))
        }
        if (changesConnectionState(command)) {
          return refuse(new UnsupportedCommandError(command.toLowerCase()))
        }
      }
      // shared(), inlined so the common case (a slot free right now) allocates no send closure.
      if (closed) return Promise.reject(new PoolClosedError(name))
      if (!breaker.tryAcquire()) return refuseOpen(route)
      let node: MultiplexPool
      try {
        node = topology.route(command, args)
      } catch (err) {
        return refuse(err as Error)
      }
      const conn = node.tryAcquire()
      if (conn === undefined) {
        return waitShared(node, command, route, (acquired, startedAt, asking) =>
          sendCall(acquired, command, args, startedAt, asking),
        )
      }
      observeAcquire(0)
      const startedAt = performance.now()
      let sent: Promise<unknown>
      try {
        sent = sendCall(conn, command, args, startedAt)
      } catch (err) {
        sent = Promise.reject(err)
      }
      return settle(node, conn, command, route, startedAt, sent, args, 0)
    },

    callBuffer(command: string, ...args: RedisArg[]): Promise<unknown> {
      const route = routeOf(command)
      if (route.special) {
        if (isBlocking(command, args)) {
          return blockingCall(command, args, route.label, (client) => client.callBuffer(command, ...args))
        }
        if (changesConnectionState(command)) {
          return refuse(new UnsupportedCommandError(command.toLowerCase()))
        }
      }
      if (closed) return Promise.reject(new PoolClosedError(name))
      let node: MultiplexPool
      try {
        node = topology.route(command, args)
      } catch (err) {
        return refuse(err as Error)
      }
      return shared(node, command, route, (conn, startedAt, asking) =>
        sendBufferCall(conn, command, args, startedAt, asking),
      )
    },

    pipeline: (commands) => batch('pipeline', commands),
    multi: (commands) => batch('multi', commands),
    withConnection(fn, leaseOptions) {
      let node: MultiplexPool
      try {
        node = topology.routeLease(leaseOptions?.key)
      } catch (err) {
        return refuse(err as Error)
      }
      return exclusive(node, 'lease', fn)
    },
    probe,

    health(): PoolMonitorHealth {
      const state = breaker.state()
      let reason: string | undefined
      if (closed) reason = 'the pool is closed'
      else if (lastProbe === undefined) reason = 'no probe has completed yet'
      else if (!lastProbe.ok) reason = `redis probe failed: ${lastProbe.error}`
      else if (state === 'open') reason = 'circuit breaker is open'
      const unavailable = topology.unavailable()
      reason ??= unavailable
      const view = sentinel?.sentinelView()
      return {
        ready: reason === undefined,
        reason,
        breaker: state,
        lastProbe,
        unavailable,
        ...(view
          ? {
              sentinel: {
                masterName: view.masterName,
                master: view.master,
                agree: view.agree,
                reachable: view.reachable,
                total: view.total,
                quorum: view.quorum,
                failovers: view.failovers,
              },
            }
          : {}),
      }
    },

    stats,
    breakerState: (): BreakerState => breaker.state(),
    on: hub.on,
    off: hub.off,

    openConnection(role, overrides = {}) {
      if (closed) throw new PoolClosedError(name)
      const { commandTimeout, ...rest } = overrides
      const client = createConnection({
        // With Sentinels, outside connections follow the master too (the pool's Connector).
        redis: { ...(sentinel ? sentinel.followingOptions : options.redis), ...rest },
        pool: name,
        index: role,
        commandTimeoutMs: commandTimeout ?? commandTimeoutMs,
        maxReplyBytes,
      })
      live.add(client)
      client.once('end', () => live.delete(client))
      return client
    },

    updateCredentials(patch) {
      // ioredis reads `client.options` (its documented public property) at every (re)connect: the
      // AUTH/HELLO credentials, the TLS options, and with Sentinels its Connector the same object.
      // The rotation test under test/service/ holds this to a real redis-server.
      if (!Object.isFrozen(options.redis)) Object.assign(options.redis, patch)
      for (const client of live) Object.assign(client.options, patch)
      // The Sentinel watcher's own connections carry the Sentinels' password, not the data nodes'.
      sentinel?.watcher.setSentinelAuth({
        password: patch.sentinelPassword ?? undefined,
        tls: patch.sentinelTLS,
      })
      for (const secret of [patch.password, patch.username, patch.sentinelPassword])
        if (typeof secret === 'string' && secret !== '' && !secrets.includes(secret)) secrets.push(secret)
    },

    discoverNodes() {
      if (sentinel) {
        const { watcher } = sentinel
        return (async (): Promise<TopologyNode[]> => {
          const master = watcher.master()
          const [replicas, sentinels] = await Promise.all([watcher.knownReplicas(), watcher.sentinelNodes()])
          return [
            ...(master ? [{ ...master, role: 'master' as const }] : []),
            ...replicas.map((r) => ({ ...r, role: 'replica' as const })),
            ...sentinels.map((n) => ({ ...n, role: 'sentinel' as const })),
          ]
        })()
      }
      if (cluster) return undefined
      return Promise.resolve([
        {
          host: options.redis.host ?? '127.0.0.1',
          port: options.redis.port ?? 6379,
          role: 'standalone' as const,
        },
      ])
    },

    async close() {
      if (closed) return
      closed = true
      clearTimeout(probeTimer)
      sweep.close()
      topology.close()
      // Connections first: a probe's PING waiting on a frozen Redis has no sweep left to time it
      // out, and only the QUIT bound (then the dropped socket) ends it.
      await Promise.all(connections.map(({ client }) => closeClient(client)))
      await probing?.catch(() => undefined)
      detachMetrics(operationObservers.keys())
    },
  }
}
