import { Box, Text } from 'ink'
import { createElement as h, type ReactElement } from 'react'
import type { HistorySample } from '../collectors/server-stats.js'
import { bar, formatBytes, formatDuration, formatNumber, formatPercent, sparkline } from './format.js'
import type { Snapshot } from './source.js'

export interface DashboardProps {
  redis: string
  intervalSeconds: number
  snapshot: Snapshot | undefined
  history: HistorySample[]
  columns: number
  rows: number
}

const LABEL = 11
const STATUS_COLOR = { OK: 'green', WARNING: 'yellow', CRITICAL: 'red' } as const

/** One terminal line: never wraps, so the layout's height is exactly the number of lines. */
const line = (key: string, ...children: Array<ReactElement | string>) =>
  h(Box, { key, height: 1, flexShrink: 0 }, h(Text, { wrap: 'truncate-end' }, ...children))

const label = (text: string) => h(Text, { bold: true }, text.padEnd(LABEL))

/**
 * The `top` screen as a pure function of its props: header, status, gauges, sparklines from the
 * history, key groups. Sections that do not fit the terminal's height are dropped from the
 * bottom, so Ink never scrolls (a taller frame than the screen makes it clear and redraw).
 */
export function Dashboard(props: DashboardProps): ReactElement {
  const { snapshot, history, columns } = props
  const rows = Math.max(3, props.rows - 1)
  const width = Math.max(20, columns)
  const report = snapshot?.report
  const lines: ReactElement[] = []

  lines.push(
    line(
      'header',
      h(Text, { inverse: true, bold: true }, ' redis-pool-monitor top '),
      ` ${props.redis}  `,
      report?.available
        ? `Redis ${report.redis_version ?? '?'}  up ${formatDuration(report.uptime_seconds)}  `
        : '',
      h(Text, { dimColor: true }, `every ${props.intervalSeconds}s · q to quit`),
    ),
  )

  if (!report) {
    lines.push(line('wait', 'Connecting…'))
    return h(Box, { flexDirection: 'column', width }, ...lines)
  }

  if (report.available) {
    lines.push(
      line(
        'status',
        label('Status'),
        h(Text, { color: STATUS_COLOR[report.status], bold: true }, report.status),
        report.reasons.length > 0 ? `  ${report.reasons.join('; ')}` : '',
      ),
    )
  } else {
    lines.push(
      line(
        'status',
        label('Status'),
        h(Text, { color: 'red', bold: true }, 'UNREACHABLE'),
        ` retrying every ${props.intervalSeconds}s: ${snapshot?.error ?? 'Redis did not answer'}`,
      ),
    )
  }

  const gaugeWidth = Math.max(5, Math.min(50, width - LABEL - 32))
  const gauge = (key: string, name: string, percent: number | null, detail: string) =>
    line(
      key,
      label(name),
      h(
        Text,
        { color: percent === null ? 'gray' : percent >= 90 ? 'red' : percent >= 75 ? 'yellow' : 'green' },
        bar(percent === null ? null : percent / 100, gaugeWidth),
      ),
      ` ${formatPercent(percent).padStart(6)}  ${detail}`,
    )
  const latest = history.at(-1)
  // Without an answer there are no current values to show; the sparklines keep the recent past.
  if (report.available)
    lines.push(
      gauge(
        'memory',
        'Memory',
        report.memory_usage_percent,
        report.memory_usage_percent === null
          ? `${formatBytes(report.used_memory_bytes)} used, no maxmemory`
          : `${formatBytes(report.used_memory_bytes)} of ${formatBytes(report.max_memory_bytes)}`,
      ),
      line(
        'hits',
        label('Hit rate'),
        h(
          Text,
          { color: 'cyan' },
          bar(report.hit_rate_percent === null ? null : report.hit_rate_percent / 100, gaugeWidth),
        ),
        ` ${formatPercent(report.hit_rate_percent).padStart(6)}  ${report.hit_rate_percent === null ? 'too few lookups yet' : ''}`,
      ),
      line(
        'summary',
        label('Now'),
        `${formatNumber(report.ops_per_sec)} ops/s  ${formatNumber(report.connected_clients)} clients  ${formatNumber(report.total_keys)} keys  `,
        `latency ${report.latency_ms === null ? 'n/a' : `${report.latency_ms.toFixed(2)} ms`}`,
      ),
    )

  const sparkWidth = Math.max(5, width - LABEL - 14)
  const series = (pick: (s: HistorySample) => number | null) => history.map(pick)
  const trend = (
    key: string,
    name: string,
    values: Array<number | null>,
    shown: string,
    color: string,
    range?: { min: number; max: number },
  ) =>
    line(key, label(name), h(Text, { color }, sparkline(values, sparkWidth, range)), ` ${shown.padStart(12)}`)
  const trends = [
    line(
      'trends',
      h(
        Text,
        { dimColor: true },
        `Trends: last ${Math.min(history.length, sparkWidth)} samples, one every ${props.intervalSeconds}s`,
      ),
    ),
    trend(
      't-mem',
      'Memory',
      series((s) => s.used_memory_bytes),
      formatBytes(latest?.used_memory_bytes ?? null),
      'magenta',
    ),
    trend(
      't-hit',
      'Hit rate',
      series((s) => s.hit_rate_percent),
      formatPercent(latest?.hit_rate_percent ?? null),
      'cyan',
      { min: 0, max: 100 },
    ),
    trend(
      't-ops',
      'Ops/s',
      series((s) => s.ops_per_sec),
      formatNumber(latest?.ops_per_sec ?? null),
      'green',
    ),
    trend(
      't-cli',
      'Clients',
      series((s) => s.connected_clients),
      formatNumber(latest?.connected_clients ?? null),
      'blue',
    ),
    trend(
      't-lat',
      'Latency',
      series((s) => s.latency_ms),
      latest?.latency_ms == null ? 'n/a' : `${latest.latency_ms.toFixed(2)} ms`,
      'yellow',
    ),
  ]
  if (lines.length + 1 + trends.length <= rows) lines.push(line('gap1', ' '), ...trends)

  const groups = report.key_groups
  const room = rows - lines.length - 2
  if (groups.length > 0 && room >= 2) {
    const nameWidth = Math.min(30, Math.max(8, ...groups.map((g) => g.group.length)))
    const most = Math.max(1, ...groups.map((g) => g.memory_bytes ?? 0))
    const shown = groups.slice(0, room - 1)
    lines.push(
      line('gap2', ' '),
      line(
        'groups',
        h(Text, { bold: true }, 'Key groups'),
        h(
          Text,
          { dimColor: true },
          `  ${groups.length} by memory${shown.length < groups.length ? `, top ${shown.length} shown` : ''}`,
        ),
      ),
    )
    for (const g of shown) {
      lines.push(
        line(
          `g-${g.group}`,
          `  ${g.group.length > nameWidth ? `${g.group.slice(0, nameWidth - 1)}…` : g.group.padEnd(nameWidth)}`,
          `${formatNumber(g.count).padStart(11)} keys ${formatBytes(g.memory_bytes).padStart(10)}  `,
          h(
            Text,
            { color: 'magenta' },
            bar((g.memory_bytes ?? 0) / most, Math.max(0, width - nameWidth - 34)),
          ),
        ),
      )
    }
  }

  return h(Box, { flexDirection: 'column', width }, ...lines.slice(0, rows))
}
