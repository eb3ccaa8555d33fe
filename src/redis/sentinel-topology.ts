import { isIP, createConnection as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { hasFlag } from '@ioredis/commands'
import { AbstractConnector, type Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import { formatHostPort, type HostPort } from './endpoint.js'
import { createMultiplexPool, type MultiplexPool, type PooledConnection } from './multiplex-pool.js'
import { replyCode } from './reply-error.js'
import {
  createSentinelWatcher,
  type SentinelView,
  type SentinelWatcher,
  type SwitchCause,
} from './sentinel-watcher.js'
import type { PoolTopology } from './topology.js'

/** The ioredis Sentinel options a caller passes (`sentinels`, `name`, ...), as REDIS_SENTINELS builds them. */
export interface SentinelRedisOptions {
  sentinels: ReadonlyArray<Partial<HostPort>>
  name?: string
  sentinelPassword?: string | null
  sentinelUsername?: string | null
  sentinelTLS?: RedisOptions['tls']
}

/** ioredis options name Sentinels: the pool follows the master they name. */
export const isSentinelOptions = (redis: RedisOptions): boolean =>
  Array.isArray((redis as { sentinels?: unknown }).sentinels) &&
  ((redis as { sentinels: unknown[] }).sentinels.length ?? 0) > 0

const SENTINEL_KEYS = [
  'sentinels',
  'name',
  'role',
  'sentinelPassword',
  'sentinelUsername',
  'sentinelTLS',
  'enableTLSForSentinelMode',
  'sentinelRetryStrategy',
  'failoverDetector',
  'natMap',
  'preferredSlaves',
  'updateSentinels',
  'sentinelCommandTimeout',
  'sentinelMaxConnections',
  'sentinelReconnectStrategy',
] as const

/** The data-connection options without the Sentinel ones (they would put ioredis in its own Sentinel mode). */
export function withoutSentinelOptions(redis: RedisOptions): RedisOptions {
  const copy: Record<string, unknown> = { ...redis }
  for (const key of SENTINEL_KEYS) delete copy[key]
  return copy as RedisOptions
}

/** How long a connection waits at start for a Sentinel to name the master before it counts as failed. */
const MASTER_WAIT_MS = 2_000
/** Pause before asking again when no node could be named (no Sentinel answers, no healthy replica). */
const RETRY_TARGET_MS = 500

/**
 * An ioredis Connector (the documented `Connector` option) that dials whichever node `target()`
 * names when the connection (re)connects, and refuses, through ioredis' ready check, a node whose
 * INFO says it is not `role`: ioredis then reconnects, and the next dial asks again.
 */
export function followingConnector(
  target: (timeoutMs: number) => Promise<HostPort>,
  role: 'master' | 'slave',
  dialled: WeakMap<object, HostPort>,
  onWrongRole: () => void,
): new (
  options: unknown,
) => AbstractConnector {
  return class FollowingConnector extends AbstractConnector {
    private readonly options: RedisOptions
    constructor(options: unknown) {
      super((options as { disconnectTimeout?: number }).disconnectTimeout ?? 2_000)
      this.options = options as RedisOptions
    }
    override check(info: { role?: string }): boolean {
      const ok = !info.role || info.role === role
      if (!ok) onWrongRole()
      return ok
    }
    // biome-ignore lint/suspicious/noExplicitAny: ioredis' NetStream type is not exported
    override async connect(): Promise<any> {
      this.connecting = true
      // A connect() that rejects ends an ioredis client for good (no retry): keep asking until a
      // node is named or the client is closed.
      let node: HostPort | undefined
      while (node === undefined) {
        try {
          node = await target(MASTER_WAIT_MS)
        } catch {
          if (!this.connecting) break
          await new Promise((r) => setTimeout(r, RETRY_TARGET_MS).unref())
        }
        if (!this.connecting) throw new Error('Connection is closed.')
      }
      if (node === undefined) throw new Error('Connection is closed.')
      dialled.set(this.options, node)
      const { tls } = this.options
      const stream = tls
        ? tlsConnect({
            ...tls,
            host: node.host,
            port: node.port,
            // Each node's own host is the name checked unless a server name is configured.
            ...(tls.servername === undefined && isIP(node.host) === 0 ? { servername: node.host } : {}),
          })
        : netConnect({ host: node.host, port: node.port })
      stream.once('error', (err: Error) => {
        this.firstError = err
      })
      this.stream = stream
      return stream
    }
  }
}

export interface SentinelTopologyOptions {
  /** ioredis options with `sentinels` and `name`, as a caller of the library or REDIS_SENTINELS gives them. */
  redis: RedisOptions
  size: number
  /** Opens pooled connection `index` with these options (a Connector dialling the master is in them). */
  connect: (redis: RedisOptions, index: number | string) => Redis
  slotsPerConnection: number
  acquireTimeoutMs: number
  name: string
  refreshIntervalMs: number
  logger: Logger
  /** Read-only commands go to a second pool over the healthy replicas. @default false */
  readFromReplicas?: boolean
  /** The master moved (after the pool was told to move): the monitor counts it and re-probes. */
  onFailover(from: HostPort, to: HostPort, cause: SwitchCause): void
}

export interface SentinelTopology extends PoolTopology {
  readonly watcher: SentinelWatcher
  /** The data-connection options that follow the master, for connections outside the pool. */
  readonly followingOptions: RedisOptions
  sentinelView(): SentinelView
}

/**
 * The pool over a master the Sentinels name. Every pooled connection dials the current master
 * (`followingConnector`) and refuses a node that is not a master; on `+switch-master` every
 * connection still on the old node is closed and reconnects at once (no backoff), connections
 * already waiting to reconnect are redialled now, and the monitor is told (failover counter,
 * breaker, probe). A command answered READONLY proves its connection is on a replica: that
 * connection is reconnected and the Sentinels are asked again.
 */
export function createSentinelTopology(options: SentinelTopologyOptions): SentinelTopology {
  const sentinelOptions = options.redis as RedisOptions & SentinelRedisOptions
  const dialled = new WeakMap<object, HostPort>()
  const logger = options.logger

  const watcher = createSentinelWatcher({
    sentinels: sentinelOptions.sentinels.map((s) => ({ host: s.host ?? '127.0.0.1', port: s.port ?? 26379 })),
    masterName: sentinelOptions.name ?? 'mymaster',
    sentinelOptions: () => ({
      ...(sentinelOptions.sentinelUsername ? { username: sentinelOptions.sentinelUsername } : {}),
      ...(sentinelOptions.sentinelPassword ? { password: sentinelOptions.sentinelPassword } : {}),
      ...(sentinelOptions.sentinelTLS ? { tls: sentinelOptions.sentinelTLS } : {}),
    }),
    logger,
    refreshIntervalMs: options.refreshIntervalMs,
    connectionName: `rpm:${options.name.replace(/[^\w.-]/g, '_')}`,
    onSwitch(from, to, cause) {
      if (from === undefined) return
      move(to)
      options.onFailover(from, to, cause)
    },
  })

  const Connector = followingConnector(
    (timeoutMs) => watcher.whenKnown(timeoutMs),
    'master',
    dialled,
    () => void watcher.refresh().catch(() => undefined),
  )
  const followingOptions: RedisOptions = { ...withoutSentinelOptions(options.redis), Connector }

  const clients = Array.from({ length: options.size }, (_, index) => options.connect(followingOptions, index))
  const pool = createMultiplexPool({
    clients,
    slotsPerConnection: options.slotsPerConnection,
    acquireTimeoutMs: options.acquireTimeoutMs,
    name: options.name,
  })

  // Reads from replicas: a second pool whose connections each dial the next healthy replica the
  // Sentinels list (round robin), refusing a node that is not a replica; reads go to the master
  // while none of them is ready.
  let replicaPool: MultiplexPool | undefined
  if (options.readFromReplicas) {
    let turn = 0
    let lastReplica: string | undefined
    const ReplicaConnector = followingConnector(
      async () => {
        const replicas = await watcher.replicas()
        const replica = replicas[turn++ % Math.max(replicas.length, 1)]
        if (replica === undefined) throw new Error('the Sentinels see no healthy replica to read from')
        const address = formatHostPort(replica)
        if (address !== lastReplica) logger.info({ replica: address }, 'reads go to a replica')
        lastReplica = address
        return replica
      },
      'slave',
      dialled,
      () => undefined,
    )
    const replicaOptions: RedisOptions = {
      ...withoutSentinelOptions(options.redis),
      Connector: ReplicaConnector,
    }
    replicaPool = createMultiplexPool({
      clients: Array.from({ length: options.size }, (_, index) =>
        options.connect(replicaOptions, `replica-${index}`),
      ),
      slotsPerConnection: options.slotsPerConnection,
      acquireTimeoutMs: options.acquireTimeoutMs,
      name: `${options.name}-replicas`,
    })
  }
  const replicaReady = () => replicaPool?.connections.some((c) => c.client.status === 'ready') === true
  const readOnly = new Map<string, boolean>()
  const isReadOnly = (command: string) => {
    let known = readOnly.get(command)
    if (known === undefined) {
      const name = command.toLowerCase()
      known = hasFlag(name, 'readonly')
      if (readOnly.size < 1024) readOnly.set(command, known)
    }
    return known
  }

  const onNode = (client: Redis, node: HostPort) => {
    const at = dialled.get(client.options)
    return at !== undefined && at.host === node.host && at.port === node.port
  }

  /** Closes the connection and dials again at once, skipping the backoff ioredis would wait first. */
  function reconnectNow(client: Redis): void {
    client.once('reconnecting', () => client.connect().catch(() => undefined))
    client.disconnect(true)
  }

  /** Every connection not on `to` reconnects now; the ones already reconnecting are redialled. */
  function move(to: HostPort): void {
    let moved = 0
    for (const { client } of pool.connections) {
      if (client.status === 'end' || client.status === 'close') continue
      if (client.status === 'reconnecting' || client.status === 'wait') {
        client.connect().catch(() => undefined)
        moved++
      } else if (!onNode(client, to)) {
        reconnectNow(client)
        moved++
      }
    }
    logger.info(
      { master: formatHostPort(to), connections: moved },
      'pool connections moving to the new master',
    )
  }

  return {
    watcher,
    followingOptions,
    sentinelView: () => watcher.view(),
    connections: replicaPool ? [...pool.connections, ...replicaPool.connections] : pool.connections,
    probeConnections: pool.connections,
    route: (command) => (replicaPool && replicaReady() && isReadOnly(command) ? replicaPool : pool),
    routeBatch: () => pool,
    routeLease: () => pool,
    onReplyError(err: unknown, conn?: PooledConnection) {
      if (conn && replyCode(err) === 'READONLY') {
        // This connection is on a replica (a demoted master): back to whichever node is master now.
        logger.warn(
          { at: formatHostPortOr(dialled.get(conn.client.options)) },
          'a pooled connection answered READONLY: reconnecting it to the master',
        )
        reconnectNow(conn.client)
        void watcher.refresh().catch(() => undefined)
      }
      return undefined
    },
    stats() {
      const main = pool.stats()
      if (!replicaPool) return main
      const replicas = replicaPool.stats()
      return {
        max: main.max + replicas.max,
        active: main.active + replicas.active,
        idle: main.idle + replicas.idle,
        pending: main.pending + replicas.pending,
        inFlight: main.inFlight + replicas.inFlight,
        busySeconds: main.busySeconds + replicas.busySeconds,
      }
    },
    unavailable() {
      if (watcher.master() === undefined)
        return `no Sentinel names the master ${sentinelOptions.name ?? 'mymaster'}`
      return undefined
    },
    close() {
      pool.close()
      replicaPool?.close()
      void watcher.close()
    },
  }
}

const formatHostPortOr = (node: HostPort | undefined) => (node ? formatHostPort(node) : 'unknown')
