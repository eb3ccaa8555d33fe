import type { ParseArgsConfig } from 'node:util'
import { loadConfig, PROGRAM, parseFlags, UsageError, version } from './command-line.js'
import { ENV_VARS, flagName, VARIABLES } from './config/config.js'

interface Command {
  summary: string
  /** Flags of this command besides the configuration flags. */
  options?: ParseArgsConfig['options']
  run?(input: { values: Record<string, unknown>; positionals: string[] }): Promise<void>
  /** A command that parses its own flags and returns its exit code (status, top). */
  standalone?(argv: string[]): Promise<number>
}

/** serve's exit codes for a problem the user fixes: 2 a bad command or flag, 1 a bad setting. */
const exitCodeOf = (err: UsageError) => (err.kind === 'flag' ? 2 : 1)

/** Subcommands. Add one here: a summary for --help, its own flags, and run(). */
const commands: Record<string, Command> = {
  serve: {
    summary: 'serve /metrics, /health/* and /status for the Redis at REDIS_URL (default command)',
    async run({ values }) {
      const config = loadConfig(process.env, values)
      const { startServer } = await import('./server.js')
      try {
        await startServer({ config, reloadConfig: () => loadConfig(process.env, values) })
      } catch (err) {
        const { code, message, port } = err as NodeJS.ErrnoException & { port?: number }
        const health = port !== undefined && port === config.connections.healthPort
        throw new UsageError(
          code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL'
            ? `cannot listen on ${config.host}:${port ?? config.port} (${code}); set ${health ? 'HOST/HEALTH_PORT or --host/--health-port' : 'HOST/PORT or --host/--port'}`
            : `failed to start: ${message}`,
          'config',
        )
      }
    },
  },
  status: {
    summary: 'one snapshot of the Redis (text, or --json); exit 0 OK, 1 WARNING, 2 CRITICAL, 3 unreachable',
    async standalone(argv) {
      const { statusCommand } = await import('./views/commands.js')
      // Its documented exit codes end at 3 (unknown): an unexpected failure is one too.
      return statusCommand(argv, process.env).catch((err: unknown) => {
        process.stderr.write(`${PROGRAM} status: unexpected error: ${(err as Error)?.message ?? err}\n`)
        return 3
      })
    },
  },
  history: {
    summary: 'status samples of HISTORY_FILE or a running service (--since 1h, --json, --csv)',
    async standalone(argv) {
      const { historyCommand } = await import('./views/history.js')
      return historyCommand(argv, process.env)
    },
  },
  top: {
    summary: 'live terminal dashboard of the Redis (q or Ctrl+C to quit)',
    async standalone(argv) {
      const { topCommand } = await import('./views/commands.js')
      return topCommand(argv, process.env)
    },
  },
}

function help(): string {
  const width = Math.max(...ENV_VARS.map((n) => flagName(n).length)) + 10
  const lines = [
    `Usage: ${PROGRAM} [command] [flags]`,
    '',
    'Prometheus metrics, health probes and a circuit breaker for a Redis and a pool of ioredis connections.',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`),
    '',
    'Flags (each mirrors the environment variable in brackets; a flag wins over its variable):',
    ...ENV_VARS.map((name) => {
      const v = VARIABLES[name]
      const flag = `  --${flagName(name)} <v>`.padEnd(width)
      const fallback = v.default === undefined ? '' : ` (default ${v.default})`
      return `${flag}[${name}] ${v.description}${fallback}`
    }),
    `${`  -h, --help`.padEnd(width)}show this help`,
    `${`  -v, --version`.padEnd(width)}print the version and exit`,
    '',
    'Examples:',
    `  REDIS_URL=redis://:secret@127.0.0.1:6379 ${PROGRAM}`,
    `  ${PROGRAM} serve --redis-url redis://10.0.0.5:6379 --port 9122 --key-groups 'session:*,cart:*'`,
    `  ${PROGRAM} status --json; echo "exit $?"`,
    `  ${PROGRAM} top --interval 1`,
  ]
  return `${lines.join('\n')}\n`
}

async function main(argv: string[]): Promise<void> {
  const first = argv[0]
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${version()}\n`)
    return
  }
  const named = first !== undefined && !first.startsWith('-')
  const name = named ? first : 'serve'
  const command = commands[name]
  if (command === undefined) {
    throw new UsageError(
      `unknown command ${JSON.stringify(name)}; expected one of ${Object.keys(commands).join(', ')} (see --help)`,
      'flag',
    )
  }
  if (command.standalone) {
    // ioredis keeps a reconnect timer alive for a while after a failed connection: exit right away.
    process.exit(await command.standalone(named ? argv.slice(1) : argv))
  }
  const parsed = parseFlags(named ? argv.slice(1) : argv, command.options, { positionals: true })
  if (parsed.values['help']) {
    process.stdout.write(help())
    return
  }
  await command.run?.({ values: parsed.values, positionals: parsed.positionals })
}

main(process.argv.slice(2))
  .catch((err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${PROGRAM}: ${err.message}\n`)
      process.exitCode = exitCodeOf(err)
      return
    }
    // Anything else is a bug; still one line, no stack (it could hold a URL with a password).
    process.stderr.write(`${PROGRAM}: unexpected error: ${(err as Error)?.message ?? String(err)}\n`)
    process.exitCode = 1
  })
  .finally(() => {
    // A failed start has closed what it opened; a handle a dependency still keeps (a reconnect timer)
    // must not keep a process that will never serve alive. Writes to pipes and files are synchronous.
    if (process.exitCode !== undefined && process.exitCode !== 0) process.exit()
  })
