import type { Registry } from 'prom-client'
import { serverMetrics } from '../metrics/definitions.js'
import { type Collector, fromInfo, gauge, type View } from './collector.js'
import type { KeyspaceEntry } from './info-parser.js'

/**
 * redis_db_keys{db} and friends from INFO keyspace; db0 is always present (0 when empty), as in
 * redis_exporter, except on a Sentinel, which has no databases at all.
 */
export const keyspaceCollector: Collector<never> = {
  name: 'keyspace',
  register(registry: Registry, view: View) {
    const perDb = (pick: (e: KeyspaceEntry) => number) =>
      fromInfo(view, (info) => {
        if (info.fields['redis_mode'] === 'sentinel') return []
        const dbs = { db0: { keys: 0, expires: 0, avgTtlMs: 0 }, ...info.keyspace }
        return Object.entries(dbs).map(([db, e]) => ({ value: pick(e), labels: { db } }))
      })
    gauge(
      registry,
      serverMetrics.dbKeys,
      perDb((e) => e.keys),
    )
    gauge(
      registry,
      serverMetrics.dbKeysExpiring,
      perDb((e) => e.expires),
    )
    gauge(
      registry,
      serverMetrics.dbAvgTtl,
      perDb((e) => e.avgTtlMs / 1000),
    )
  },
}
