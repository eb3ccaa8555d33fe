import type { ParsedInfo } from './info-parser.js'
import { infoNumber } from './info-parser.js'

export type StatusLevel = 'OK' | 'WARNING' | 'CRITICAL'

export interface StatusThresholds {
  /** @default 75 */
  memoryWarningPercent: number
  /** @default 90 */
  memoryCriticalPercent: number
  /** @default 50 */
  hitRateWarningPercent: number
  /** @default 40 */
  hitRateCriticalPercent: number
  /** Lookups (hits + misses) needed before the hit rate is judged. @default 100 */
  hitRateMinLookups: number
  /** @default 50 */
  latencyWarningMs: number
  /** @default 100 */
  latencyCriticalMs: number
}

export const DEFAULT_THRESHOLDS: StatusThresholds = Object.freeze({
  memoryWarningPercent: 75,
  memoryCriticalPercent: 90,
  hitRateWarningPercent: 50,
  hitRateCriticalPercent: 40,
  hitRateMinLookups: 100,
  latencyWarningMs: 50,
  latencyCriticalMs: 100,
})

const round2 = (n: number) => Math.round(n * 100) / 100

/** Used memory as a percentage of maxmemory; null when maxmemory is 0 (unlimited) or unknown. */
export function memoryUsagePercent(info: ParsedInfo): number | null {
  const used = infoNumber(info, 'used_memory')
  const max = infoNumber(info, 'maxmemory')
  if (used === undefined || max === undefined || max <= 0) return null
  return round2((used / max) * 100)
}

/** Hits over lookups; null until there are `minLookups` lookups to judge by. */
export function hitRatePercent(hits: number, misses: number, minLookups: number): number | null {
  const lookups = hits + misses
  if (!(lookups >= minLookups) || lookups <= 0) return null
  return round2((hits / lookups) * 100)
}

export interface StatusInput {
  available: boolean
  memoryPercent: number | null
  hitRate: number | null
  latencyMs: number | undefined
  breaker: 'closed' | 'half_open' | 'open'
  /** CLUSTER INFO's cluster_state in cluster mode (`ok`, `fail`); undefined otherwise. */
  clusterState?: string | undefined
  /** INFO's role of the node that answered (`master`, `slave`). */
  role?: string | undefined
  /** With Sentinels: the pool follows a master, and whether every Sentinel answering names it. */
  sentinel?: { agree: boolean } | undefined
  /** Said instead of "did not answer" when Redis answered with a refusal (INFO denied by ACL). */
  unavailableReason?: string | undefined
}

/** Pure: the status level and the reasons for it. */
export function judge(input: StatusInput, t: StatusThresholds): { status: StatusLevel; reasons: string[] } {
  const reasons: string[] = []
  let level: StatusLevel = 'OK'
  const raise = (to: StatusLevel, reason: string) => {
    reasons.push(reason)
    if (to === 'CRITICAL' || level === 'OK') level = to
  }
  if (!input.available)
    raise('CRITICAL', input.unavailableReason ?? 'Redis did not answer the latest collection')
  if (input.clusterState !== undefined && input.clusterState !== 'ok')
    raise('CRITICAL', `cluster_state is ${input.clusterState}: the cluster refuses commands`)
  // Behind Sentinels the service needs the master: a replica answering is never OK.
  if (input.sentinel && input.available && input.role !== undefined && input.role !== 'master')
    raise(
      'CRITICAL',
      `the node answering is a ${input.role === 'slave' ? 'replica' : input.role}, not the master`,
    )
  if (input.sentinel && !input.sentinel.agree) raise('WARNING', 'the Sentinels do not agree on the master')
  if (input.breaker === 'open') raise('CRITICAL', 'circuit breaker is open')
  else if (input.breaker === 'half_open') raise('WARNING', 'circuit breaker is half-open')
  const mem = input.memoryPercent
  if (mem !== null) {
    if (mem >= t.memoryCriticalPercent)
      raise('CRITICAL', `memory ${mem}% of maxmemory >= ${t.memoryCriticalPercent}%`)
    else if (mem >= t.memoryWarningPercent)
      raise('WARNING', `memory ${mem}% of maxmemory >= ${t.memoryWarningPercent}%`)
  }
  const hit = input.hitRate
  if (hit !== null) {
    if (hit < t.hitRateCriticalPercent) raise('CRITICAL', `hit rate ${hit}% < ${t.hitRateCriticalPercent}%`)
    else if (hit < t.hitRateWarningPercent) raise('WARNING', `hit rate ${hit}% < ${t.hitRateWarningPercent}%`)
  }
  const lat = input.latencyMs
  if (lat !== undefined) {
    if (lat >= t.latencyCriticalMs)
      raise('CRITICAL', `latency ${round2(lat)} ms >= ${t.latencyCriticalMs} ms`)
    else if (lat >= t.latencyWarningMs)
      raise('WARNING', `latency ${round2(lat)} ms >= ${t.latencyWarningMs} ms`)
  }
  return { status: level, reasons }
}
