import { Writable } from 'node:stream'
import pino, { type Logger } from 'pino'
import type { Registry } from 'prom-client'

/** Value of one series, or undefined when the series does not exist. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name.replace(/_(count|sum|bucket)$/, ''))
  if (!metric) return undefined
  const { values } = await metric.get()
  const hit = values.find((v) =>
    (v as { metricName?: string }).metricName === undefined ||
    (v as { metricName?: string }).metricName === name
      ? Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want)
      : false,
  )
  return hit?.value
}

/** Sum of a histogram's _count over every series matching the labels. */
export async function histogramCount(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = registry.getSingleMetric(name)
  if (!metric) return 0
  const { values } = await metric.get()
  return values
    .filter((v) => (v as { metricName?: string }).metricName === `${name}_count`)
    .filter((v) =>
      Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want),
    )
    .reduce((sum, v) => sum + v.value, 0)
}

/** A pino logger whose lines are kept in memory, to check what would have been logged. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  return { logger: pino({ level }, stream), lines }
}
