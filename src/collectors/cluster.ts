import type { Registry } from 'prom-client'
import { clusterInfoFamilies } from '../metrics/cluster.js'
import { registerSnapshotFamily } from '../metrics/snapshot-family.js'
import { textReply } from '../redis/reply-shape.js'
import { type ClusterInfo, clusterInfoValue, parseClusterInfo } from './cluster-parser.js'
import { type Collector, fromReading, type View } from './collector.js'

export interface ClusterReading {
  /** CLUSTER INFO of the node this collection talked to. */
  info: ClusterInfo
}

/**
 * Cluster mode, detected from INFO (`cluster_enabled:1`) as redis_exporter does: CLUSTER INFO
 * read in the same collection, every `cluster_*` field as a `redis_cluster_*` family. Nothing is
 * sent to a Redis that does not run cluster mode, so standalone scrapes cost no extra command.
 */
export const clusterCollector: Collector<ClusterReading> = {
  name: 'cluster',
  async read(redis, { info, optional }) {
    if ((await info).fields['cluster_enabled'] !== '1') return undefined
    const text = await optional('CLUSTER', async () =>
      textReply('CLUSTER INFO', await redis.call('CLUSTER', 'INFO')),
    )
    return text === undefined ? undefined : { info: parseClusterInfo(text) }
  },
  register(registry: Registry, view: View) {
    for (const def of clusterInfoFamilies) {
      registerSnapshotFamily(
        registry,
        def,
        fromReading(view, clusterCollector, (reading) => {
          const value = clusterInfoValue(reading.info[def.field])
          return value === undefined ? [] : [{ value }]
        }),
      )
    }
  },
}

/** `ok` or `fail` from the latest collection's CLUSTER INFO; undefined when not in cluster mode. */
export const clusterState = (view: View): string | undefined =>
  view()?.reading(clusterCollector)?.info['cluster_state']
