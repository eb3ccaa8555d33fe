import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { promisify } from 'node:util'
// The package's own CLUSTER INFO parser, pinned by test/collectors/cluster-parser.test.ts on captured replies.
import { type ClusterInfo, parseClusterInfo } from '../../src/collectors/cluster-parser.js'
import { freePort, type RedisServer, startRedis } from './redis-server.js'
import { waitFor } from './wait-for.js'

const execFileAsync = promisify(execFile)

/** Redis Cluster's bus listens on the data port + 10000; both must be free. */
const BUS_PORT_OFFSET = 10_000

export interface ClusterOptions {
  /** Masters; slots are split evenly between them. @default 3 */
  masters?: number
  /** Replicas per master. @default 0 */
  replicasPerMaster?: number
  /** requirepass and masterauth of every node. */
  password?: string
  /**
   * How long a node may be silent before it is flagged failing. Short so a SIGKILLed master
   * turns the cluster to `fail` within a couple of seconds instead of the default 15.
   * @default 1000
   */
  nodeTimeoutMs?: number
  /** Extra redis-server arguments for every node. */
  args?: string[]
}

export interface ClusterNode extends RedisServer {
  /** The node's 40-character cluster id (stable across kill/restart: nodes.conf survives). */
  readonly id: string
  /** `host:port` as CLUSTER NODES prints it. */
  readonly address: string
}

export interface SlotMigration {
  /** MIGRATEs every key still in the slot from the source to the target. */
  migrateKeys(): Promise<number>
  /** Assigns the slot to the target on every live node (CLUSTER SETSLOT ... NODE). */
  finish(): Promise<void>
}

export interface RedisCluster {
  /** Every node in start order (redis-cli makes the first `masters` of them masters). */
  readonly nodes: readonly ClusterNode[]
  readonly masters: readonly ClusterNode[]
  readonly replicas: readonly ClusterNode[]
  /** redis:// URL of the first master (password included when there is one). */
  readonly url: string
  readonly password: string | undefined
  /** CLUSTER INFO of one node, parsed. */
  info(node?: ClusterNode): Promise<ClusterInfo>
  /** Raw CLUSTER NODES text of one node. */
  clusterNodes(node?: ClusterNode): Promise<string>
  /** Waits until every live node reports `cluster_state:<state>` (and, for ok, agrees on the slot map). */
  waitForState(state: 'ok' | 'fail', timeoutMs?: number): Promise<void>
  /** The master serving `slot` according to `node` (default: the first live master). */
  ownerOf(slot: number): Promise<ClusterNode>
  /** CLUSTER KEYSLOT through redis-cli. */
  keySlot(key: string): Promise<number>
  /** Starts moving `slot` to `to` (IMPORTING on `to`, MIGRATING on the owner); keys stay where they are. */
  beginSlotMigration(slot: number, to: ClusterNode): Promise<SlotMigration>
  /** Moves `slot` with its keys to `to`, the way `redis-cli --cluster reshard` does. */
  moveSlot(slot: number, to: ClusterNode): Promise<void>
  /** Stops every node and removes their directories. */
  stop(): Promise<void>
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A free loopback port whose cluster bus port (port + 10000) is free as well. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await freePort()
    if (port + BUS_PORT_OFFSET > 65_535 || taken.has(port) || taken.has(port + BUS_PORT_OFFSET)) continue
    if (await portIsFree(port + BUS_PORT_OFFSET)) return port
  }
  throw new Error('no free port pair (port, port+10000) for a cluster node')
}

/**
 * Starts a real Redis Cluster on free loopback ports: `masters` redis-servers with
 * `--cluster-enabled yes`, joined by `redis-cli --cluster create --cluster-yes`, and waits until
 * every node says `cluster_state:ok`. Start it once per test file (beforeAll); nodes can be
 * SIGKILLed and restarted (they keep their nodes.conf, so they rejoin with the same id).
 */
export async function startCluster(options: ClusterOptions = {}): Promise<RedisCluster> {
  const masterCount = options.masters ?? 3
  const replicasPerMaster = options.replicasPerMaster ?? 0
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000
  const password = options.password
  const total = masterCount * (1 + replicasPerMaster)
  const taken = new Set<number>()
  const servers: RedisServer[] = []

  try {
    const starting: Promise<RedisServer>[] = []
    for (let i = 0; i < total; i++) {
      const port = await freeClusterPort(taken)
      taken.add(port)
      taken.add(port + BUS_PORT_OFFSET)
      starting.push(
        startRedis({
          port,
          ...(password ? { password } : {}),
          args: [
            '--cluster-enabled',
            'yes',
            // Relative to --dir, which startRedis makes per node: a restart finds it again.
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(nodeTimeoutMs),
            ...(password ? ['--masterauth', password] : []),
            ...(options.args ?? []),
          ],
        }),
      )
    }
    const settled = await Promise.allSettled(starting)
    for (const result of settled) if (result.status === 'fulfilled') servers.push(result.value)
    const failed = settled.find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason

    const auth = password ? ['--no-auth-warning', '-a', password] : []
    await execFileAsync(
      'redis-cli',
      [
        ...auth,
        '--cluster',
        'create',
        ...servers.map((s) => `${s.host}:${s.port}`),
        '--cluster-replicas',
        String(replicasPerMaster),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    )
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()))
    throw err
  }

  const nodeId = async (server: RedisServer) => (await server.cli('CLUSTER', 'MYID')).trim()
  const nodes: ClusterNode[] = []
  for (const server of servers) {
    const id = await nodeId(server)
    nodes.push({
      ...server,
      id,
      address: `${server.host}:${server.port}`,
      // The spread copied pid's value once; the getter follows restarts.
      get pid() {
        return server.pid
      },
    })
  }

  const alive = async (node: ClusterNode) => {
    try {
      return (await node.cli('PING')).trim() === 'PONG'
    } catch {
      return false
    }
  }

  const info = async (node?: ClusterNode) => {
    const target = node ?? (await firstLive())
    return parseClusterInfo(await target.cli('CLUSTER', 'INFO'))
  }

  const firstLive = async (): Promise<ClusterNode> => {
    for (const node of nodes) if (await alive(node)) return node
    throw new Error('no cluster node answers')
  }

  const liveNodes = async () => {
    const live: ClusterNode[] = []
    for (const node of nodes) if (await alive(node)) live.push(node)
    return live
  }

  const roles = async () => {
    // After create, redis-cli may pair replicas with masters in any order: ask the nodes.
    const text = await (await firstLive()).cli('CLUSTER', 'NODES')
    const masterIds = new Set<string>()
    for (const line of text.trim().split('\n')) {
      const [id, , flags] = line.split(' ')
      if (id && flags?.split(',').includes('master')) masterIds.add(id)
    }
    return masterIds
  }

  const waitForState = async (state: 'ok' | 'fail', timeoutMs = 20_000) => {
    await waitFor(
      async () => {
        const live = await liveNodes()
        if (live.length === 0) return false
        for (const node of live) {
          const i = await info(node)
          if (i.cluster_state !== state) return false
          if (state === 'ok' && i.cluster_slots_ok !== '16384') return false
        }
        if (state === 'ok') {
          // Every node must also agree on who owns which slot, or a client may see MOVED
          // bounce between nodes during the first seconds.
          const views = await Promise.all(live.map((n) => n.cli('CLUSTER', 'SLOTS')))
          const normal = views.map((v) => v.split('\n').sort().join('\n'))
          if (normal.some((v) => v !== normal[0])) return false
        }
        return true
      },
      { timeoutMs, intervalMs: 100, what: `cluster_state:${state} on every live node` },
    )
  }

  await waitForState('ok', 30_000)
  // Replicas are attached by CLUSTER REPLICATE after the slots are assigned; wait until the
  // gossip shows every one of them as a replica.
  const masterIds: Set<string> = await waitFor(
    async () => {
      const ids = await roles()
      return ids.size === masterCount ? ids : undefined
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `${masterCount} masters in CLUSTER NODES` },
  )

  const ownerOf = async (slot: number) => {
    const node = await firstLive()
    const text = await node.cli('CLUSTER', 'NODES')
    for (const line of text.trim().split('\n')) {
      const fields = line.split(' ')
      const id = fields[0]
      for (const range of fields.slice(8)) {
        if (range.startsWith('[')) continue
        const [lo, hi] = range.split('-').map(Number)
        if (lo !== undefined && slot >= lo && slot <= (hi ?? lo)) {
          const owner = nodes.find((n) => n.id === id)
          if (owner) return owner
        }
      }
    }
    throw new Error(`no node owns slot ${slot}`)
  }

  const beginSlotMigration = async (slot: number, to: ClusterNode): Promise<SlotMigration> => {
    const from = await ownerOf(slot)
    if (from === to) throw new Error(`slot ${slot} already lives on ${to.address}`)
    await to.cli('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id)
    await from.cli('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id)
    const migrateKeys = async () => {
      let moved = 0
      for (;;) {
        const keys = (await from.cli('CLUSTER', 'GETKEYSINSLOT', String(slot), '100'))
          .split('\n')
          .filter((k) => k.length > 0)
        if (keys.length === 0) return moved
        const authArgs = password ? ['AUTH', password] : []
        await from.cli('MIGRATE', to.host, String(to.port), '', '0', '5000', ...authArgs, 'KEYS', ...keys)
        moved += keys.length
      }
    }
    const finish = async () => {
      // The target first, then the source, then the rest: the order redis-cli uses, so the
      // slot is never owned by nobody.
      const order = [to, from, ...nodes.filter((n) => n !== to && n !== from && masterIds.has(n.id))]
      for (const node of order) {
        if (await alive(node)) await node.cli('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id)
      }
      await waitForState('ok')
    }
    return { migrateKeys, finish }
  }

  const first = nodes[0] as ClusterNode
  return {
    nodes,
    get masters() {
      return nodes.filter((n) => masterIds.has(n.id))
    },
    get replicas() {
      return nodes.filter((n) => !masterIds.has(n.id))
    },
    url: first.url,
    password,
    info,
    clusterNodes: async (node) => (node ?? (await firstLive())).cli('CLUSTER', 'NODES'),
    waitForState,
    ownerOf,
    keySlot: async (key) => Number((await (await firstLive()).cli('CLUSTER', 'KEYSLOT', key)).trim()),
    beginSlotMigration,
    moveSlot: async (slot, to) => {
      const migration = await beginSlotMigration(slot, to)
      await migration.migrateKeys()
      await migration.finish()
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()))
    },
  }
}
