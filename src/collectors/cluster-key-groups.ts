import { CLUSTER_SLOTS } from '../redis/cluster-topology.js'
import type { Topology } from '../redis/endpoint.js'
import { textReply } from '../redis/reply-shape.js'
import { parseClusterNodes } from './cluster-parser.js'
import type { RedisCommander } from './collector.js'
import type { KeyGroupOptions } from './key-groups.js'

/**
 * Key groups on a Redis Cluster (REDIS_CLUSTER). SCAN is keyless, so a pass through the pool walks
 * the REDIS_URL node only; alone, it would call one master's keys the whole keyspace and report
 * `redis_key_groups_sampled_fraction 1`. This is that node's share of the 16384 slots (CLUSTER
 * NODES, `myself`), given to the scanner as `keyspaceShare`: counts are scaled to the whole cluster
 * and the fraction says how much was seen (about one master's share). Keys spread evenly across
 * slots unless hash tags pile them up: a group under one `{tag}` lives on one master and is over- or
 * under-counted. Exact per-node figures: scrape each node with `/scrape?target=<node>&check-keys=`.
 */
export function clusterKeyspaceShare(redis: RedisCommander): () => Promise<number> {
  return async () => {
    const me = parseClusterNodes(textReply('CLUSTER NODES', await redis.call('CLUSTER', 'NODES'))).find(
      (n) => n.myself,
    )
    const served = me?.slots.reduce((n, [lo, hi]) => n + hi - lo + 1, 0) ?? 0
    // A node serving no slot (a replica named by REDIS_URL) holds a copy of its master's keys:
    // the share of that master is unknown here, so no scaling (and the docs say so).
    return served > 0 ? served / CLUSTER_SLOTS : 1
  }
}

/**
 * The commander key-group passes use on a cluster: no `pipeline`, because MEMORY USAGE of keys of
 * many slots in one pipeline is cross-slot; single calls are routed by slot (to the node that was
 * scanned) and the pool pipelines them on the wire anyway.
 */
export function clusterKeyGroupCommander(redis: RedisCommander): RedisCommander {
  const { callBuffer } = redis
  return {
    call: (command, ...args) => redis.call(command, ...args),
    ...(callBuffer ? { callBuffer: (command, ...args) => callBuffer.call(redis, command, ...args) } : {}),
  }
}

/**
 * The key-group part of createServerStats' options on `topology`: on a cluster, the slot share and
 * the unpipelined commander; elsewhere the options as they are. The service and the `status`/`top`
 * views both take them from here.
 */
export function keyGroupsOnTopology(
  topology: Topology,
  redis: RedisCommander,
  keyGroups: KeyGroupOptions,
): { keyGroups: KeyGroupOptions; keyGroupRedis?: RedisCommander } {
  if (topology !== 'cluster') return { keyGroups }
  return {
    keyGroups: { ...keyGroups, keyspaceShare: clusterKeyspaceShare(redis) },
    keyGroupRedis: clusterKeyGroupCommander(redis),
  }
}
