import type { Redis } from 'ioredis'
import {
  createMultiplexPool,
  type MultiplexPool,
  type MultiplexPoolStats,
  type PooledConnection,
} from './multiplex-pool.js'

export type RedisArg = string | number | Buffer
export type RedisCommand = [command: string, ...args: RedisArg[]]

/** A MOVED or ASK reply turned into where to resend. */
export interface Redirect {
  type: 'moved' | 'ask'
  /** The node's pool to resend on. */
  pool: MultiplexPool
  /** ASK: the resend must be preceded by ASKING on the same connection. */
  asking: boolean
}

/**
 * Where the pool monitor's operations go. Standalone (and Sentinel, whose one client follows the
 * master) is one multiplexed pool; a Redis Cluster is one multiplexed pool per master with
 * commands routed by hash slot. The monitor above is the same for both: it asks `route()` for a
 * pool, and resends where `onReplyError()` says when Redis redirects (a standalone Redis never
 * does).
 */
export interface PoolTopology {
  /** Every pooled connection of every node; live (a cluster adds and drops nodes). */
  readonly connections: readonly PooledConnection[]
  /** The connections the PING probe may use (the master's, with read replicas); default all. */
  readonly probeConnections?: readonly PooledConnection[]
  /** The pool of the node serving `command`'s keys. Throws CrossSlotError for keys of different slots. */
  route(command: string, args: readonly RedisArg[]): MultiplexPool
  /** The same for a pipeline or transaction: every key of every command in one slot. */
  routeBatch(commands: readonly RedisCommand[]): MultiplexPool
  /** The node for an exclusive lease of keys hashing to `key`'s slot (required on a cluster). */
  routeLease(key: string | undefined): MultiplexPool
  /**
   * Sees every reply error: MOVED/ASK give where to resend (and MOVED updates the slot map);
   * CLUSTERDOWN marks the cluster as unable to serve until a check says otherwise; READONLY (a
   * Sentinel-followed connection on a demoted master) reconnects `conn`.
   */
  onReplyError(err: unknown, conn?: PooledConnection): Redirect | undefined
  stats(): MultiplexPoolStats
  /** Why Redis cannot serve although it answers (a cluster in state fail), else undefined. */
  unavailable(): string | undefined
  /** Stops background work and rejects waiters; the owner quits the connections. */
  close(): void
}

export interface StandaloneTopologyOptions {
  size: number
  /** Opens connection `index` of the pool. */
  connect: (index: number) => Redis
  slotsPerConnection: number
  acquireTimeoutMs: number
  name: string
}

/** One Redis (or the master a Sentinel client follows): one multiplexed pool for everything. */
export function createStandaloneTopology(options: StandaloneTopologyOptions): PoolTopology {
  const clients = Array.from({ length: options.size }, (_, index) => options.connect(index))
  const pool = createMultiplexPool({
    clients,
    slotsPerConnection: options.slotsPerConnection,
    acquireTimeoutMs: options.acquireTimeoutMs,
    name: options.name,
  })
  return {
    connections: pool.connections,
    route: () => pool,
    routeBatch: () => pool,
    routeLease: () => pool,
    onReplyError: () => undefined,
    stats: () => pool.stats(),
    unavailable: () => undefined,
    close: () => pool.close(),
  }
}
