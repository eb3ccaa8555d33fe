import { createMemoryHistory } from '../history/memory.js'
import { type HistoryQuery, type HistorySample, type HistoryStore, listed } from '../history/types.js'
import type { SentinelHealth } from '../monitor/types.js'
import { clusterState } from './cluster.js'
import type { View } from './collector.js'
import { infoNumber, type ParsedInfo } from './info-parser.js'
import type { KeyGroupResult } from './key-groups.js'
import type { CollectResult } from './scrape.js'
import {
  hitRatePercent,
  judge,
  memoryUsagePercent,
  type StatusLevel,
  type StatusThresholds,
} from './status.js'
import { createStatusWatcher, type StatusWatcherOptions } from './status-events.js'

type BreakerState = 'closed' | 'half_open' | 'open'

/** What the pool monitor knows that INFO does not, for /status and history. */
export interface ClientContext {
  latencyMs: number | undefined
  breaker: BreakerState
  poolUtilizationPercent: number | undefined
  /** A cache layer in the same process serves from its fallback. @default false */
  fallbackActive?: boolean
}

export type { HistorySample } from '../history/types.js'

/** What /status knows besides the snapshot: the pool's probe, breaker and Sentinel view. */
export interface StatusRequest {
  latencyMs: number | undefined
  breaker: BreakerState
  sentinel?: SentinelHealth | undefined
}

export interface StatusReport {
  available: boolean
  status: StatusLevel
  reasons: string[]
  /** With Sentinels: INFO's role of the node that answered, and the pool's Sentinel view. */
  role?: string | null
  sentinel?: SentinelHealth
  memory_usage_percent: number | null
  hit_rate_percent: number | null
  total_keys: number
  latency_ms: number | null
  circuit_breaker_state: BreakerState
  redis_version: string | null
  uptime_seconds: number | null
  connected_clients: number | null
  used_memory_bytes: number | null
  max_memory_bytes: number | null
  ops_per_sec: number | null
  key_groups: Array<{ db: string; group: string; count: number; memory_bytes: number | null }>
  key_groups_sampled_fraction: number | null
  sampled_at: string | null
}

export interface StatusHistoryOptions {
  /** The scrape's latest snapshot while Redis is up. */
  view: View
  /** A collection, for each history sample. */
  collect(options: { timeoutMs: number }): Promise<CollectResult>
  keyGroups: () => KeyGroupResult[]
  thresholds: StatusThresholds
  historySize: number
  /** Where samples go; the in-memory ring of `historySize` when absent. */
  store?: HistoryStore
  historyIntervalMs: number
  backgroundTimeoutMs: number
  context?: () => ClientContext
  /** Why Redis is unavailable when it answered but refused (INFO denied by ACL), for the reasons. */
  unavailableReason?: () => string | undefined
  /** Receives the status events each sample gives rise to (state changes only). */
  emit?: StatusWatcherOptions['emit']
  /** Key-group count above which keyGroupGrowth fires; off when undefined. */
  keyGroupGrowthThreshold?: number
  now: () => number
}

export interface StatusHistory {
  status(input: StatusRequest): StatusReport
  /** Samples oldest first: the newest `historySize` without a query. */
  history(query?: HistoryQuery): HistorySample[]
  /**
   * Settles once the first background collection has (one `backgroundTimeoutMs` at most after
   * start()), so a /status asked in the first moments judges that collection rather than none.
   */
  firstCollection(): Promise<void>
  start(): void
  close(): void
}

const lifetimeTotals = (info: ParsedInfo) => ({
  hits: infoNumber(info, 'keyspace_hits') ?? 0,
  misses: infoNumber(info, 'keyspace_misses') ?? 0,
})

/**
 * /status (the latest snapshot judged against the thresholds) and /status/history (a ring of
 * samples, one background collection every `historyIntervalMs`).
 */
export function createStatusHistory(options: StatusHistoryOptions): StatusHistory {
  const { view, thresholds, now } = options
  const store = options.store ?? createMemoryHistory({ size: options.historySize })
  // The hit-rate window: lifetime counters of the latest samples, seeded from the store so a
  // restart with HISTORY_FILE keeps judging over the same window.
  const window: Array<{ available: boolean; hits: number; misses: number }> = store
    .query({ limit: options.historySize })
    .map((s) => ({ available: s.available, hits: s.keyspace_hits ?? 0, misses: s.keyspace_misses ?? 0 }))
  let timer: NodeJS.Timeout | undefined
  let closed = false
  let first: Promise<void> | undefined
  const watcher = options.emit
    ? createStatusWatcher({
        thresholds,
        keyGroupGrowthThreshold: options.keyGroupGrowthThreshold,
        emit: options.emit,
      })
    : undefined

  /** Hit rate over the history window when it saw enough lookups, else over the server's lifetime. */
  function hitRate(info: ParsedInfo): number | null {
    const current = lifetimeTotals(info)
    const oldest = window.find((h) => h.available)
    // Counters going backwards mean Redis restarted inside the window: judge its lifetime instead.
    if (oldest && current.hits >= oldest.hits && current.misses >= oldest.misses) {
      const windowed = hitRatePercent(
        current.hits - oldest.hits,
        current.misses - oldest.misses,
        thresholds.hitRateMinLookups,
      )
      if (windowed !== null) return windowed
    }
    return hitRatePercent(current.hits, current.misses, thresholds.hitRateMinLookups)
  }

  function status(input: StatusRequest): StatusReport {
    const snapshot = view()
    const info = snapshot?.info
    const memoryPercent = info ? memoryUsagePercent(info) : null
    const rate = info ? hitRate(info) : null
    const verdict = judge(
      {
        available: info !== undefined,
        memoryPercent,
        hitRate: rate,
        latencyMs: input.latencyMs,
        breaker: input.breaker,
        clusterState: clusterState(view),
        role: info?.fields['role'],
        sentinel: input.sentinel,
        unavailableReason: options.unavailableReason?.(),
      },
      thresholds,
    )
    const groups = options.keyGroups()
    const field = (name: string) => (info ? (infoNumber(info, name) ?? null) : null)
    return {
      available: info !== undefined,
      status: verdict.status,
      reasons: verdict.reasons,
      memory_usage_percent: memoryPercent,
      hit_rate_percent: rate,
      total_keys: info ? Object.values(info.keyspace).reduce((n, e) => n + e.keys, 0) : 0,
      latency_ms: input.latencyMs ?? null,
      circuit_breaker_state: input.breaker,
      redis_version: info?.fields['redis_version'] ?? null,
      uptime_seconds: field('uptime_in_seconds'),
      connected_clients: field('connected_clients'),
      used_memory_bytes: field('used_memory'),
      max_memory_bytes: field('maxmemory'),
      ops_per_sec: field('instantaneous_ops_per_sec'),
      key_groups: groups.flatMap((r) =>
        r.groups.map((g) => ({
          db: r.db,
          group: g.group,
          count: g.count,
          memory_bytes: r.memoryMeasured ? g.memoryBytes : null,
        })),
      ),
      // The roughest estimate among the databases: 1 only when every count is exact.
      key_groups_sampled_fraction:
        groups.length > 0 ? Math.min(...groups.map((r) => r.sampledFraction)) : null,
      sampled_at: snapshot ? new Date(snapshot.at).toISOString() : null,
      ...(input.sentinel ? { role: info?.fields['role'] ?? null, sentinel: input.sentinel } : {}),
    }
  }

  async function sample() {
    const result = await options.collect({ timeoutMs: options.backgroundTimeoutMs })
    const ctx = options.context?.()
    const info = result.ok ? view()?.info : undefined
    const totals = info ? lifetimeTotals(info) : undefined
    const field = (name: string) => (info ? (infoNumber(info, name) ?? null) : null)
    store.append({
      timestamp: new Date(now()).toISOString(),
      available: info !== undefined,
      used_memory_bytes: field('used_memory'),
      memory_usage_percent: info ? memoryUsagePercent(info) : null,
      hit_rate_percent: info ? hitRate(info) : null,
      ops_per_sec: field('instantaneous_ops_per_sec'),
      connected_clients: field('connected_clients'),
      latency_ms: ctx?.latencyMs ?? null,
      pool_utilization_percent: ctx?.poolUtilizationPercent ?? null,
      circuit_breaker_state: ctx?.breaker ?? null,
      total_keys: info ? Object.values(info.keyspace).reduce((n, e) => n + e.keys, 0) : null,
      fallback_in_use: ctx?.fallbackActive === true,
      keyspace_hits: totals?.hits ?? null,
      keyspace_misses: totals?.misses ?? null,
    })
    window.push({ available: info !== undefined, hits: totals?.hits ?? 0, misses: totals?.misses ?? 0 })
    while (window.length > options.historySize) window.shift()
    watcher?.observe({
      report: status({ latencyMs: ctx?.latencyMs, breaker: ctx?.breaker ?? 'closed' }),
      keyGroups: options.keyGroups(),
      fallbackActive: ctx?.fallbackActive === true,
      at: now(),
    })
  }

  const schedule = () => {
    if (closed) return
    timer = setTimeout(() => {
      sample().finally(schedule)
    }, options.historyIntervalMs)
    timer.unref()
  }

  return {
    status,
    history: (query) => store.query(query ?? { limit: options.historySize }).map(listed),
    firstCollection: () =>
      (first ?? Promise.resolve()).then(
        () => {},
        () => {},
      ),
    start() {
      if (first || closed) return
      first = sample().finally(schedule)
    },
    close() {
      closed = true
      clearTimeout(timer)
    },
  }
}
