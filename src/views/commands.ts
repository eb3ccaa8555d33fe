import { clearScreenDown, cursorTo } from 'node:readline'
import type { ParseArgsConfig } from 'node:util'
import { loadConfig, PROGRAM, parseFlags, UsageError } from '../command-line.js'
import type { Config } from '../config/config.js'
import { withTimeout } from '../timeout.js'
import { EXIT, exitCodeOf, statusText } from './format.js'
import { createSource, type Snapshot } from './source.js'

export interface CommandIo {
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  stdin: NodeJS.ReadStream
}

const processIo = (): CommandIo => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin })

const seconds = (flag: string, raw: unknown, fallback: number, min: number, max: number): number => {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${flag} expects a number of seconds from ${min} to ${max}`, 'flag')
  return n
}

const parse = (argv: string[], options: ParseArgsConfig['options']) => parseFlags(argv, options).values

const COMMON_HELP = [
  '  --redis-url <url>        [REDIS_URL] Redis to read (default redis://127.0.0.1:6379)',
  '  --redis-password-file <f> [REDIS_PASSWORD_FILE] file holding the password; wins over the URL',
  '  --timeout <seconds>      give up connecting or collecting after this long (default 3)',
  '  --key-groups <patterns>  [KEY_GROUPS] key distribution, e.g. "user:*,session:*"',
  '  -h, --help               show this help',
  '',
  `Every flag of \`${PROGRAM} --help\` is accepted (thresholds: --status-memory-warning-percent and so on).`,
]

const STATUS_HELP = [
  `Usage: ${PROGRAM} status [--redis-url <url>] [--json] [--watch [--interval <seconds>]]`,
  '',
  'One snapshot of a Redis: version, uptime, clients, memory, hit rate, ops/s, keys, key groups,',
  'latency, and a status with its reasons.',
  '',
  'Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 unknown (Redis unreachable, or a bad flag or setting).',
  '',
  'Flags:',
  '  --json                   print JSON (one object per snapshot) instead of text',
  '  --watch                  print a new snapshot every --interval seconds until Ctrl+C',
  '  --interval <seconds>     time between snapshots with --watch (default 2)',
  ...COMMON_HELP,
]

const TOP_HELP = [
  `Usage: ${PROGRAM} top [--redis-url <url>] [--interval <seconds>]`,
  '',
  'A live terminal dashboard: status, memory and hit-rate bars, sparklines of memory, hit rate,',
  'ops/s, clients and latency, and key groups. Press q, Esc or Ctrl+C to quit.',
  '',
  'Flags:',
  '  --interval <seconds>     refresh period (default 2)',
  ...COMMON_HELP,
]

const STATUS_FLAGS = {
  json: { type: 'boolean' },
  watch: { type: 'boolean' },
  interval: { type: 'string' },
  timeout: { type: 'string' },
} satisfies ParseArgsConfig['options']

const TOP_FLAGS = {
  interval: { type: 'string' },
  timeout: { type: 'string' },
} satisfies ParseArgsConfig['options']

function wantsColor(stream: NodeJS.WriteStream, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb'
}

/**
 * `redis-pool-monitor status`: prints one snapshot (or one per --interval with --watch) and
 * returns the exit code of the last one: 0 OK, 1 WARNING, 2 CRITICAL, 3 unknown.
 */
export async function statusCommand(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CommandIo = processIo(),
): Promise<number> {
  let values: Record<string, unknown>
  let cfg: Config
  let timeoutMs: number
  let intervalMs: number
  try {
    values = parse(argv, STATUS_FLAGS)
    if (values['help']) {
      io.stdout.write(`${STATUS_HELP.join('\n')}\n`)
      return EXIT.ok
    }
    timeoutMs = seconds('timeout', values['timeout'], 3, 0.1, 300) * 1000
    intervalMs = seconds('interval', values['interval'], 2, 0.2, 3600) * 1000
    cfg = loadConfig(env, values)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr.write(`${PROGRAM} status: ${err.message}\n`)
    return EXIT.unknown
  }

  const json = values['json'] === true
  const watch = values['watch'] === true
  const source = createSource({ config: cfg, timeoutMs, intervalMs: watch ? intervalMs : 0 })
  const print = (snap: Snapshot) => {
    const code = exitCodeOf(snap.report)
    if (json) {
      const error = code === EXIT.unknown ? { error: snap.error ?? 'Redis did not answer' } : {}
      io.stdout.write(
        `${JSON.stringify({ redis: cfg.redis.display, exit_code: code, ...error, ...snap.report })}\n`,
      )
    } else {
      if (watch && io.stdout.isTTY) {
        cursorTo(io.stdout, 0, 0)
        clearScreenDown(io.stdout)
      }
      io.stdout.write(
        statusText(snap.report, {
          redis: cfg.redis.display,
          color: wantsColor(io.stdout, env),
          error: snap.error,
          barWidth: Math.max(10, Math.min(40, (io.stdout.columns || 80) - 50)),
        }),
      )
    }
    return code
  }

  // A snapshot never outlives its budget, whatever Redis does (frozen, blackholed, slow).
  const bounded = (): Promise<Snapshot> =>
    withTimeout(source.snapshot(), timeoutMs + 500, (): Snapshot => {
      const { report } = source.current()
      const error = `no answer within ${timeoutMs / 1000} s`
      return { report: { ...report, available: false, status: 'CRITICAL', reasons: [error] }, error }
    })

  try {
    if (!watch) return print(await bounded())
    let code: number = EXIT.unknown
    let stopped = false
    let wake: (() => void) | undefined
    const stop = () => {
      stopped = true
      wake?.()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      while (!stopped) {
        const startedAt = Date.now()
        code = print(await bounded())
        const wait = Math.max(0, intervalMs - (Date.now() - startedAt))
        if (stopped) break
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, wait).unref()
        })
      }
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
    return code
  } finally {
    await source.close()
  }
}

/** `redis-pool-monitor top`: the live terminal dashboard; returns 0 after q or Ctrl+C. */
export async function topCommand(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CommandIo = processIo(),
): Promise<number> {
  let cfg: Config
  let timeoutMs: number
  let intervalMs: number
  try {
    const values = parse(argv, TOP_FLAGS)
    if (values['help']) {
      io.stdout.write(`${TOP_HELP.join('\n')}\n`)
      return 0
    }
    timeoutMs = seconds('timeout', values['timeout'], 3, 0.1, 300) * 1000
    intervalMs = seconds('interval', values['interval'], 2, 0.2, 3600) * 1000
    cfg = loadConfig(env, values)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr.write(`${PROGRAM} top: ${err.message}\n`)
    return 2
  }
  const { loadTerminalUi, runTop } = await import('./top.js')
  try {
    await loadTerminalUi()
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err
    io.stderr.write(
      `${PROGRAM} top: needs the optional packages ink and react (left out by --omit=optional): npm install ink@^6 react@^19\n`,
    )
    return 2
  }
  if (!io.stdout.isTTY || !io.stdin.isTTY) {
    io.stderr.write(
      `${PROGRAM} top: needs an interactive terminal; for scripts use \`${PROGRAM} status --watch\` or --json\n`,
    )
    return 2
  }

  const source = createSource({
    config: cfg,
    timeoutMs,
    intervalMs,
    // Enough samples for a sparkline across the widest terminal in common use.
    historySize: 400,
  })
  try {
    await runTop({ source, redis: cfg.redis.display, intervalMs, stdout: io.stdout, stdin: io.stdin })
  } finally {
    await source.close()
  }
  return 0
}
