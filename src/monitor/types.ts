import type { Redis, RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { SentinelHealth } from '../redis/sentinel-watcher.js'
import type { EventSource } from './events.js'

export type BreakerState = 'closed' | 'half_open' | 'open'

/** Arguments a Redis command accepts. */
export type RedisArg = string | number | Buffer

export interface ProbeResult {
  ok: boolean
  /** Round trip in milliseconds; undefined when the probe failed. */
  latencyMs: number | undefined
  /** Epoch milliseconds of the probe's end. */
  at: number
  /** Error message (never containing the password) when the probe failed. */
  error: string | undefined
}

export interface PoolStats {
  max: number
  active: number
  idle: number
  pending: number
  utilizationPercent: number
  /** Replies the sockets still owe (timed-out commands included) plus exclusive leases: bounded by size x slots. */
  inFlight: number
  /** Connection-seconds with work in flight since the pool was made, counted up to now. */
  busySeconds: number
}

/** One command of a pipeline or transaction: name then arguments. */
export type RedisCommand = [command: string, ...args: RedisArg[]]
/** ioredis' per-command outcome of a pipeline or transaction: [error, reply]. */
export type PipelineResult = Array<[error: Error | null, reply: unknown]>

export interface PoolMonitorHealth {
  /** Redis answered the latest probe and the breaker is not open. */
  ready: boolean
  /** Why it is not ready; undefined when ready. */
  reason: string | undefined
  breaker: BreakerState
  lastProbe: ProbeResult | undefined
  /** Redis answers but cannot serve (a cluster in state fail); undefined otherwise. */
  unavailable?: string | undefined
  /** With Sentinels: the master the pool follows and whether the Sentinels agree on it. */
  sentinel?: SentinelHealth | undefined
}

/** A node of the monitored topology, for HTTP service discovery. */
export interface TopologyNode {
  host: string
  port: number
  role: 'master' | 'replica' | 'sentinel' | 'standalone'
}

export type { SentinelHealth }

export interface PoolMonitorEvents {
  /** One call per breaker transition. */
  breakerTransition?: (from: BreakerState, to: BreakerState) => void
  /** One call when the latest probe result flips between ok and failed. */
  probeStateChange?: (result: ProbeResult) => void
  /** The Sentinels named a new master and the pool moved to it. */
  failover?: (from: string, to: string) => void
}

/** Events of `PoolMonitor.on()`: state changes, never one per command. */
export interface PoolMonitorEventMap {
  /** The circuit breaker changed state. */
  breaker: { from: BreakerState; to: BreakerState; at: string }
  /** The latest probe flipped between ok and failed. */
  probe: ProbeResult
  /** The master the pool writes to changed (Sentinel failover): the addresses before and after. */
  failover: { from: string; to: string; at: string }
}

export interface PoolMonitorOptions {
  /**
   * ioredis connection options (host, port, username, password, tls, db). With `sentinels` and
   * `name` (ioredis' Sentinel options, `sentinelPassword` included), every connection follows the
   * master the Sentinels name, across failovers.
   */
  redis: RedisOptions
  /** Pool name, the `pool` label of every client-side metric. @default 'default' */
  name?: string
  /** Connections in the pool. @default 10 */
  size?: number
  /** Registry the metric families are registered on (never the global one). */
  registry: Registry
  logger: Logger
  /** PING probe interval in ms; 0 disables the probe. @default 5000 */
  probeIntervalMs?: number
  /** Per-command timeout in ms. @default 2000 */
  commandTimeoutMs?: number
  /** How long an operation may wait for a pool slot before failing with pool_exhausted. @default 1000 */
  acquireTimeoutMs?: number
  /** Operations one connection carries in flight at once before the next connection is used. @default 32 */
  slotsPerConnection?: number
  /**
   * On a connection that already has operations in flight, send the commands of one tick in one
   * socket write (cork until the end of the tick) instead of one write per command. @default true
   */
  coalesceWrites?: boolean
  /** Circuit breaker tuning. */
  breaker?: Partial<BreakerOptions>
  /**
   * Redis Cluster: `redis` names one node; commands are routed by hash slot over a pool of `size`
   * connections per master, MOVED/ASK are followed and counted. @default false
   */
  cluster?: boolean | ClusterPoolOptions
  /** Sentinel tuning (the Sentinels themselves are named in `redis`). */
  sentinel?: SentinelPoolOptions
  /**
   * Bytes one reply may take on any connection the monitor opens (the pool's, Sentinel-followed
   * and Cluster nodes', openConnection()'s). A larger reply closes that connection and its
   * commands fail with a connection error (`RPM_CONNECTION`) instead of memory growing without
   * bound. Raise it to store larger values; 0 means no cap. @default 16777216 (16 MiB, MAX_REPLY_BYTES)
   */
  maxReplyBytes?: number
  /** Clock in epoch ms; tests pass a fake one. @default Date.now */
  now?: () => number
  events?: PoolMonitorEvents
}

/** With ioredis' Sentinel options in `redis`. */
export interface SentinelPoolOptions {
  /**
   * Read-only commands go to the replicas the Sentinels see healthy (each replica connection dials
   * the next one in turn), writes to the master; reads fall back to the master while no replica
   * connection is ready. @default false
   */
  readFromReplicas?: boolean
}

export interface ClusterPoolOptions {
  /** Options of a connection to a node the cluster names (credentials, TLS). @default `redis` with the node's host and port */
  nodeOptions?: (node: { host: string; port: number }) => RedisOptions
  /** How often the slot map and cluster_state are read. @default probeIntervalMs, else 5000 */
  refreshIntervalMs?: number
  /** Read-only commands go to the replicas of their slot (READONLY), in turn. @default false */
  readFromReplicas?: boolean
}

export interface BreakerOptions {
  /** Failure percentage over the window that opens the breaker. @default 50 */
  failureRateThreshold: number
  /** Calls needed in the window before the rate is judged. @default 5 */
  minimumCalls: number
  /** Length of the rolling window in ms. @default 10000 */
  windowMs: number
  /** Time spent open before trial calls are let through. @default 5000 */
  resetTimeoutMs: number
  /** Successful trial calls in half-open needed to close (PING probes count as trials). @default 2 */
  halfOpenTrialCalls: number
  /** Consecutive failed PING probes that open a closed breaker, traffic or not. @default 2 */
  probeFailuresToOpen: number
}

export interface PoolMonitor extends EventSource<PoolMonitorEventMap> {
  readonly name: string
  /** Runs one command on a pooled connection, timed, classified and guarded by the breaker. */
  call(command: string, ...args: RedisArg[]): Promise<unknown>
  /**
   * As call(), timed, classified and guarded the same way, with bulk replies as Buffers instead of
   * UTF-8 strings (ioredis' callBuffer): for binary values and keys that are not valid UTF-8.
   */
  callBuffer(command: string, ...args: RedisArg[]): Promise<unknown>
  /**
   * Sends the commands back to back on one pooled connection and times them as one operation
   * (`command="pipeline"`). Reply errors come back per command in the result.
   */
  pipeline(commands: RedisCommand[]): Promise<PipelineResult>
  /** Runs the commands as one MULTI/EXEC transaction, timed as one operation (`command="multi"`). */
  multi(commands: RedisCommand[]): Promise<PipelineResult>
  /**
   * Lends a whole connection (MULTI/WATCH/blocking commands) for the duration of `fn`. On a
   * cluster, `key` picks the node (the lease serves that key's slot; others fail with RPM_CROSS_SLOT).
   */
  withConnection<T>(fn: (client: Redis) => Promise<T>, options?: { key?: string }): Promise<T>
  /** Runs a PING now, updates the latency gauge and readiness, and returns the result. */
  probe(): Promise<ProbeResult>
  health(): PoolMonitorHealth
  stats(): PoolStats
  breakerState(): BreakerState
  /**
   * A new connection to the same Redis with the pool's options, outside the pool (for connection
   * state the pool cannot share: CLIENT TRACKING, SUBSCRIBE). Named `rpm:<pool>:<role>` in CLIENT
   * LIST, no offline queue, the pool's command timeout unless `overrides` sets one. The caller owns
   * it: attach an `error` listener and close it.
   */
  openConnection(role: string, overrides?: Partial<RedisOptions>): Redis
  /**
   * New credentials or TLS material (SIGHUP after a rotated Secret): every connection the monitor
   * opened, and every one it opens later, uses them from its next (re)connect. Open connections
   * stay as they are: Redis keeps an authenticated connection when its password changes.
   */
  updateCredentials(
    patch: Pick<RedisOptions, 'username' | 'password' | 'tls' | 'sentinelPassword' | 'sentinelTLS'>,
  ): void
  /**
   * The nodes behind the pool: with Sentinels the master they name, every replica and every
   * Sentinel they know; a standalone Redis is its one node. Undefined on a cluster (its own
   * discovery reads CLUSTER NODES).
   */
  discoverNodes(): Promise<TopologyNode[]> | undefined
  close(): Promise<void>
}
