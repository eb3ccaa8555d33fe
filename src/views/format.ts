import type { StatusReport } from '../collectors/server-stats.js'

/** Exit codes of `status`, in the Nagios plugin convention that cron jobs and checks expect. */
export const EXIT = { ok: 0, warning: 1, critical: 2, unknown: 3 } as const

export function exitCodeOf(report: Pick<StatusReport, 'available' | 'status'>): number {
  if (!report.available) return EXIT.unknown
  return report.status === 'OK' ? EXIT.ok : report.status === 'WARNING' ? EXIT.warning : EXIT.critical
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes)) return 'n/a'
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${UNITS[unit]}`
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'n/a'
  const s = Math.floor(seconds)
  const days = Math.floor(s / 86_400)
  const hours = Math.floor((s % 86_400) / 3_600)
  const minutes = Math.floor((s % 3_600) / 60)
  if (days > 0) return `${days}d ${hours}h`
  if (hours > 0) return `${hours}h ${minutes}m`
  if (minutes > 0) return `${minutes}m ${s % 60}s`
  return `${s}s`
}

export function formatNumber(n: number | null, digits = 0): string {
  if (n === null || !Number.isFinite(n)) return 'n/a'
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

export function formatPercent(n: number | null): string {
  return n === null ? 'n/a' : `${n.toFixed(1)}%`
}

/** A horizontal bar of `width` cells, `fraction` (0..1, clamped) of them full. */
export function bar(fraction: number | null, width: number): string {
  const cells = Math.max(0, Math.floor(width))
  if (fraction === null || !Number.isFinite(fraction)) return '·'.repeat(cells)
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * cells)
  return '█'.repeat(full) + '░'.repeat(cells - full)
}

const TICKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█']

/**
 * The last `width` values as a sparkline scaled between their own min and max (or `range` when
 * given, so percentages keep their meaning); missing values (Redis down) are blanks.
 */
export function sparkline(
  values: ReadonlyArray<number | null>,
  width: number,
  range?: { min: number; max: number },
): string {
  const cells = Math.max(0, Math.floor(width))
  const tail = values.slice(-cells)
  const present = tail.filter((v): v is number => v !== null && Number.isFinite(v))
  const min = range?.min ?? Math.min(...present)
  const max = range?.max ?? Math.max(...present)
  const span = max - min
  const line = tail
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' '
      if (!(span > 0)) return present.length > 0 && max > 0 ? TICKS[3] : TICKS[0]
      const level = Math.round(((Math.min(max, Math.max(min, v)) - min) / span) * (TICKS.length - 1))
      return TICKS[level]
    })
    .join('')
  return line.padStart(cells, ' ')
}

export interface TextOptions {
  /** The Redis URL without credentials. */
  redis: string
  /** Wrap words in ANSI colours (a TTY without NO_COLOR). */
  color: boolean
  /** Why Redis could not be read, when it could not. */
  error?: string | undefined
  /** Width of the memory and hit-rate bars. @default 30 */
  barWidth?: number
}

const COLOURS = { OK: 32, WARNING: 33, CRITICAL: 31, UNREACHABLE: 31, dim: 2, bold: 1 } as const

/** The one-shot status as lines a person reads in a terminal. */
export function statusText(report: StatusReport, options: TextOptions): string {
  const paint = (text: string, style: keyof typeof COLOURS) =>
    options.color ? `\u001b[${COLOURS[style]}m${text}\u001b[0m` : text
  const width = options.barWidth ?? 30
  const row = (label: string, value: string) => `${label.padEnd(12)}${value}`
  const lines = [paint(`redis-pool-monitor status  ${options.redis}`, 'bold')]

  if (!report.available) {
    lines.push(row('Status', paint('UNREACHABLE', 'UNREACHABLE')))
    lines.push(`  - ${options.error ?? report.reasons[0] ?? 'Redis did not answer'}`)
    return `${lines.join('\n')}\n`
  }

  lines.push(row('Status', paint(report.status, report.status)))
  for (const reason of report.reasons) lines.push(`  - ${reason}`)
  lines.push(
    row('Redis', `${report.redis_version ?? 'unknown version'}, up ${formatDuration(report.uptime_seconds)}`),
  )
  if (report.sentinel) {
    const { masterName, master, reachable, total, quorum } = report.sentinel
    lines.push(
      row(
        'Master',
        `${masterName} at ${master ?? 'unknown'} (${report.role ?? 'unknown role'}; ${reachable} of ${total} Sentinels answer, quorum ${quorum ?? 'unknown'})`,
      ),
    )
  }
  lines.push(row('Clients', `${formatNumber(report.connected_clients)} connected`))

  const used = formatBytes(report.used_memory_bytes)
  if (report.memory_usage_percent === null) {
    lines.push(row('Memory', `${used} used ${paint('(no maxmemory set)', 'dim')}`))
  } else {
    const max = formatBytes(report.max_memory_bytes)
    lines.push(
      row(
        'Memory',
        `[${bar(report.memory_usage_percent / 100, width)}] ${formatPercent(report.memory_usage_percent)}  ${used} of ${max}`,
      ),
    )
  }
  lines.push(
    row(
      'Hit rate',
      report.hit_rate_percent === null
        ? `n/a ${paint('(too few lookups yet)', 'dim')}`
        : `[${bar(report.hit_rate_percent / 100, width)}] ${formatPercent(report.hit_rate_percent)}`,
    ),
  )
  lines.push(row('Ops/s', formatNumber(report.ops_per_sec)))
  lines.push(row('Keys', formatNumber(report.total_keys)))
  lines.push(row('Latency', report.latency_ms === null ? 'n/a' : `${report.latency_ms.toFixed(2)} ms (PING)`))

  if (report.key_groups.length > 0) {
    const sampled =
      report.key_groups_sampled_fraction !== null && report.key_groups_sampled_fraction < 1
        ? ` (estimated from ${formatPercent(report.key_groups_sampled_fraction * 100)} of the keys)`
        : ''
    lines.push(row('Key groups', `${report.key_groups.length}${sampled}`))
    const nameWidth = Math.min(32, Math.max(...report.key_groups.map((g) => g.group.length)))
    const most = Math.max(1, ...report.key_groups.map((g) => g.memory_bytes ?? 0))
    for (const g of report.key_groups) {
      const name = g.group.length > nameWidth ? `${g.group.slice(0, nameWidth - 1)}…` : g.group
      lines.push(
        `  ${name.padEnd(nameWidth)}  ${formatNumber(g.count).padStart(10)} keys  ${formatBytes(g.memory_bytes).padStart(10)}  ${bar((g.memory_bytes ?? 0) / most, 12)}`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}
