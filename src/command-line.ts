import { readFileSync } from 'node:fs'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { type Config, parseConfig } from './config/config.js'
import { CONFIG_FLAGS, envWithFlags } from './config/flags.js'

/** What every command prints its messages under: `redis-pool-monitor status: ...`. */
export const PROGRAM = 'redis-pool-monitor'

/** package.json sits one level above both src/ (tsx) and dist/ (the shipped build). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

/**
 * A problem the user fixes: printed as one line, no stack. `kind` lets each command keep its
 * documented exit codes (serve: 2 for flags, 1 for configuration; status: 3 for both).
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly kind: 'flag' | 'config',
  ) {
    super(message)
  }
}

/** The flag name only: `--redis-urll=redis://:pw@h` must not echo the value. */
export function flagOf(message: string): string {
  return /'(--?[^'=\s]+)/.exec(message)?.[1] ?? 'a flag'
}

/**
 * parseArgs over the configuration flags (every variable's flag), the command's own and -h/--help,
 * strict; its errors become one-line UsageErrors that name the flag and never its value.
 */
export function parseFlags(
  argv: string[],
  options: ParseArgsConfig['options'],
  { positionals = false, configFlags = true }: { positionals?: boolean; configFlags?: boolean } = {},
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...(configFlags ? CONFIG_FLAGS : {}), ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: positionals,
      strict: true,
    })
    return { values: parsed.values as Record<string, unknown>, positionals: parsed.positionals }
  } catch (err) {
    const code = (err as { code?: string }).code
    const flag = flagOf((err as Error).message)
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(`unknown flag ${flag} (see --help)`, 'flag')
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      throw new UsageError(`flag ${flag} needs a value (see --help)`, 'flag')
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new UsageError('unexpected argument (see --help)', 'flag')
    throw err
  }
}

/** The configuration from the environment with the flags on top; a bad value is a UsageError. */
export function loadConfig(env: Record<string, string | undefined>, values: Record<string, unknown>): Config {
  try {
    return parseConfig(envWithFlags(env, values))
  } catch (err) {
    if ((err as { code?: string }).code === 'RPM_CONFIG')
      throw new UsageError((err as Error).message, 'config')
    throw err
  }
}
