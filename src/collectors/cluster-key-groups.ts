import { CLUSTER_SLOTS } from '../redis/cluster-topology.js'
import { parseClusterNodes } from './cluster-parser.js'
import type { RedisCommander } from './collector.js'

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
    const me = parseClusterNodes(String(await redis.call('CLUSTER', 'NODES'))).find((n) => n.myself)
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
  return { call: (command, ...args) => redis.call(command, ...args) }
}
