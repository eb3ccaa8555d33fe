import type { BreakerState, PoolMonitor, ProbeResult } from '../monitor/types.js'
import { withTimeout } from '../timeout.js'

export type CheckStatus = 'pass' | 'warn' | 'fail'
export type OverallStatus = 'healthy' | 'degraded' | 'unhealthy'

export interface Check {
  status: CheckStatus
  message: string
  duration_ms: number
}

export interface HealthReport {
  status: OverallStatus
  timestamp: string
  uptime_seconds: number
  checks: { redis: Check; circuit_breaker: Check }
}

/** unhealthy when any check fails, degraded when any warns, healthy otherwise. */
export function overallStatus(checks: readonly Check[]): OverallStatus {
  if (checks.some((c) => c.status === 'fail')) return 'unhealthy'
  if (checks.some((c) => c.status === 'warn')) return 'degraded'
  return 'healthy'
}

/** The breaker check; `durationMs` is what reading the breaker took (sub-microsecond, kept unrounded). */
export function breakerCheck(state: BreakerState, durationMs: number): Check {
  const duration_ms = Math.round(durationMs * 1e6) / 1e6
  if (state === 'open')
    return { status: 'fail', message: 'open: calls fail fast until Redis answers', duration_ms }
  if (state === 'half_open')
    return { status: 'warn', message: 'half_open: trial calls are let through', duration_ms }
  return { status: 'pass', message: 'closed', duration_ms }
}

export function redisCheck(
  probe: ProbeResult | undefined,
  durationMs: number,
  timeoutMs: number,
  unavailable?: string,
): Check {
  const duration_ms = Math.round(durationMs * 1000) / 1000
  if (probe === undefined)
    return { status: 'fail', message: `PING did not answer within ${timeoutMs} ms`, duration_ms }
  if (!probe.ok)
    return { status: 'fail', message: `PING failed: ${probe.error ?? 'unknown error'}`, duration_ms }
  // PONG from a node of a failed cluster: it answers, but refuses every keyed command.
  if (unavailable !== undefined) return { status: 'fail', message: unavailable, duration_ms }
  return { status: 'pass', message: `PONG in ${(probe.latencyMs ?? durationMs).toFixed(2)} ms`, duration_ms }
}

export interface HealthCheckOptions {
  /** How long the live PING may take before the check fails. @default 1000 */
  timeoutMs?: number
  /** Epoch ms the service started, for uptime_seconds. */
  startedAt: number
  now?: () => number
}

/**
 * The detailed GET /health report: a live PING through the pool (bounded, so a frozen Redis
 * cannot hang the route) and the circuit breaker state.
 */
export async function checkHealth(monitor: PoolMonitor, options: HealthCheckOptions): Promise<HealthReport> {
  const timeoutMs = options.timeoutMs ?? 1_000
  const now = options.now ?? Date.now
  const started = performance.now()
  const probe = await withTimeout(
    monitor
      .probe()
      .catch(
        (err: Error): ProbeResult => ({ ok: false, latencyMs: undefined, at: now(), error: err.message }),
      ),
    timeoutMs,
    () => undefined,
  )
  const redis = redisCheck(probe, performance.now() - started, timeoutMs, monitor.health().unavailable)
  const breakerStarted = performance.now()
  const circuit_breaker = breakerCheck(monitor.breakerState(), performance.now() - breakerStarted)
  return {
    status: overallStatus([redis, circuit_breaker]),
    timestamp: new Date(now()).toISOString(),
    uptime_seconds: Math.round((now() - options.startedAt) / 1000),
    checks: { redis, circuit_breaker },
  }
}
