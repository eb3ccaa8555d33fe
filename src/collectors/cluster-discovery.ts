import type { Logger } from 'pino'
import { formatHostPort } from '../redis/endpoint.js'
import { textReply } from '../redis/reply-shape.js'
import { addressableNodes, type ClusterNodeEntry, parseClusterNodes } from './cluster-parser.js'
import type { RedisCommander } from './collector.js'

export interface ClusterDiscoveryOptions {
  /** Where CLUSTER NODES is sent: the service's pool (a keyless command: the REDIS_URL node). */
  redis: RedisCommander
  logger: Logger
  /** How often the node list is read in the background (the /scrape allow-list follows it). @default 30000 */
  intervalMs?: number
}

export interface ClusterDiscovery {
  /** Reads CLUSTER NODES now; keeps the result for `latest()`. */
  read(): Promise<ClusterNodeEntry[]>
  /** The nodes of the latest successful read (empty before the first). */
  latest(): ClusterNodeEntry[]
  /** `host:port` of every node of the latest read: what /scrape may dial without SCRAPE_TARGETS. */
  addresses(): string[]
  start(): void
  close(): void
}

/**
 * The cluster's nodes as CLUSTER NODES lists them, for `/discover-cluster-nodes` and the /scrape
 * allow-list. Read on demand and in the background; a failed read keeps the previous list (a node
 * list a minute old still names the nodes to scrape, and a scrape of a dead one says `redis_up 0`).
 */
export function createClusterDiscovery(options: ClusterDiscoveryOptions): ClusterDiscovery {
  const intervalMs = options.intervalMs ?? 30_000
  let nodes: ClusterNodeEntry[] = []
  let timer: NodeJS.Timeout | undefined
  let closed = false
  let failing = false

  async function read(): Promise<ClusterNodeEntry[]> {
    const text = textReply('CLUSTER NODES', await options.redis.call('CLUSTER', 'NODES'))
    nodes = addressableNodes(parseClusterNodes(text))
    return nodes
  }

  const schedule = () => {
    if (closed) return
    timer = setTimeout(() => {
      read()
        .then(
          () => {
            if (failing) options.logger.info('cluster node discovery answers again')
            failing = false
          },
          (err: unknown) => {
            if (!failing) options.logger.warn({ err }, 'cluster node discovery failed; keeping the last list')
            failing = true
          },
        )
        .finally(schedule)
    }, intervalMs)
    timer.unref()
  }

  return {
    read,
    latest: () => nodes,
    addresses: () => nodes.map((n) => formatHostPort(n)),
    start() {
      if (timer || closed) return
      read().catch(() => undefined)
      schedule()
    },
    close() {
      closed = true
      clearTimeout(timer)
    },
  }
}

export interface HttpSdGroup {
  targets: string[]
  labels: Record<string, string>
}

/**
 * Prometheus HTTP service discovery: one group per node, its role among the labels, each meant to
 * be scraped through this service's `/scrape?target=` (see prometheus/ for the job's relabelling).
 */
export function clusterHttpSd(nodes: readonly ClusterNodeEntry[], tls: boolean): HttpSdGroup[] {
  return nodes.map((node) => ({
    targets: [`${tls ? 'rediss://' : ''}${formatHostPort(node)}`],
    labels: {
      role: node.role,
      cluster_node_id: node.id,
      ...(node.masterId !== undefined ? { cluster_master_id: node.masterId } : {}),
    },
  }))
}
