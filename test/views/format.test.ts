import { describe, expect, it } from 'vitest'
import type { StatusReport } from '../../src/collectors/server-stats.js'
import {
  bar,
  EXIT,
  exitCodeOf,
  formatBytes,
  formatDuration,
  sparkline,
  statusText,
} from '../../src/views/format.js'

const report = (overrides: Partial<StatusReport> = {}): StatusReport => ({
  available: true,
  status: 'OK',
  reasons: [],
  memory_usage_percent: 50,
  hit_rate_percent: 97.5,
  total_keys: 1234,
  latency_ms: 0.42,
  circuit_breaker_state: 'closed',
  redis_version: '7.0.15',
  uptime_seconds: 3 * 3600 + 12 * 60,
  connected_clients: 7,
  used_memory_bytes: 1024 * 1024,
  max_memory_bytes: 2 * 1024 * 1024,
  ops_per_sec: 1500,
  key_groups: [],
  key_groups_sampled_fraction: null,
  sampled_at: '2026-01-01T00:00:00.000Z',
  ...overrides,
})

describe('exit codes', () => {
  it('maps OK, WARNING and CRITICAL to 0, 1 and 2, and an unavailable Redis to 3', () => {
    expect(exitCodeOf(report())).toBe(EXIT.ok)
    expect(exitCodeOf(report({ status: 'WARNING' }))).toBe(1)
    expect(exitCodeOf(report({ status: 'CRITICAL' }))).toBe(2)
    expect(exitCodeOf(report({ available: false, status: 'CRITICAL' }))).toBe(3)
  })
})

describe('bars and sparklines', () => {
  it('fills a bar in proportion, clamped to its width, and dots it when the value is unknown', () => {
    expect(bar(0.5, 10)).toBe('█████░░░░░')
    expect(bar(1.7, 4)).toBe('████')
    expect(bar(-1, 4)).toBe('░░░░')
    expect(bar(null, 3)).toBe('···')
  })

  it('scales a sparkline between the lowest and highest value and leaves gaps for missing samples', () => {
    expect(sparkline([0, 7, null, 14], 4)).toBe('▁▅ █')
    expect(sparkline([50], 3, { min: 0, max: 100 })).toBe('  ▅')
  })

  it('keeps only the newest values that fit, right-aligned', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6], 3)).toBe('▁▅█')
    expect(sparkline([1, 2], 5)).toHaveLength(5)
  })

  it('draws a flat line for constant values instead of dividing by zero', () => {
    expect(sparkline([3, 3, 3], 3)).toBe('▄▄▄')
    expect(sparkline([0, 0], 2)).toBe('▁▁')
  })
})

describe('units', () => {
  it('formats bytes in binary units and durations in the two largest units', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.50 KiB')
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.00 GiB')
    expect(formatBytes(null)).toBe('n/a')
    expect(formatDuration(59)).toBe('59s')
    expect(formatDuration(3 * 3600 + 12 * 60 + 5)).toBe('3h 12m')
    expect(formatDuration(2 * 86400 + 3600)).toBe('2d 1h')
  })
})

describe('status text', () => {
  const text = (r: StatusReport, error?: string) =>
    statusText(r, { redis: 'redis://h:6379/0', color: false, error, barWidth: 10 })

  it('shows every field of a healthy Redis with memory and hit-rate bars', () => {
    const out = text(report())
    expect(out).toContain('Status      OK\n')
    expect(out).toContain('Redis       7.0.15, up 3h 12m\n')
    expect(out).toContain('Clients     7 connected\n')
    expect(out).toContain('Memory      [█████░░░░░] 50.0%  1.00 MiB of 2.00 MiB\n')
    expect(out).toContain('Hit rate    [██████████] 97.5%\n')
    expect(out).toContain('Ops/s       1,500\n')
    expect(out).toContain('Keys        1,234\n')
    expect(out).toContain('Latency     0.42 ms (PING)\n')
  })

  it('lists the reasons under the status and says when maxmemory is unset', () => {
    const out = text(
      report({
        status: 'WARNING',
        reasons: ['hit rate 45% < 50%'],
        memory_usage_percent: null,
        max_memory_bytes: 0,
      }),
    )
    expect(out).toContain('Status      WARNING\n  - hit rate 45% < 50%\n')
    expect(out).toContain('Memory      1.00 MiB used (no maxmemory set)\n')
  })

  it('lists key groups by memory and says when they were estimated from a sample', () => {
    const out = text(
      report({
        key_groups: [
          { db: 'db0', group: 'user:*', count: 1000, memory_bytes: 20480 },
          { db: 'db0', group: 'session:*', count: 10, memory_bytes: 10240 },
        ],
        key_groups_sampled_fraction: 0.5,
      }),
    )
    expect(out).toContain('Key groups  2 (estimated from 50.0% of the keys)\n')
    expect(out).toMatch(/^ {2}user:\*\s+1,000 keys\s+20\.0 KiB {2}█{12}$/m)
    expect(out).toMatch(/^ {2}session:\*\s+10 keys\s+10\.0 KiB {2}█{6}░{6}$/m)
  })

  it('says UNREACHABLE with the error and nothing it cannot know', () => {
    const out = text(report({ available: false, status: 'CRITICAL' }), 'connect ECONNREFUSED')
    expect(out).toBe(
      'redis-pool-monitor status  redis://h:6379/0\nStatus      UNREACHABLE\n  - connect ECONNREFUSED\n',
    )
  })

  it('colours only when asked', () => {
    const coloured = statusText(report({ status: 'CRITICAL' }), { redis: 'r', color: true })
    expect(coloured).toContain('\u001b[31mCRITICAL\u001b[0m')
  })
})
