import type { Registry } from 'prom-client'
import { serverMetrics } from '../metrics/definitions.js'
import { type Collector, counter, fromInfo, type View } from './collector.js'
import type { CommandStat } from './info-parser.js'

/**
 * redis_latency_percentiles_usec{cmd} as redis_exporter shows it: a summary whose quantiles come
 * from INFO latencystats and whose count and sum come from INFO commandstats.
 */
function registerLatencySummary(registry: Registry, view: View): void {
  const { name, help } = serverMetrics.latencyPercentiles
  const metric = {
    name,
    help,
    type: 'summary' as const,
    aggregator: 'sum' as const,
    get() {
      const info = view()?.info
      const values: Array<{ value: number; labels: Record<string, string>; metricName?: string }> = []
      for (const [cmd, quantiles] of Object.entries(info?.latencyPercentiles ?? {})) {
        const stats = info?.commandStats[cmd]
        if (!stats) continue
        for (const [quantile, value] of Object.entries(quantiles))
          values.push({ value, labels: { cmd, quantile } })
        values.push({ metricName: `${name}_sum`, value: stats.usec, labels: { cmd } })
        values.push({ metricName: `${name}_count`, value: stats.calls, labels: { cmd } })
      }
      return Promise.resolve({ name, help, type: 'summary', values, aggregator: 'sum' })
    },
    reset() {},
  }
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
}

/** Per-command calls and time (INFO commandstats), error replies (errorstats), latency percentiles (latencystats). */
export const commandStatsCollector: Collector<never> = {
  name: 'commandstats',
  register(registry: Registry, view: View) {
    const perCommand = (pick: (s: CommandStat) => number) =>
      fromInfo(view, (info) =>
        Object.entries(info.commandStats).map(([cmd, s]) => ({ value: pick(s), labels: { cmd } })),
      )
    counter(
      registry,
      serverMetrics.commandCalls,
      perCommand((s) => s.calls),
    )
    counter(
      registry,
      serverMetrics.commandDuration,
      perCommand((s) => s.usec / 1e6),
    )
    counter(
      registry,
      serverMetrics.commandRejected,
      perCommand((s) => s.rejectedCalls),
    )
    counter(
      registry,
      serverMetrics.commandFailed,
      perCommand((s) => s.failedCalls),
    )
    counter(
      registry,
      serverMetrics.errors,
      fromInfo(view, (info) =>
        Object.entries(info.errorStats).map(([err, value]) => ({ value, labels: { err } })),
      ),
    )
    registerLatencySummary(registry, view)
  },
}
