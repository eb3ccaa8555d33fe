import type { Registry } from 'prom-client'
import { serverMetrics } from '../metrics/definitions.js'
import { integerReply, rowsReply } from '../redis/reply-shape.js'
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
          // [id, unix time, duration in µs, arguments, client address, client name]
          const newest = rowsReply('SLOWLOG GET', entries, 3)[0]
          return {
            length: integerReply('SLOWLOG LEN', length),
            lastId: newest ? integerReply('SLOWLOG GET', newest[0]) : 0,
            lastDurationSeconds: newest ? integerReply('SLOWLOG GET', newest[2]) / 1e6 : 0,
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
