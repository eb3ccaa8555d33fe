import type { Logger } from 'pino'
import { Counter, type Registry } from 'prom-client'
import { serverMetrics } from '../metrics/definitions.js'
import type { Collector, RedisCommander, Snapshot } from './collector.js'
import { memoryUsagePercent } from './status.js'

export interface MemoryPurgeOptions {
  redis: RedisCommander
  logger: Logger
  /** Memory at or above this percentage of maxmemory is critical. */
  criticalPercent: number
  /** At most one MEMORY PURGE per interval. */
  minIntervalMs: number
  /** Off: no command is sent, the counter stays at 0. */
  enabled: boolean
  now?: () => number
}

/**
 * AUTO_MEMORY_PURGE: a collection that finds memory critical sends MEMORY PURGE (frees allocator
 * pages jemalloc keeps), at most once per interval, counted in redis_monitor_memory_purges_total.
 */
export function createMemoryPurgeCollector(options: MemoryPurgeOptions): Collector<never> {
  const { redis, logger } = options
  const now = options.now ?? Date.now
  let lastPurgeAt = Number.NEGATIVE_INFINITY
  const counters: Counter[] = []
  const count = (result: 'ok' | 'error') => {
    for (const c of counters) c.inc({ result })
  }

  return {
    name: 'memory-purge',
    register(registry: Registry) {
      const purges = new Counter({ ...serverMetrics.memoryPurges, registers: [registry] })
      for (const result of ['ok', 'error']) purges.inc({ result }, 0)
      counters.push(purges)
    },
    observe(snapshot: Snapshot) {
      if (!options.enabled) return
      const percent = memoryUsagePercent(snapshot.info)
      if (percent === null || percent < options.criticalPercent) return
      if (now() - lastPurgeAt < options.minIntervalMs) return
      lastPurgeAt = now()
      logger.warn({ memoryPercent: percent }, 'memory is critical: running MEMORY PURGE')
      redis.call('MEMORY', 'PURGE').then(
        () => count('ok'),
        (err: unknown) => {
          count('error')
          logger.warn({ err }, 'MEMORY PURGE failed')
        },
      )
    },
  }
}
