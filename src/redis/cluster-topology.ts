import { exists, getKeyIndexes, hasFlag } from '@ioredis/commands'
import calculateSlot from 'cluster-key-slot'
import type { Redis, RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import { ClusterKeyRequiredError, CrossSlotError } from '../errors.js'
import { withTimeout } from '../timeout.js'
import { closeClient } from './connection.js'
import { nodeOptions, type RedisEndpoint } from './endpoint.js'
import {
  createMultiplexPool,
  type MultiplexPool,
  type MultiplexPoolStats,
  type PooledConnection,
} from './multiplex-pool.js'
import { redirectionOf, replyCode } from './reply-error.js'
import type { PoolTopology, Redirect, RedisArg, RedisCommand } from './topology.js'

export const CLUSTER_SLOTS = 16_384

export interface ClusterNodeAddress {
  host: string
  port: number
}

export interface ClusterTopologyOptions {
  /** The node REDIS_URL names: the first pool, and where keyless commands (INFO, PING) go while it is up. */
  seed: ClusterNodeAddress
  /** Connection options (credentials, TLS) for a node; called for the seed and every node found. */
  nodeOptions: (node: ClusterNodeAddress) => RedisOptions
  /** Opens one pooled connection; `label` names it in CLIENT LIST. */
  connect: (options: RedisOptions, label: string) => Redis
  /** Connections per master (POOL_SIZE). */
  size: number
  slotsPerConnection: number
  acquireTimeoutMs: number
  name: string
  /** How often CLUSTER SLOTS and CLUSTER INFO are read in the background. */
  refreshIntervalMs: number
  /** Budget of one background read. */
  commandTimeoutMs: number
  /** Prepended to every key by ioredis (keyPrefix): the slot is the prefixed key's. */
  keyPrefix?: string
  /**
   * REDIS_READ_FROM_REPLICAS: read-only commands go to the replicas of their slot's master, in turn
   * (connections send READONLY), writes to the master; replicas get POOL_SIZE connections too.
   * @default false
   */
  readFromReplicas?: boolean
  logger: Logger
}

export interface ClusterTopology extends PoolTopology {
  /** Reads CLUSTER SLOTS and CLUSTER INFO now (concurrent callers share one read). */
  refresh(): Promise<void>
  /** The masters with a pool, by `host:port`. */
  nodes(): string[]
  /** The slot a command's keys hash to, undefined for a keyless command. */
  slotOf(command: string, args: readonly RedisArg[]): number | undefined
}

interface NodePool {
  address: string
  pool: MultiplexPool
}

const addressOf = (host: string, port: number) =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`

/** `host:port`, `[v6]:port` or a bare v6 `a:b::c:port`, as MOVED and CLUSTER SLOTS print them. */
function parseAddress(text: string, fallbackHost: string): ClusterNodeAddress | undefined {
  const at = text.lastIndexOf(':')
  if (at < 0) return undefined
  const port = Number(text.slice(at + 1))
  let host = text.slice(0, at).replace(/^\[|\]$/g, '')
  // An empty or '?' endpoint means "the host you reached me on" (cluster-preferred-endpoint-type).
  if (host === '' || host === '?') host = fallbackHost
  return Number.isInteger(port) && port > 0 ? { host, port } : undefined
}

/**
 * A Redis Cluster as one pool: a multiplexed pool of `size` connections per master, commands
 * routed by the CRC16 slot of their keys (cluster-key-slot, key positions from @ioredis/commands,
 * the tables ioredis' own Cluster uses). The slot map comes from CLUSTER SLOTS, read at start, on
 * every MOVED (debounced) and every `refreshIntervalMs`; a MOVED also fixes its slot at once, so
 * the resend goes straight to the new owner. CLUSTER INFO of the same read says whether the
 * cluster can serve (`cluster_state`); a CLUSTERDOWN reply says it sooner.
 *
 * Routing ourselves rather than wrapping ioredis' Cluster keeps the multiplexed pool (several
 * connections per node, first-fit filling, the timeout sweep, the exact active/idle gauges) and
 * makes every redirection visible: ioredis' Cluster follows MOVED/ASK inside without an event.
 */
export function createClusterTopology(options: ClusterTopologyOptions): ClusterTopology {
  const { size, slotsPerConnection, acquireTimeoutMs, name, logger } = options
  const prefix = options.keyPrefix ?? ''
  const connections: PooledConnection[] = []
  const byAddress = new Map<string, NodePool>()
  const slots: Array<NodePool | undefined> = new Array(CLUSTER_SLOTS).fill(undefined)
  const readFromReplicas = options.readFromReplicas === true
  /** Per slot, the replicas of its master (only with readFromReplicas). */
  const replicaSlots: Array<NodePool[] | undefined> = new Array(CLUSTER_SLOTS).fill(undefined)
  let nextReplica = 0
  let state: { ok: boolean; from: string } | undefined
  let clusterDownSince: number | undefined
  let refreshing: Promise<void> | undefined
  let refreshTimer: NodeJS.Timeout | undefined
  let soonTimer: NodeJS.Timeout | undefined
  let closed = false

  function nodePool(node: ClusterNodeAddress): NodePool {
    const address = addressOf(node.host, node.port)
    const existing = byAddress.get(address)
    if (existing) return existing
    // READONLY is harmless on a master, and a replica promoted later keeps serving its pool.
    const nodeOptions = { ...options.nodeOptions(node), ...(readFromReplicas ? { readOnly: true } : {}) }
    const clients = Array.from({ length: size }, (_, i) => options.connect(nodeOptions, `${address}/${i}`))
    const pool = createMultiplexPool({ clients, slotsPerConnection, acquireTimeoutMs, name })
    connections.push(...pool.connections)
    const created = { address, pool }
    byAddress.set(address, created)
    return created
  }

  /** A master no longer in the slot map: its pool stops taking work and its connections quit. */
  function retire(node: NodePool): void {
    byAddress.delete(node.address)
    node.pool.close()
    for (const conn of node.pool.connections) {
      const at = connections.indexOf(conn)
      if (at !== -1) connections.splice(at, 1)
      void closeClient(conn.client)
    }
    logger.info({ node: node.address }, 'cluster node left the slot map; its connections are closed')
  }

  const seed = nodePool(options.seed)

  const ready = (node: NodePool) => node.pool.connections.some((c) => c.client.status === 'ready')

  /** Keyless commands: the seed while it answers, so INFO-based figures come from one stable node. */
  function keyless(): MultiplexPool {
    if (ready(seed)) return seed.pool
    for (const node of byAddress.values()) if (ready(node)) return node.pool
    return seed.pool
  }

  function slotOfKey(key: RedisArg): number {
    if (prefix === '') return calculateSlot(typeof key === 'number' ? String(key) : key)
    return calculateSlot(
      typeof key === 'string' || typeof key === 'number'
        ? prefix + String(key)
        : Buffer.concat([Buffer.from(prefix), key]),
    )
  }

  function slotOf(command: string, args: readonly RedisArg[]): number | undefined {
    const lower = command.toLowerCase()
    if (!exists(lower)) return undefined
    let slot: number | undefined
    for (const index of getKeyIndexes(lower, args as RedisArg[])) {
      const key = args[index]
      if (key === undefined) continue
      const s = slotOfKey(key)
      if (slot !== undefined && s !== slot) {
        throw new CrossSlotError(`${lower} has keys in slots ${slot} and ${s}; use {hash tags}`)
      }
      slot = s
    }
    return slot
  }

  const poolOfSlot = (slot: number | undefined) =>
    slot === undefined ? keyless() : (slots[slot]?.pool ?? keyless())

  /** A read-only command: the next ready replica of its slot, else the master. */
  function readerOfSlot(slot: number): MultiplexPool {
    const readers = replicaSlots[slot]
    if (readers !== undefined) {
      for (let tried = 0; tried < readers.length; tried++) {
        const reader = readers[nextReplica++ % readers.length]!
        if (ready(reader)) return reader.pool
      }
    }
    return poolOfSlot(slot)
  }

  function applySlots(reply: unknown, askedHost: string): void {
    if (!Array.isArray(reply)) return
    const kept = new Set<NodePool>()
    const next: Array<NodePool | undefined> = new Array(CLUSTER_SLOTS).fill(undefined)
    const nextReplicas: Array<NodePool[] | undefined> = new Array(CLUSTER_SLOTS).fill(undefined)
    for (const range of reply as unknown[]) {
      // [start, end, [master host, port, id], ...replicas]; anything else is no slot range.
      if (!Array.isArray(range)) continue
      const [start, end, master, ...replicas] = range as [number, number, unknown[], ...unknown[][]]
      if (!Array.isArray(master)) continue
      const node = parseAddress(`${String(master[0])}:${String(master[1])}`, askedHost)
      if (!node) continue
      const pool = nodePool(node)
      kept.add(pool)
      const readers: NodePool[] = []
      if (readFromReplicas) {
        for (const replica of replicas) {
          if (!Array.isArray(replica)) continue
          const at = parseAddress(`${String(replica[0])}:${String(replica[1])}`, askedHost)
          if (!at) continue
          const replicaPool = nodePool(at)
          kept.add(replicaPool)
          readers.push(replicaPool)
        }
      }
      for (let s = Number(start); s <= Number(end) && s < CLUSTER_SLOTS; s++) {
        next[s] = pool
        if (readers.length > 0) nextReplicas[s] = readers
      }
    }
    if (kept.size === 0) return
    for (let s = 0; s < CLUSTER_SLOTS; s++) {
      slots[s] = next[s]
      replicaSlots[s] = nextReplicas[s]
    }
    for (const node of [...byAddress.values()]) {
      if (!kept.has(node) && node !== seed) retire(node)
    }
  }

  function bounded<T>(promise: Promise<T>): Promise<T> {
    return withTimeout(promise, options.commandTimeoutMs, () => {
      throw new Error('cluster topology read timed out')
    })
  }

  function setState(ok: boolean, from: string): void {
    const changed = state === undefined ? !ok : state.ok !== ok
    state = { ok, from }
    if (ok) clusterDownSince = undefined
    if (changed) {
      if (ok) logger.info({ node: from }, 'cluster_state is ok: the cluster serves every slot')
      else logger.warn({ node: from }, 'cluster_state is fail: the cluster refuses commands')
    }
  }

  async function readTopology(): Promise<void> {
    // The seed first, then every other master: the first that answers both reads wins.
    const candidates = [seed, ...[...byAddress.values()].filter((n) => n !== seed)]
    for (const node of candidates) {
      const conn = node.pool.connections.find((c) => c.client.status === 'ready' && !c.exclusive)
      if (!conn) continue
      try {
        const [slotsReply, infoReply] = await bounded(
          Promise.all([conn.client.call('CLUSTER', 'SLOTS'), conn.client.call('CLUSTER', 'INFO')]),
        )
        if (closed) return
        const host = String(conn.client.options.host ?? options.seed.host)
        applySlots(slotsReply, host)
        setState(/^cluster_state:ok\s*$/m.test(String(infoReply)), node.address)
        return
      } catch (err) {
        logger.debug({ err, node: node.address }, 'cluster topology read failed on this node')
      }
    }
  }

  function refresh(): Promise<void> {
    if (closed) return Promise.resolve()
    refreshing ??= readTopology().finally(() => {
      refreshing = undefined
    })
    return refreshing
  }

  /** A MOVED or CLUSTERDOWN says the map or the state changed: read it again shortly, once. */
  function refreshSoon(): void {
    if (soonTimer || closed) return
    soonTimer = setTimeout(() => {
      soonTimer = undefined
      void refresh()
    }, 50)
    soonTimer.unref()
  }

  const schedule = () => {
    if (closed) return
    refreshTimer = setTimeout(() => {
      void refresh().finally(schedule)
    }, options.refreshIntervalMs)
    refreshTimer.unref()
  }
  // The seed's first connection ready reads the map; until then everything goes to the seed and
  // MOVED replies route commands meanwhile.
  seed.pool.connections[0]?.client.once('ready', () => void refresh())
  schedule()

  return {
    connections,
    refresh,
    slotOf,
    nodes: () => [...byAddress.keys()],

    route(command, args) {
      const slot = slotOf(command, args)
      if (!readFromReplicas || slot === undefined || !hasFlag(command.toLowerCase(), 'readonly')) {
        return poolOfSlot(slot)
      }
      return readerOfSlot(slot)
    },

    routeBatch(commands: readonly RedisCommand[]) {
      let slot: number | undefined
      for (const [command, ...args] of commands) {
        const s = slotOf(command, args)
        if (s === undefined) continue
        if (slot !== undefined && s !== slot) {
          throw new CrossSlotError(
            `a pipeline or transaction has keys in slots ${slot} and ${s}; use {hash tags}`,
          )
        }
        slot = s
      }
      return poolOfSlot(slot)
    },

    routeLease(key) {
      if (key === undefined) throw new ClusterKeyRequiredError()
      return poolOfSlot(slotOfKey(key))
    },

    onReplyError(err): Redirect | undefined {
      if (replyCode(err) === 'CLUSTERDOWN') {
        clusterDownSince ??= Date.now()
        refreshSoon()
        return undefined
      }
      const redirection = redirectionOf(err)
      if (!redirection) return undefined
      const node = parseAddress(redirection.address, options.seed.host)
      if (!node) return undefined
      const target = nodePool(node)
      if (redirection.type === 'ASK') return { type: 'ask', pool: target.pool, asking: true }
      slots[redirection.slot] = target
      refreshSoon()
      return { type: 'moved', pool: target.pool, asking: false }
    },

    stats(): MultiplexPoolStats {
      const total: MultiplexPoolStats = {
        max: 0,
        active: 0,
        idle: 0,
        pending: 0,
        inFlight: 0,
        busySeconds: 0,
      }
      for (const node of byAddress.values()) {
        const s = node.pool.stats()
        total.max += s.max
        total.active += s.active
        total.idle += s.idle
        total.pending += s.pending
        total.inFlight += s.inFlight
        total.busySeconds += s.busySeconds
      }
      return total
    },

    unavailable() {
      // Until the slot map is known every command would go to the seed and bounce.
      if (state === undefined) return 'the cluster slot map has not been read yet'
      if (clusterDownSince !== undefined) return 'the cluster answers CLUSTERDOWN (cluster_state is fail)'
      if (state && !state.ok) return `cluster_state is fail (as ${state.from} sees it)`
      return undefined
    },

    close() {
      closed = true
      clearTimeout(refreshTimer)
      clearTimeout(soonTimer)
      for (const node of byAddress.values()) node.pool.close()
    },
  }
}

/**
 * The pool monitor's `cluster` option for an endpoint: with REDIS_CLUSTER, REDIS_URL is a seed and
 * every node found is dialled with the endpoint's credentials and TLS; otherwise false.
 */
export function clusterPoolOption(
  endpoint: RedisEndpoint,
  /** The endpoint as of the latest SIGHUP, so nodes found later get rotated credentials. @default endpoint */
  current: () => RedisEndpoint = () => endpoint,
): false | { nodeOptions: (node: ClusterNodeAddress) => RedisOptions; readFromReplicas: boolean } {
  return endpoint.topology === 'cluster'
    ? { nodeOptions: (node) => nodeOptions(current(), node), readFromReplicas: endpoint.readFromReplicas }
    : false
}
