import type { Registry } from 'prom-client'
import { serverMetrics } from '../metrics/definitions.js'
import { type Collector, fromReading, gauge, type View } from './collector.js'

export interface Slowlog {
  length: number
  lastId: number
  lastDurationSeconds: number
}

/** SLOWLOG LEN and the newest entry (optional: managed Redis may refuse it). */
export const slowlogCollector: Collector<Slowlog> = {
  name: 'slowlog',
  // A Sentinel does not know SLOWLOG: never sent there.
  read: async (redis, { optional, mode }) =>
    (await mode) === 'sentinel'
      ? undefined
      : optional('SLOWLOG', async () => {
          const [length, entries] = await Promise.all([
            redis.call('SLOWLOG', 'LEN'),
            redis.call('SLOWLOG', 'GET', '1'),
          ])
          const newest = (entries as unknown[][])[0]
          return {
            length: Number(length),
            lastId: newest ? Number(newest[0]) : 0,
            lastDurationSeconds: newest ? Number(newest[2]) / 1e6 : 0,
          }
        }),
  register(registry: Registry, view: View) {
    const slowlog = (pick: (s: Slowlog) => number) =>
      fromReading(view, slowlogCollector, (s) => [{ value: pick(s) }])
    gauge(
      registry,
      serverMetrics.slowlogLength,
      slowlog((s) => s.length),
    )
    gauge(
      registry,
      serverMetrics.slowlogLastId,
      slowlog((s) => s.lastId),
    )
    gauge(
      registry,
      serverMetrics.lastSlowExecution,
      slowlog((s) => s.lastDurationSeconds),
    )
  },
}
