import { describe, expect, it } from 'vitest'
import { parseInfo } from '../../src/collectors/info-parser.js'
import { DEFAULT_THRESHOLDS, hitRatePercent, judge, memoryUsagePercent } from '../../src/collectors/status.js'

const memory = (used: number, max: number) =>
  parseInfo(`# Memory\r\nused_memory:${used}\r\nmaxmemory:${max}\r\n`)
const healthy = { available: true, memoryPercent: 10, hitRate: 99, latencyMs: 1, breaker: 'closed' as const }

describe('status thresholds', () => {
  it('gives no memory percentage when maxmemory is 0, never Infinity or NaN', () => {
    expect(memoryUsagePercent(memory(1_000_000, 0))).toBeNull()
    expect(memoryUsagePercent(memory(750, 1000))).toBe(75)
  })

  it('judges the hit rate only once there are enough lookups', () => {
    expect(hitRatePercent(1, 50, 100)).toBeNull()
    expect(hitRatePercent(0, 0, 0)).toBeNull()
    expect(hitRatePercent(30, 70, 100)).toBe(30)
  })

  it('is OK with no reasons when everything is inside the thresholds', () => {
    expect(judge(healthy, DEFAULT_THRESHOLDS)).toEqual({ status: 'OK', reasons: [] })
  })

  it.each([
    [{ memoryPercent: 74.99 }, 'OK'],
    [{ memoryPercent: 75 }, 'WARNING'],
    [{ memoryPercent: 90 }, 'CRITICAL'],
    [{ hitRate: 50 }, 'OK'],
    [{ hitRate: 49.9 }, 'WARNING'],
    [{ hitRate: 39.9 }, 'CRITICAL'],
    [{ latencyMs: 49 }, 'OK'],
    [{ latencyMs: 50 }, 'WARNING'],
    [{ latencyMs: 100 }, 'CRITICAL'],
    [{ breaker: 'half_open' as const }, 'WARNING'],
    [{ breaker: 'open' as const }, 'CRITICAL'],
    [{ available: false }, 'CRITICAL'],
    [{ memoryPercent: null, hitRate: null, latencyMs: undefined }, 'OK'],
  ])('with %o the status is %s', (change, expected) => {
    const verdict = judge({ ...healthy, ...change }, DEFAULT_THRESHOLDS)
    expect(verdict.status).toBe(expected)
    expect(verdict.reasons.length > 0).toBe(expected !== 'OK')
  })

  it('keeps CRITICAL when a later check is only a warning, and lists every reason', () => {
    const verdict = judge({ ...healthy, memoryPercent: 95, latencyMs: 60 }, DEFAULT_THRESHOLDS)
    expect(verdict.status).toBe('CRITICAL')
    expect(verdict.reasons).toHaveLength(2)
  })
})
