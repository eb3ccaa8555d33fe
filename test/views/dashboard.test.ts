import { stripVTControlCharacters } from 'node:util'
import { renderToString } from 'ink'
import { createElement } from 'react'
import { describe, expect, it } from 'vitest'
import type { HistorySample, StatusReport } from '../../src/collectors/server-stats.js'
import { Dashboard, type DashboardProps } from '../../src/views/dashboard.js'

const report: StatusReport = {
  available: true,
  status: 'WARNING',
  reasons: ['hit rate 45% < 50%'],
  memory_usage_percent: 80,
  hit_rate_percent: 45,
  total_keys: 300,
  latency_ms: 0.5,
  circuit_breaker_state: 'closed',
  redis_version: '7.0.15',
  uptime_seconds: 90,
  connected_clients: 4,
  used_memory_bytes: 8 * 1024 * 1024,
  max_memory_bytes: 10 * 1024 * 1024,
  ops_per_sec: 250,
  key_groups: Array.from({ length: 8 }, (_, i) => ({
    db: 'db0',
    group: `group${i}:*`,
    count: 100 - i,
    memory_bytes: 1000 * (8 - i),
  })),
  key_groups_sampled_fraction: 1,
  sampled_at: '2026-01-01T00:00:00.000Z',
}

const history: HistorySample[] = Array.from({ length: 30 }, (_, i) => ({
  timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i * 2)).toISOString(),
  available: true,
  used_memory_bytes: 1_000_000 + i * 10_000,
  memory_usage_percent: 50,
  hit_rate_percent: 45,
  ops_per_sec: i * 10,
  connected_clients: 4,
  latency_ms: 0.5,
  pool_utilization_percent: 10,
  circuit_breaker_state: 'closed',
  total_keys: 1000,
  fallback_in_use: false,
}))

const render = (props: Partial<DashboardProps>) => {
  const all: DashboardProps = {
    redis: 'redis://127.0.0.1:6379/0',
    intervalSeconds: 2,
    snapshot: { report, error: undefined },
    history,
    columns: 100,
    rows: 40,
    ...props,
  }
  // Strip colours: the layout is what is checked here.
  return stripVTControlCharacters(renderToString(createElement(Dashboard, all), { columns: all.columns }))
}

describe('the top dashboard layout', () => {
  it('shows the header, status with reasons, gauges, sparklines and key groups on a roomy terminal', () => {
    const out = render({})
    expect(out).toContain('redis-pool-monitor top')
    expect(out).toContain('Redis 7.0.15  up 1m 30s')
    expect(out).toMatch(/^Status\s+WARNING {2}hit rate 45% < 50%/m)
    expect(out).toMatch(/^Memory\s+█+░+\s+80\.0%\s+8\.00 MiB of 10\.0 MiB/m)
    expect(out).toMatch(/^Ops\/s\s+[▁▂▃▄▅▆▇█ ]+\s+290$/m)
    expect(out).toContain('Trends: last 30 samples, one every 2s')
    expect(out).toMatch(/^ {2}group0:\*\s+100 keys/m)
    expect(out).toMatch(/^ {2}group7:\*\s+93 keys/m)
  })

  it('never draws more lines than the terminal has, nor wider ones, dropping key groups first', () => {
    for (const [columns, rows] of [
      [100, 40],
      [80, 24],
      [60, 16],
      [40, 10],
    ] as const) {
      const lines = render({ columns, rows }).split('\n')
      expect(lines.length).toBeLessThanOrEqual(rows - 1)
      for (const line of lines) expect([...line].length).toBeLessThanOrEqual(columns)
    }
    const short = render({ columns: 80, rows: 14 })
    expect(short).toContain('Trends')
    expect(short).not.toContain('Key groups')
  })

  it('says UNREACHABLE with the error and keeps retrying', () => {
    const out = render({
      snapshot: {
        report: { ...report, available: false, status: 'CRITICAL' },
        error: 'connect ECONNREFUSED',
      },
    })
    expect(out).toMatch(/^Status\s+UNREACHABLE retrying every 2s: connect ECONNREFUSED$/m)
    expect(out).not.toMatch(/^Memory\s+·/m)
    expect(out).not.toMatch(/^Now/m)
    expect(out).toContain('Trends')
  })

  it('says it is connecting before the first snapshot', () => {
    expect(render({ snapshot: undefined })).toContain('Connecting…')
  })
})
