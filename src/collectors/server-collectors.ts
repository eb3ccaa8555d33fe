import { clusterCollector } from './cluster.js'
import type { Collector } from './collector.js'
import { commandStatsCollector } from './commandstats.js'
import { infoCollector } from './info.js'
import { keyspaceCollector } from './keyspace.js'
import { latencyCollector } from './latency.js'
import { replicationCollector } from './replication.js'
import { sentinelCollector } from './sentinel.js'
import { slowlogCollector } from './slowlog.js'

/**
 * The stateless server-side features every scrape collects, /metrics and /scrape alike, in
 * registration order. A new feature (a topology's families) is a new file and one line here.
 * Stateful ones (key groups, memory purge) are made per scrape by their factories.
 */
export const SERVER_COLLECTORS: readonly Collector[] = [
  infoCollector,
  replicationCollector,
  keyspaceCollector,
  commandStatsCollector,
  latencyCollector,
  slowlogCollector,
  clusterCollector,
  sentinelCollector,
]
