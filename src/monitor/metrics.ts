import { Counter, type Gauge, type Registry } from 'prom-client'
import { ERROR_TYPES } from '../errors.js'
import { clusterPoolMetrics, REDIRECTION_TYPES } from '../metrics/cluster.js'
import { poolMetrics } from '../metrics/definitions.js'
import { poolGauge } from '../metrics/pool-gauge.js'
import { sentinelPoolMetrics } from '../metrics/sentinel.js'
import { BREAKER_STATE_CODE, BREAKER_TRANSITIONS } from './breaker.js'
import { createFastHistogram, type FastHistogram } from './fast-histogram.js'
import type { BreakerState, PoolStats } from './types.js'

/** What a monitor exposes to the families' scrape-time collect(). */
export interface MetricSource {
  readonly name: string
  stats(): PoolStats
  breakerState(): BreakerState
  latencyMs(): number | undefined
}

export interface PoolFamilies {
  acquireDuration: FastHistogram
  operationDuration: FastHistogram
  operationErrors: Counter<'pool' | 'type'>
  breakerTransitions: Counter<'pool' | 'from' | 'to'>
  redirections: Counter<'pool' | 'type'>
  failovers: Counter<'pool'>
  connectionRefusals: Counter<'pool'>
  connectionLatency: Gauge<'pool'>
  sources: Set<MetricSource>
  /** Registers a monitor's series (zeroed); the returned function removes them on close. */
  attach(source: MetricSource): (commandsUsed: Iterable<string>) => void
}

/**
 * One set of families per registry, shared by every monitor registered on it (a registry refuses a
 * second metric of the same name); each monitor is a `pool` label value. Point-in-time gauges are
 * read in collect() at scrape time from the monitors attached.
 */
const families = new WeakMap<Registry, PoolFamilies>()

export function poolFamilies(registry: Registry): PoolFamilies {
  const existing = families.get(registry)
  if (existing) return existing
  const sources = new Set<MetricSource>()
  const registers = [registry]

  const pointInTime = (
    def: { name: string; help: string; labelNames: readonly ['pool'] },
    read: (source: MetricSource) => number | undefined,
  ) => poolGauge({ def, registers, sources: () => sources, pool: (s) => s.name, read })

  const connectionLatency = pointInTime(poolMetrics.connectionLatency, (s) => s.latencyMs())
  const gauges = [
    pointInTime(poolMetrics.maxConnections, (s) => s.stats().max),
    pointInTime(poolMetrics.activeConnections, (s) => s.stats().active),
    pointInTime(poolMetrics.idleConnections, (s) => s.stats().idle),
    pointInTime(poolMetrics.pendingAcquires, (s) => s.stats().pending),
    pointInTime(poolMetrics.utilizationPercent, (s) => s.stats().utilizationPercent),
    pointInTime(poolMetrics.breakerState, (s) => BREAKER_STATE_CODE[s.breakerState()]),
    connectionLatency,
  ]

  // A counter read at scrape time: the pool keeps the total (in-flight work counted up to now).
  new Counter({
    name: poolMetrics.connectionBusySeconds.name,
    help: poolMetrics.connectionBusySeconds.help,
    labelNames: poolMetrics.connectionBusySeconds.labelNames,
    registers,
    collect() {
      this.reset()
      for (const source of sources) this.inc({ pool: source.name }, source.stats().busySeconds)
    },
  })

  const created: PoolFamilies = {
    sources,
    connectionLatency,
    acquireDuration: createFastHistogram(poolMetrics.acquireDuration, registry),
    operationDuration: createFastHistogram(poolMetrics.operationDuration, registry),
    operationErrors: new Counter({
      name: poolMetrics.operationErrors.name,
      help: poolMetrics.operationErrors.help,
      labelNames: poolMetrics.operationErrors.labelNames,
      registers,
    }),
    breakerTransitions: new Counter({
      name: poolMetrics.breakerTransitions.name,
      help: poolMetrics.breakerTransitions.help,
      labelNames: poolMetrics.breakerTransitions.labelNames,
      registers,
    }),
    redirections: new Counter({
      name: clusterPoolMetrics.redirections.name,
      help: clusterPoolMetrics.redirections.help,
      labelNames: clusterPoolMetrics.redirections.labelNames,
      registers,
    }),
    connectionRefusals: new Counter({
      name: poolMetrics.connectionRefusals.name,
      help: poolMetrics.connectionRefusals.help,
      labelNames: poolMetrics.connectionRefusals.labelNames,
      registers,
    }),
    failovers: new Counter({
      name: sentinelPoolMetrics.failovers.name,
      help: sentinelPoolMetrics.failovers.help,
      labelNames: sentinelPoolMetrics.failovers.labelNames,
      registers,
    }),
    attach(source) {
      sources.add(source)
      const pool = source.name
      // Zeroed up front so rate() and increase() have a series before the first error.
      for (const type of ERROR_TYPES) created.operationErrors.inc({ pool, type }, 0)
      for (const [from, to] of BREAKER_TRANSITIONS) created.breakerTransitions.inc({ pool, from, to }, 0)
      for (const type of REDIRECTION_TYPES) created.redirections.inc({ pool, type }, 0)
      created.failovers.inc({ pool }, 0)
      created.connectionRefusals.inc({ pool }, 0)
      created.acquireDuration.child({ pool })
      return (commandsUsed) => {
        sources.delete(source)
        for (const gauge of gauges) gauge.remove({ pool })
        created.acquireDuration.remove({ pool })
        for (const type of ERROR_TYPES) created.operationErrors.remove({ pool, type })
        for (const [from, to] of BREAKER_TRANSITIONS) created.breakerTransitions.remove({ pool, from, to })
        for (const type of REDIRECTION_TYPES) created.redirections.remove({ pool, type })
        created.failovers.remove({ pool })
        created.connectionRefusals.remove({ pool })
        for (const command of commandsUsed) {
          for (const status of ['ok', 'error']) created.operationDuration.remove({ pool, command, status })
        }
      }
    },
  }
  families.set(registry, created)
  return created
}
