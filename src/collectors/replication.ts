import type { Registry } from 'prom-client'
import { serverMetrics } from '../metrics/definitions.js'
import { type Collector, fromInfo, gauge, type View } from './collector.js'
import type { ParsedInfo } from './info-parser.js'

const masterLabels = (info: ParsedInfo) => ({
  master_host: info.fields['master_host'] ?? '',
  master_port: info.fields['master_port'] ?? '',
})
const replicaLabels = (r: ParsedInfo['replicas'][number]) => ({
  slave_ip: r.ip,
  slave_port: r.port,
  slave_state: r.state,
})
const int = (raw: string) => {
  const n = Number(raw)
  return Number.isFinite(n) ? n : 0
}

/**
 * Replication from INFO, as redis_exporter labels it: on a replica, its link to the master
 * (labelled with the master); on a master, one series per connected replica. The plain replication
 * fields (offsets, backlog) are in the INFO tables.
 */
export const replicationCollector: Collector<never> = {
  name: 'replication',
  register(registry: Registry, view: View) {
    const onReplica = (field: string, value: (raw: string) => number) =>
      fromInfo(view, (info) => {
        const raw = info.fields[field]
        return raw === undefined ? [] : [{ value: value(raw), labels: masterLabels(info) }]
      })
    gauge(
      registry,
      serverMetrics.masterLinkUp,
      onReplica('master_link_status', (raw) => (raw === 'up' ? 1 : 0)),
    )
    gauge(registry, serverMetrics.masterLastIo, onReplica('master_last_io_seconds_ago', int))
    gauge(registry, serverMetrics.masterSyncInProgress, onReplica('master_sync_in_progress', int))
    gauge(registry, serverMetrics.slaveReplOffset, onReplica('slave_repl_offset', int))
    gauge(
      registry,
      serverMetrics.slaveInfo,
      fromInfo(view, (info) =>
        info.fields['role'] === 'slave'
          ? [{ value: 1, labels: { ...masterLabels(info), read_only: info.fields['slave_read_only'] ?? '' } }]
          : [],
      ),
    )
    gauge(
      registry,
      serverMetrics.connectedSlaveOffset,
      fromInfo(view, (info) => info.replicas.map((r) => ({ value: r.offset, labels: replicaLabels(r) }))),
    )
    gauge(
      registry,
      serverMetrics.connectedSlaveLag,
      fromInfo(view, (info) =>
        info.replicas.flatMap((r) =>
          r.lag === undefined ? [] : [{ value: r.lag, labels: replicaLabels(r) }],
        ),
      ),
    )
  },
}
