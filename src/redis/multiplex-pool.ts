import assert from 'node:assert'
import type { Redis } from 'ioredis'
import { ConnectionError, PoolClosedError, PoolExhaustedError } from '../errors.js'

export interface PooledConnection {
  readonly index: number
  readonly client: Redis
  /** Operations currently holding one of this connection's slots. */
  inFlight: number
  /** Held whole by one caller (MULTI/WATCH, blocking commands). */
  exclusive: boolean
  /** Kept free of new shared operations so a waiting exclusive lease can take it once it drains. */
  reserved: boolean
  /** Its socket is corked until the end of the current tick (see coalesceWrites). */
  corked: boolean
  /** performance.now() when it last went from carrying nothing to carrying work; undefined while idle. */
  busySince: number | undefined
}

export interface MultiplexPoolOptions {
  /** Connected (or connecting) clients, in the order they are filled. */
  clients: readonly Redis[]
  /** Operations one connection carries in flight at once. */
  slotsPerConnection: number
  /** How long an acquire may wait before failing with PoolExhaustedError. */
  acquireTimeoutMs: number
  /** Pool name, for PoolClosedError. */
  name: string
}

export interface MultiplexPoolStats {
  max: number
  active: number
  idle: number
  pending: number
  /** Replies the sockets still owe (timed-out commands included), plus exclusive leases. */
  inFlight: number
  /**
   * Connection-seconds spent holding at least one operation or an exclusive lease, since the pool
   * was made, counted up to now: work still in flight at a scrape is in it (Hikari and pgbouncer add
   * a use only when it ends, so a scrape in the middle of a long one misses it).
   */
  busySeconds: number
}

export interface MultiplexPool {
  readonly connections: readonly PooledConnection[]
  /** A shared slot right now, or undefined; the synchronous fast path of acquire(). */
  tryAcquire(): PooledConnection | undefined
  /** A shared slot, waiting up to acquireTimeoutMs for one. */
  acquire(): Promise<PooledConnection>
  release(conn: PooledConnection): void
  /** A whole connection with nothing else in flight on it. */
  acquireExclusive(): Promise<PooledConnection>
  releaseExclusive(conn: PooledConnection): void
  stats(): MultiplexPoolStats
  /** Rejects every waiter; connections are the owner's to quit. */
  close(): void
}

interface Waiter {
  exclusive: boolean
  resolve: (conn: PooledConnection) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

/** ioredis states from which a connection may still become ready without a reconnect. */
const STARTING = new Set(['wait', 'connecting', 'connect'])

/**
 * A pool that multiplexes: each operation takes one of `slotsPerConnection` slots on a
 * connection, so one connection carries many commands in flight (ioredis pipelines them on the
 * socket) instead of one command per lease. Connections are filled first-fit in index order, so
 * the number of busy connections follows the load the way an operator reading "active
 * connections" expects, and reaches the maximum when every slot is taken and operations wait.
 *
 * A connection's load counts the replies its socket still owes (`commandQueue`), not only the
 * operations holding a slot: a command that timed out on the client is still unanswered on the
 * wire, and counting it keeps a frozen Redis from collecting an unbounded queue of them.
 */
export function createMultiplexPool(options: MultiplexPoolOptions): MultiplexPool {
  const { slotsPerConnection, acquireTimeoutMs, name } = options
  assert(options.clients.length >= 1, 'a pool needs at least one connection')
  assert(slotsPerConnection >= 1, 'slotsPerConnection must be >= 1')
  assert(acquireTimeoutMs >= 0, 'acquireTimeoutMs must be >= 0')

  const connections: PooledConnection[] = options.clients.map((client, index) => ({
    index,
    client,
    inFlight: 0,
    busySince: undefined,
    exclusive: false,
    reserved: false,
    corked: false,
  }))
  const waiters: Waiter[] = []
  // Shared operations queue behind earlier shared waiters (FIFO), but may pass an exclusive waiter:
  // that one has a connection reserved and takes it once it drains.
  let sharedWaiting = 0
  let closed = false

  const load = (conn: PooledConnection) => Math.max(conn.inFlight, conn.client.commandQueue.length)

  function pickShared(): PooledConnection | undefined {
    for (const conn of connections) {
      if (conn.exclusive || conn.reserved || conn.client.status !== 'ready') continue
      if (load(conn) < slotsPerConnection) return conn
    }
    return undefined
  }

  /** The highest-index drained connection, keeping clear of where shared operations are packed. */
  function pickExclusive(): PooledConnection | undefined {
    for (let i = connections.length - 1; i >= 0; i--) {
      const conn = connections[i]!
      if (conn.exclusive || conn.client.status !== 'ready') continue
      if (load(conn) === 0) return conn
    }
    return undefined
  }

  function reserveForExclusive(): void {
    if (connections.some((c) => c.reserved)) return
    for (let i = connections.length - 1; i >= 0; i--) {
      const conn = connections[i]!
      if (!conn.exclusive && conn.client.status === 'ready') {
        conn.reserved = true
        return
      }
    }
  }

  function unreserveIfUnneeded(): void {
    if (waiters.some((w) => w.exclusive)) return
    for (const conn of connections) conn.reserved = false
  }

  /** Nothing is ready and nothing is about to be: waiting could only end in a timeout. */
  function allDown(): boolean {
    return connections.every((c) => c.client.status !== 'ready' && !STARTING.has(c.client.status))
  }

  // Busy time: a connection turns busy when it takes its first operation (or a lease) and idle when
  // it holds none; a closed busy stretch moves into busyMs, an open one is counted up to the read.
  let busyMs = 0
  function markBusy(conn: PooledConnection): void {
    if (conn.busySince === undefined) conn.busySince = performance.now()
  }
  function markIdleIfFree(conn: PooledConnection): void {
    if (conn.busySince === undefined || conn.inFlight > 0 || conn.exclusive) return
    busyMs += performance.now() - conn.busySince
    conn.busySince = undefined
  }

  function take(conn: PooledConnection, exclusive: boolean): PooledConnection {
    markBusy(conn)
    if (exclusive) {
      conn.exclusive = true
      conn.reserved = false
    } else {
      conn.inFlight++
    }
    return conn
  }

  function serveWaiters(): void {
    let i = 0
    while (i < waiters.length) {
      const waiter = waiters[i]!
      const conn = waiter.exclusive ? pickExclusive() : pickShared()
      if (conn === undefined) {
        i++
        continue
      }
      waiters.splice(i, 1)
      if (!waiter.exclusive) sharedWaiting--
      clearTimeout(waiter.timer)
      waiter.resolve(take(conn, waiter.exclusive))
    }
    unreserveIfUnneeded()
  }

  function wait(exclusive: boolean): Promise<PooledConnection> {
    if (closed) return Promise.reject(new PoolClosedError(name))
    if (allDown()) return Promise.reject(new ConnectionError('no pooled connection to Redis is open'))
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        exclusive,
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = waiters.indexOf(waiter)
          if (at !== -1) waiters.splice(at, 1)
          if (!exclusive) sharedWaiting--
          unreserveIfUnneeded()
          // Waiting on connections that never came up is a connection failure, not a busy pool.
          const noneReady = connections.every((c) => c.client.status !== 'ready')
          reject(
            noneReady
              ? new ConnectionError(
                  `no pooled connection to Redis became ready within ${acquireTimeoutMs} ms`,
                )
              : new PoolExhaustedError(acquireTimeoutMs),
          )
        }, acquireTimeoutMs),
      }
      waiter.timer.unref()
      waiters.push(waiter)
      if (exclusive) reserveForExclusive()
      else sharedWaiting++
    })
  }

  // A connection coming (back) up can serve whoever is waiting.
  for (const conn of connections) conn.client.on('ready', serveWaiters)

  /**
   * The last connection that could still come up went down (its connect was refused, or it closed):
   * a waiter would now only wait out acquireTimeoutMs, so it fails at once, as a new acquire does.
   * Without this, calls made while a dead Redis was first being dialled waited the whole timeout.
   */
  function failWaitersIfAllDown(): void {
    if (closed || waiters.length === 0 || !allDown()) return
    sharedWaiting = 0
    for (const waiter of waiters.splice(0)) {
      clearTimeout(waiter.timer)
      waiter.reject(new ConnectionError('no pooled connection to Redis is open'))
    }
    unreserveIfUnneeded()
  }
  for (const conn of connections) {
    conn.client.on('reconnecting', failWaitersIfAllDown)
    conn.client.on('end', failWaitersIfAllDown)
  }

  return {
    connections,

    tryAcquire() {
      if (closed || sharedWaiting > 0) return undefined
      const conn = pickShared()
      if (conn !== undefined) {
        markBusy(conn)
        conn.inFlight++
      }
      return conn
    },

    acquire() {
      const conn = closed || sharedWaiting > 0 ? undefined : pickShared()
      if (conn !== undefined) return Promise.resolve(take(conn, false))
      return wait(false)
    },

    release(conn) {
      conn.inFlight--
      markIdleIfFree(conn)
      if (waiters.length > 0) serveWaiters()
    },

    acquireExclusive() {
      const conn = closed || waiters.some((w) => w.exclusive) ? undefined : pickExclusive()
      if (conn !== undefined) return Promise.resolve(take(conn, true))
      return wait(true)
    },

    releaseExclusive(conn) {
      conn.exclusive = false
      markIdleIfFree(conn)
      if (waiters.length > 0) serveWaiters()
    },

    stats() {
      let active = 0
      let idle = 0
      let inFlight = 0
      for (const conn of connections) {
        const owed = load(conn)
        inFlight += conn.exclusive ? Math.max(owed, 1) : owed
        if (conn.exclusive || owed > 0) active++
        else if (conn.client.status === 'ready') idle++
      }
      const now = performance.now()
      let openMs = 0
      for (const conn of connections) if (conn.busySince !== undefined) openMs += now - conn.busySince
      return {
        max: connections.length,
        active,
        idle,
        pending: waiters.length,
        inFlight,
        busySeconds: (busyMs + openMs) / 1000,
      }
    },

    close() {
      closed = true
      for (const conn of connections) {
        conn.client.off('ready', serveWaiters)
        conn.client.off('reconnecting', failWaitersIfAllDown)
        conn.client.off('end', failWaitersIfAllDown)
      }
      sharedWaiting = 0
      for (const waiter of waiters.splice(0)) {
        clearTimeout(waiter.timer)
        waiter.reject(new PoolClosedError(name))
      }
    },
  }
}

function uncork(conn: PooledConnection, stream: Redis['stream']): void {
  conn.corked = false
  stream.uncork()
}

/**
 * Coalesces the writes of one tick on a busy connection into one syscall. ioredis writes each
 * command to the socket at once, one write(2) per command: on loopback that syscall is most of a
 * command's CPU cost. When other operations are already in flight on `conn` (so this one queues
 * behind them anyway), the socket is corked until the end of the current tick and every command
 * written meanwhile leaves in one writev. With nothing else in flight (low concurrency) nothing is
 * corked and the command leaves at once, so an idle pool adds no latency. Order on the wire, and
 * so the reply order ioredis relies on, is unchanged.
 */
export function coalesceWrites(conn: PooledConnection): void {
  if (conn.corked || conn.inFlight < 2) return
  const stream = conn.client.stream
  if (stream === undefined || stream === null) return
  conn.corked = true
  stream.cork()
  process.nextTick(uncork, conn, stream)
}
