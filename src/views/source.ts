import pino from 'pino'
import { Registry } from 'prom-client'
import { keyGroupsOnTopology } from '../collectors/cluster-key-groups.js'
import {
  createServerStats,
  type HistorySample,
  type ServerStats,
  type StatusReport,
} from '../collectors/server-stats.js'
import type { Config } from '../config/config.js'
import { keyGroupOptions } from '../config/key-groups.js'
import { createPoolMonitor } from '../monitor/pool-monitor.js'
import type { PoolMonitor } from '../monitor/types.js'
import { clusterPoolOption } from '../redis/cluster-topology.js'
import { withTimeout } from '../timeout.js'

export interface SourceOptions {
  config: Config
  /** Bound on connecting, each command and a whole snapshot, in ms. */
  timeoutMs: number
  /** How often `top` probes and samples history; 0 for a one-shot snapshot. */
  intervalMs: number
  /** Samples kept for sparklines. */
  historySize?: number
}

export interface Snapshot {
  report: StatusReport
  /** Why Redis could not be read; undefined when it answered. */
  error: string | undefined
}

/** The views' own read of a Redis: a one-connection pool and the same collectors the service uses. */
export interface Source {
  snapshot(): Promise<Snapshot>
  /** The latest report without new Redis round trips (top's screen refresh). */
  current(): Snapshot
  history(): HistorySample[]
  close(): Promise<void>
}

/**
 * One pooled connection and the server-stats collector, so `status` and `top` show the numbers
 * /metrics and /status show. Silent logger: the views print their own summary of a failure, and
 * the pool's messages never hold the password anyway.
 */
export function createSource(options: SourceOptions): Source {
  const { config, timeoutMs, intervalMs } = options
  const logger = pino({ level: 'silent' })
  const registry = new Registry()
  const monitor: PoolMonitor = createPoolMonitor({
    redis: { ...config.redis.options, connectTimeout: timeoutMs },
    name: 'cli',
    size: 1,
    registry,
    logger,
    probeIntervalMs: intervalMs,
    commandTimeoutMs: Math.min(config.pool.commandTimeoutMs, timeoutMs),
    acquireTimeoutMs: timeoutMs,
    cluster: clusterPoolOption(config.redis),
  })
  const stats: ServerStats = createServerStats({
    redis: monitor,
    registry,
    logger,
    ...keyGroupsOnTopology(config.redis.topology, monitor, keyGroupOptions(config)),
    thresholds: { ...config.status },
    historySize: options.historySize ?? config.status.historySize,
    historyIntervalMs: intervalMs > 0 ? intervalMs : 60_000,
    backgroundTimeoutMs: timeoutMs,
    context: () => ({
      latencyMs: monitor.health().lastProbe?.latencyMs,
      breaker: monitor.breakerState(),
      poolUtilizationPercent: monitor.stats().utilizationPercent,
    }),
  })
  const keyGroupsOn = config.keyGroups.patterns.length > 0 || config.keyGroups.auto
  let lastError: string | undefined
  let started = false

  const current = (): Snapshot => {
    const health = monitor.health()
    const probe = health.lastProbe
    // The same input /status judges: with Sentinels, a replica answering is CRITICAL and Sentinels
    // that disagree are a WARNING here too.
    const report = stats.status({
      latencyMs: probe?.ok ? probe.latencyMs : undefined,
      breaker: health.breaker,
      sentinel: health.sentinel,
    })
    const error = probe && !probe.ok ? probe.error : report.available ? undefined : lastError
    return { report, error }
  }

  return {
    async snapshot() {
      if (!started) {
        started = true
        // start() also begins the key-group pass and history sampling (top's sparklines).
        stats.start()
      }
      const deadline = Date.now() + timeoutMs
      const probe = await monitor.probe()
      if (!probe.ok) {
        lastError = probe.error
        return current()
      }
      const collected = await stats.collect({ timeoutMs: Math.max(1, deadline - Date.now()) })
      lastError = collected.error
      // A one-shot status shows key groups only after their first pass, which may take a while
      // on a big keyspace: wait for it within the same budget, then show what there is.
      if (collected.ok && keyGroupsOn && intervalMs === 0) {
        while (stats.status({ latencyMs: 0, breaker: 'closed' }).key_groups_sampled_fraction === null) {
          if (Date.now() >= deadline) break
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
      return current()
    },
    current,
    history: () => stats.history(),
    async close() {
      await stats.close()
      // QUIT to a frozen Redis waits for an answer that never comes: give up on it after a second.
      await withTimeout(monitor.close(), Math.min(1_000, timeoutMs), () => undefined)
    },
  }
}
