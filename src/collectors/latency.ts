import type { Registry } from 'prom-client'
import { serverMetrics } from '../metrics/definitions.js'
import { integerReply, rowsReply, textReply } from '../redis/reply-shape.js'
import { type Collector, fromReading, gauge, type View } from './collector.js'

export interface LatencySpike {
  event: string
  lastUnixSeconds: number
  durationSeconds: number
}

/** LATENCY LATEST: the latest spike of each latency-monitor event (optional: managed Redis may refuse it). */
export const latencyCollector: Collector<LatencySpike[]> = {
  name: 'latency',
  // A Sentinel does not know LATENCY: never sent there.
  read: async (redis, { optional, mode }) =>
    (await mode) === 'sentinel'
      ? undefined
      : optional('LATENCY', async () => {
          // [event, unix time of the latest spike, its duration in ms, the all-time max in ms]
          const rows = rowsReply('LATENCY LATEST', await redis.call('LATENCY', 'LATEST'), 3)
          return rows.map((row) => ({
            event: textReply('LATENCY LATEST', row[0]),
            lastUnixSeconds: integerReply('LATENCY LATEST', row[1]),
            durationSeconds: integerReply('LATENCY LATEST', row[2]) / 1000,
          }))
        }),
  register(registry: Registry, view: View) {
    const spikes = (pick: (s: LatencySpike) => number) =>
      fromReading(view, latencyCollector, (latest) =>
        latest.map((s) => ({ value: pick(s), labels: { event_name: s.event } })),
      )
    gauge(
      registry,
      serverMetrics.latencySpikeLast,
      spikes((s) => s.lastUnixSeconds),
    )
    gauge(
      registry,
      serverMetrics.latencySpikeDuration,
      spikes((s) => s.durationSeconds),
    )
  },
}
