import { describe, expect, it } from 'vitest'
import { DEFAULT_THRESHOLDS } from '../../src/collectors/status.js'
import { createStatusWatcher, type ServerStatsEvents } from '../../src/collectors/status-events.js'
import { createEventHub } from '../../src/monitor/events.js'
import { captureLogger } from './support.js'

describe('the typed event hub', () => {
  it('calls listeners in subscription order, and a listener that throws neither stops the others nor the emitter', async () => {
    const { logger, lines } = captureLogger('info')
    const hub = createEventHub<{ ping: { n: number } }>(logger)
    const seen: string[] = []
    hub.on('ping', ({ n }) => seen.push(`a${n}`))
    hub.on('ping', () => {
      throw new Error('application bug')
    })
    hub.on('ping', async () => {
      throw new Error('async application bug')
    })
    const off = hub.on('ping', ({ n }) => seen.push(`d${n}`))
    expect(() => hub.emit('ping', { n: 1 })).not.toThrow()
    off()
    hub.emit('ping', { n: 2 })
    await new Promise((r) => setImmediate(r))
    expect(seen).toEqual(['a1', 'd1', 'a2'])
    expect(hub.listenerCount('ping')).toBe(3)
    const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 50)
    expect(errors.map((e) => [e.msg, e.err.message])).toEqual([
      ['a listener of the ping event threw; ignored', 'application bug'],
      ['a listener of the ping event threw; ignored', 'application bug'],
      ['a listener of the ping event threw; ignored', 'async application bug'],
      ['a listener of the ping event threw; ignored', 'async application bug'],
    ])
  })
})

describe('the status watcher', () => {
  const watch = (keyGroupGrowthThreshold?: number) => {
    const events: Array<[keyof ServerStatsEvents, unknown]> = []
    const watcher = createStatusWatcher({
      thresholds: DEFAULT_THRESHOLDS,
      keyGroupGrowthThreshold,
      emit: (event, payload) => events.push([event, payload]),
    })
    return { events, watcher }
  }
  const at = Date.parse('2026-11-27T10:00:00.000Z')
  const iso = new Date(at).toISOString()
  const report = (status: 'OK' | 'WARNING' | 'CRITICAL', memory: number | null, reasons: string[] = []) => ({
    status,
    reasons,
    memory_usage_percent: memory,
  })
  const groups = (count: number) => [
    {
      db: 'db0',
      groups: [{ group: 'session:*', count, memoryBytes: 0 }],
      distinctGroups: 1,
      sampledFraction: 1,
      durationMs: 1,
      finishedAt: at,
    },
  ]

  it('reports the first status, then only changes, with the reasons', () => {
    const { events, watcher } = watch()
    const observe = (r: ReturnType<typeof report>) =>
      watcher.observe({ report: r, keyGroups: [], fallbackActive: false, at })
    observe(report('OK', 10))
    observe(report('OK', 11))
    observe(report('CRITICAL', 95, ['memory 95% of maxmemory >= 90%']))
    observe(report('CRITICAL', 96, ['memory 96% of maxmemory >= 90%']))
    observe(report('OK', 10))
    expect(events.filter(([e]) => e === 'status')).toEqual([
      ['status', { status: 'OK', previous: null, reasons: [], at: iso }],
      [
        'status',
        { status: 'CRITICAL', previous: 'OK', reasons: ['memory 95% of maxmemory >= 90%'], at: iso },
      ],
      ['status', { status: 'OK', previous: 'CRITICAL', reasons: [], at: iso }],
    ])
  })

  it('reports memory crossing each threshold both ways, and nothing while maxmemory is unset', () => {
    const { events, watcher } = watch()
    for (const m of [null, 50, 74.9, 75, 89, 90, 91, 80, 10, null, 12])
      watcher.observe({ report: report('OK', m), keyGroups: [], fallbackActive: false, at })
    const risk = (level: string, previous: string | null, memoryUsagePercent: number) => [
      'memoryRisk',
      { level, previous, memoryUsagePercent, warningPercent: 75, criticalPercent: 90, at: iso },
    ]
    expect(events.filter(([e]) => e === 'memoryRisk')).toEqual([
      risk('WARNING', 'OK', 75),
      risk('CRITICAL', 'WARNING', 90),
      risk('WARNING', 'CRITICAL', 80),
      risk('OK', 'WARNING', 10),
    ])
  })

  it('reports a key group once when it grows beyond the threshold, again only after it shrank back', () => {
    const { events, watcher } = watch(1000)
    for (const count of [10, 1000, 1001, 5000, 900, 1200])
      watcher.observe({ report: report('OK', null), keyGroups: groups(count), fallbackActive: false, at })
    expect(
      events.filter(([e]) => e === 'keyGroupGrowth').map(([, p]) => (p as { count: number }).count),
    ).toEqual([1001, 1200])
    const { events: none, watcher: off } = watch()
    off.observe({ report: report('OK', null), keyGroups: groups(1e9), fallbackActive: false, at })
    expect(none.filter(([e]) => e === 'keyGroupGrowth')).toEqual([])
  })

  it('reports the cache fallback turning on and off', () => {
    const { events, watcher } = watch()
    for (const active of [false, true, true, false, false])
      watcher.observe({ report: report('OK', null), keyGroups: [], fallbackActive: active, at })
    expect(events.filter(([e]) => e === 'fallback')).toEqual([
      ['fallback', { active: true, at: iso }],
      ['fallback', { active: false, at: iso }],
    ])
  })
})
