import { readFileSync } from 'node:fs'

/** Used when the limit cannot be read (no /proc): the usual Linux and macOS soft limit. */
export const FALLBACK_OPEN_FILES_LIMIT = 1_024
/** Ceiling of the derived MAX_CONNECTIONS: an exporter is scraped by a handful of Prometheus. */
export const MAX_CONNECTIONS_CEILING = 4_096
/**
 * Descriptors an explicit MAX_CONNECTIONS should leave free: the pool, key-group connections,
 * the health listener, log and /proc reads. Below it the service warns at start.
 */
export const FD_HEADROOM = 64

/**
 * The soft limit on open files (`ulimit -n`), read from /proc/self/limits; Node has no getrlimit.
 * `unlimited` reads as Infinity.
 */
export function openFilesSoftLimit(
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): number {
  try {
    const line = readFile('/proc/self/limits')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0]
    if (soft === 'unlimited') return Number.POSITIVE_INFINITY
    const value = Number(soft)
    return Number.isInteger(value) && value > 0 ? value : FALLBACK_OPEN_FILES_LIMIT
  } catch {
    return FALLBACK_OPEN_FILES_LIMIT
  }
}

/**
 * MAX_CONNECTIONS when unset: half the soft limit, at most 4096. Half leaves the other half for
 * Redis connections and files whatever the limit; 1024 gives 512, Docker's 1048576 gives 4096.
 */
export function defaultMaxConnections(softLimit: number): number {
  return Math.max(1, Math.min(MAX_CONNECTIONS_CEILING, Math.floor(softLimit / 2)))
}

/** Whether an error is the process (EMFILE) or the system (ENFILE) running out of descriptors. */
export function isFdExhaustion(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'EMFILE' || code === 'ENFILE'
}
