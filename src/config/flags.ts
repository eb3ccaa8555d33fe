import { ENV_VARS, type EnvVar, flagName } from './config.js'

/** parseArgs option entries for every variable: `--redis-url <value>` and so on. */
export const CONFIG_FLAGS = Object.fromEntries(
  ENV_VARS.map((name) => [flagName(name), { type: 'string' as const }]),
) as Record<string, { type: 'string' }>

/**
 * Merges parsed CLI flags over the environment: a flag wins over its variable.
 * Unknown keys are ignored (they belong to the command's own options).
 */
export function envWithFlags(
  env: Record<string, string | undefined>,
  flags: Record<string, unknown>,
): Record<string, string | undefined> {
  const merged = { ...env }
  for (const name of ENV_VARS) {
    const value = flags[flagName(name as EnvVar)]
    if (typeof value === 'string') merged[name] = value
  }
  return merged
}
