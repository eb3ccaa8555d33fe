import type { Registry } from 'prom-client'
import { INSTANCE_INFO_LABELS, infoFieldMetrics, serverMetrics } from '../metrics/definitions.js'
import { registerSnapshotFamily } from '../metrics/snapshot-family.js'
import { type Collector, fromInfo, gauge, type View } from './collector.js'
import { infoNumber } from './info-parser.js'

function convert(
  value: string | undefined,
  how: 'usecToSeconds' | 'okToOne' | undefined,
): number | undefined {
  if (value === undefined) return undefined
  if (how === 'okToOne') return value === 'ok' ? 1 : 0
  const n = Number(value)
  if (!Number.isFinite(n)) return undefined
  return how === 'usecToSeconds' ? n / 1e6 : n
}

/**
 * The families copied from one INFO field each (the per-section tables of metrics/definitions),
 * redis_instance_info and redis_start_time_seconds. Reads nothing beyond INFO.
 */
export const infoCollector: Collector<never> = {
  name: 'info',
  register(registry: Registry, view: View) {
    for (const def of infoFieldMetrics) {
      registerSnapshotFamily(
        registry,
        def,
        fromInfo(view, (info) => {
          const value = convert(info.fields[def.field], def.convert)
          return value === undefined ? [] : [{ value }]
        }),
      )
    }
    gauge(
      registry,
      serverMetrics.instanceInfo,
      fromInfo(view, (info) => [
        { value: 1, labels: Object.fromEntries(INSTANCE_INFO_LABELS.map((l) => [l, info.fields[l] ?? ''])) },
      ]),
    )
    gauge(
      registry,
      serverMetrics.startTime,
      fromInfo(view, (info) => {
        const serverTimeUsec = infoNumber(info, 'server_time_usec')
        const uptime = infoNumber(info, 'uptime_in_seconds')
        return serverTimeUsec === undefined || uptime === undefined
          ? []
          : [{ value: Math.round(serverTimeUsec / 1e6 - uptime) }]
      }),
    )
  },
}
