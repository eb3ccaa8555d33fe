import type { Registry } from 'prom-client'

export interface Sample {
  labels?: Record<string, string | number>
  value: number
}

export interface SnapshotFamilyDef {
  name: string
  help: string
  type: 'gauge' | 'counter'
}

/**
 * A family whose samples are read at scrape time from a snapshot the caller owns (INFO fields,
 * key-group results). prom-client's Counter can only be incremented, but Redis's own counters
 * must be copied through as they are, so these families are registered as plain collectable
 * objects: the registry reads them through get(), like any metric.
 */
export function registerSnapshotFamily(
  registry: Registry,
  def: SnapshotFamilyDef,
  read: () => readonly Sample[],
): void {
  const metric = {
    name: def.name,
    help: def.help,
    type: def.type,
    aggregator: 'sum' as const,
    get() {
      const values = read().map((s) => ({ value: s.value, labels: s.labels ?? {} }))
      return Promise.resolve({ name: def.name, help: def.help, type: def.type, values, aggregator: 'sum' })
    },
    reset() {},
    // The samples without get()'s copy and promise: the /scrape renderer reads ~210 families per
    // target per scrape this way (src/targets/exposition.ts).
    samples: read,
  }
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
}
