import { PROGRAM, parseFlags, UsageError } from '../command-line.js'
import { HISTORY_MAX_ITEMS, historyQuery } from '../history/query.js'
import { readSqliteHistory } from '../history/sqlite.js'
import { type HistorySample, listed } from '../history/types.js'

const HELP = [
  `Usage: ${PROGRAM} history [--since <1h|ISO time>] [--limit <n>] [--json|--csv] [--history-file <f> | --url <service>]`,
  '',
  'Status samples from the history: one line each, oldest first.',
  '',
  'Flags:',
  '  --since <when>           a duration back from now (15m, 1h, 7d) or an ISO 8601 time (default 1h)',
  `  --limit <n>              only the newest n samples (1 to ${HISTORY_MAX_ITEMS})`,
  '  --json                   a JSON array, the same items as GET /status/history',
  '  --csv                    CSV with a header line',
  '  --history-file <f>       [HISTORY_FILE] the SQLite file the service writes (read-only here)',
  '  --url <url>              read GET /status/history of a running service instead, e.g. http://127.0.0.1:9122',
  '  -h, --help               show this help',
  '',
  'Exit codes: 0 samples printed (possibly none), 1 the history could not be read, 2 a bad flag.',
]

const COLUMNS: Array<keyof HistorySample> = [
  'timestamp',
  'available',
  'memory_usage_percent',
  'hit_rate_percent',
  'total_keys',
  'latency_ms',
  'ops_per_sec',
  'connected_clients',
  'used_memory_bytes',
  'pool_utilization_percent',
  'circuit_breaker_state',
  'fallback_in_use',
]

const csvCell = (v: unknown) => {
  const text = v === null || v === undefined ? '' : String(v)
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

function table(samples: HistorySample[]): string {
  const head = [
    'time (UTC)',
    'up',
    'mem %',
    'hit %',
    'keys',
    'lat ms',
    'ops/s',
    'clients',
    'pool %',
    'breaker',
    'fallback',
  ]
  const n = (v: number | null, digits = 0) => (v === null ? '-' : v.toFixed(digits))
  const rows = samples.map((s) => [
    s.timestamp.replace('T', ' ').replace(/\.\d+Z$/, ''),
    s.available ? 'yes' : 'no',
    n(s.memory_usage_percent, 1),
    n(s.hit_rate_percent, 1),
    n(s.total_keys),
    n(s.latency_ms, 2),
    n(s.ops_per_sec),
    n(s.connected_clients),
    n(s.pool_utilization_percent),
    s.circuit_breaker_state ?? '-',
    s.fallback_in_use ? 'yes' : 'no',
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(head), ...rows.map(line)].join('\n')
}

/**
 * `redis-pool-monitor history`: prints the status samples of HISTORY_FILE (read-only, next to a
 * running service) or of a running service's /status/history. Returns the exit code.
 */
export async function historyCommand(
  argv: string[],
  env: Record<string, string | undefined>,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process,
): Promise<number> {
  const fail = (message: string, code: number) => {
    io.stderr.write(`${PROGRAM} history: ${message}\n`)
    return code
  }
  let values: Record<string, unknown>
  try {
    // Only its own flags: history reads a file or a service, never Redis.
    values = parseFlags(
      argv,
      {
        since: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        csv: { type: 'boolean' },
        'history-file': { type: 'string' },
        url: { type: 'string' },
      },
      { configFlags: false },
    ).values
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message, 2)
    throw err
  }
  if (values['help']) {
    io.stdout.write(`${HELP.join('\n')}\n`)
    return 0
  }
  if (values['json'] && values['csv']) return fail('--json and --csv exclude each other', 2)
  const since = (values['since'] as string | undefined) ?? '1h'
  const limit = values['limit'] as string | undefined
  const query = historyQuery(
    { since, ...(limit !== undefined ? { limit } : {}) },
    Date.now(),
    HISTORY_MAX_ITEMS,
  )
  if (typeof query === 'string') return fail(query.replace(/^(since|limit)/, '--$1'), 2)

  const file = (values['history-file'] as string | undefined) ?? env['HISTORY_FILE']?.trim()
  const url = values['url'] as string | undefined
  let samples: HistorySample[]
  try {
    if (url) {
      const target = new URL('status/history', url.endsWith('/') ? url : `${url}/`)
      target.searchParams.set('since', since)
      if (limit !== undefined) target.searchParams.set('limit', limit)
      const res = await fetch(target, { signal: AbortSignal.timeout(10_000) })
      const body = await res.text()
      if (!res.ok) return fail(`${target.origin} answered ${res.status}: ${body.slice(0, 200)}`, 1)
      samples = JSON.parse(body) as HistorySample[]
    } else if (file) {
      samples = readSqliteHistory(file, query).map(listed)
    } else {
      return fail(
        "set HISTORY_FILE (or --history-file) to the service's history file, or --url to a running service",
        2,
      )
    }
  } catch (err) {
    return fail((err as Error).message, 1)
  }

  if (values['json']) io.stdout.write(`${JSON.stringify(samples)}\n`)
  else if (values['csv'])
    io.stdout.write(
      `${[COLUMNS.join(','), ...samples.map((s) => COLUMNS.map((c) => csvCell(s[c])).join(','))].join('\n')}\n`,
    )
  else io.stdout.write(`${table(samples)}\n`)
  return 0
}
