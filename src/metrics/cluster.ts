/**
 * CLUSTER INFO fields and their families, one line per field, under redis_exporter's names: the
 * exporter copies every `cluster_*` field through as `redis_<field>` (hyphens become underscores,
 * `ok` becomes 1 and `fail` 0), except the two message totals, which it renames to `_total`
 * counters. Fields without the `cluster_` prefix (`total_cluster_links_buffer_limit_exceeded`)
 * are skipped, as the exporter skips them, so dashboards built on it see the same families.
 */

export interface ClusterInfoFamily {
  /** The CLUSTER INFO field. */
  field: string
  name: string
  help: string
  type: 'gauge' | 'counter'
}

const gauge = (field: string, help: string): ClusterInfoFamily => ({
  field,
  name: `redis_${field.replace(/[^a-zA-Z0-9_]/g, '_')}`,
  help,
  type: 'gauge',
})

/** Cluster bus message types Redis 7 counts (clusterMsgTypeNameArr in cluster.c). */
export const CLUSTER_MESSAGE_TYPES = [
  'ping',
  'pong',
  'meet',
  'fail',
  'publish',
  'publishshard',
  'auth-req',
  'auth-ack',
  'update',
  'mfstart',
  'module',
] as const

export const clusterInfoFamilies: readonly ClusterInfoFamily[] = [
  gauge('cluster_state', 'Cluster state as this node sees it: 1 ok, 0 fail (state code).'),
  gauge('cluster_slots_assigned', 'Hash slots assigned to some node (count, of 16384).'),
  gauge('cluster_slots_ok', 'Hash slots whose node is neither FAIL nor PFAIL (count).'),
  gauge(
    'cluster_slots_pfail',
    'Hash slots whose node is PFAIL: unreachable from this node, not yet agreed (count).',
  ),
  gauge(
    'cluster_slots_fail',
    'Hash slots whose node is FAIL: a majority of masters agree it is down (count).',
  ),
  gauge('cluster_known_nodes', 'Nodes this node knows, handshaking ones included (count).'),
  gauge('cluster_size', 'Masters serving at least one hash slot (count).'),
  gauge('cluster_current_epoch', 'The cluster current epoch (epoch number).'),
  gauge('cluster_my_epoch', 'Config epoch of this node (epoch number).'),
  {
    field: 'cluster_stats_messages_sent',
    name: 'redis_cluster_messages_sent_total',
    help: 'Messages sent on the cluster bus (count).',
    type: 'counter',
  },
  {
    field: 'cluster_stats_messages_received',
    name: 'redis_cluster_messages_received_total',
    help: 'Messages received on the cluster bus (count).',
    type: 'counter',
  },
  ...CLUSTER_MESSAGE_TYPES.flatMap((type) => [
    gauge(`cluster_stats_messages_${type}_sent`, `Cluster bus ${type} messages sent (count).`),
    gauge(`cluster_stats_messages_${type}_received`, `Cluster bus ${type} messages received (count).`),
  ]),
]

/** Client side: the pool's view of a cluster. */
export const clusterPoolMetrics = {
  redirections: {
    name: 'redis_pool_redirections_total',
    help: 'MOVED and ASK replies the pool followed to another cluster node (count).',
    labelNames: ['pool', 'type'] as const,
  },
} as const

export const REDIRECTION_TYPES = ['moved', 'ask'] as const
