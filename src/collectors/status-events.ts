import type { StatusLevel, StatusThresholds } from './status.js'
import type { StatusReport } from './status-history.js'

/** Events of the server stats, observed at every history sample (STATUS_HISTORY_INTERVAL_MS). */
export interface ServerStatsEvents {
  /** The status level changed (the first sample reports its level with `previous: null`). */
  status: { status: StatusLevel; previous: StatusLevel | null; reasons: string[]; at: string }
  /**
   * Memory use crossed a threshold, either way: `level` is WARNING at or above
   * `warningPercent`, CRITICAL at or above `criticalPercent`, OK below. Silent while maxmemory is
   * unset (no percentage to judge).
   */
  memoryRisk: {
    level: StatusLevel
    previous: StatusLevel | null
    memoryUsagePercent: number
    warningPercent: number
    criticalPercent: number
    at: string
  }
  /** A key group's count went above `keyGroupGrowthThreshold`; again only after it fell back to it. */
  keyGroupGrowth: { db: string; group: string; count: number; threshold: number; at: string }
  /** The cache layer in the same process started or stopped serving from its fallback. */
  fallback: { active: boolean; at: string }
}

export interface StatusWatcherOptions {
  thresholds: StatusThresholds
  /** Key-group count above which keyGroupGrowth fires; off when undefined. */
  keyGroupGrowthThreshold?: number | undefined
  emit<K extends keyof ServerStatsEvents>(event: K, payload: ServerStatsEvents[K]): void
}

const memoryLevel = (percent: number, t: StatusThresholds): StatusLevel =>
  percent >= t.memoryCriticalPercent ? 'CRITICAL' : percent >= t.memoryWarningPercent ? 'WARNING' : 'OK'

/** Pure: turns consecutive observations into the events above (state changes only). */
export function createStatusWatcher(options: StatusWatcherOptions) {
  const { thresholds, emit } = options
  let status: StatusLevel | null = null
  let memory: StatusLevel | null = null
  let fallback = false
  const grown = new Set<string>()

  return {
    observe(input: {
      report: Pick<StatusReport, 'status' | 'reasons' | 'memory_usage_percent'>
      keyGroups: ReadonlyArray<{ db: string; groups: ReadonlyArray<{ group: string; count: number }> }>
      fallbackActive: boolean
      at: number
    }) {
      const at = new Date(input.at).toISOString()
      const { report } = input
      if (report.status !== status) {
        emit('status', { status: report.status, previous: status, reasons: [...report.reasons], at })
        status = report.status
      }
      const percent = report.memory_usage_percent
      if (percent !== null) {
        const level = memoryLevel(percent, thresholds)
        // The first judgement is news only when memory is already at risk.
        if (level !== memory && (memory !== null || level !== 'OK')) {
          emit('memoryRisk', {
            level,
            previous: memory,
            memoryUsagePercent: percent,
            warningPercent: thresholds.memoryWarningPercent,
            criticalPercent: thresholds.memoryCriticalPercent,
            at,
          })
        }
        memory = level
      }
      const threshold = options.keyGroupGrowthThreshold
      if (threshold !== undefined) {
        for (const result of input.keyGroups) {
          for (const g of result.groups) {
            const key = `${result.db}\u0000${g.group}`
            if (g.count > threshold && !grown.has(key)) {
              grown.add(key)
              emit('keyGroupGrowth', { db: result.db, group: g.group, count: g.count, threshold, at })
            } else if (g.count <= threshold) grown.delete(key)
          }
        }
      }
      if (input.fallbackActive !== fallback) {
        fallback = input.fallbackActive
        emit('fallback', { active: fallback, at })
      }
    },
  }
}
