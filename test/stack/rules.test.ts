import { describe, expect, it } from 'vitest'
import {
  ALERTS_DIR,
  alertRules,
  definedMetricNames,
  familyOf,
  metricNamesIn,
  RULE_TESTS_DIR,
  readYaml,
  run,
  yamlFiles,
} from './support.js'

/** The README's alerts with what it fixes about each (severity, threshold, for). */
const FIXED_ALERTS: Record<string, { severity?: string; threshold?: string; for?: string }> = {
  RedisPoolHighUtilization: { severity: 'warning', threshold: '> 80', for: '5m' },
  RedisPoolCriticalUtilization: { severity: 'critical', threshold: '> 90', for: '2m' },
  RedisCircuitBreakerOpen: { severity: 'critical', threshold: '== 2', for: '1m' },
  RedisHighLatency: { severity: 'warning', threshold: '> 0.1', for: '5m' },
  RedisDown: {},
  RedisMemoryHigh: { threshold: '> 75' },
  RedisMemoryCritical: { threshold: '> 90' },
  RedisConnectionsHigh: {},
  RedisEvictionsHigh: {},
  RedisSlowQueries: {},
  RedisHitRateLow: { threshold: '< 50' },
  RedisCacheFallbackActive: { severity: 'warning' },
  RedisClusterStateFail: { severity: 'critical', threshold: '== 0', for: '1m' },
  RedisClusterSlotsFail: { severity: 'critical', threshold: '> 0' },
}

/** Metric families that come from Prometheus and Alertmanager themselves, not from this project. */
const FOREIGN = /^(up|prometheus_.+|alertmanager_.+)$/

interface RuleTestFile {
  rule_files: string[]
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; eval_time: string; exp_alerts?: unknown[] }> }>
}

describe('alert rules (prometheus/alerts)', () => {
  const rules = alertRules()
  const byName = new Map(rules.map((rule) => [rule.alert, rule]))

  it('pass promtool check rules', async () => {
    const result = await run('promtool', ['check', 'rules', ...yamlFiles(ALERTS_DIR)])
    expect(result.stderr + result.stdout).not.toMatch(/FAILED/)
    expect(result.code).toBe(0)
  })

  it('pass every promtool unit test in prometheus/tests', async () => {
    const files = yamlFiles(RULE_TESTS_DIR)
    expect(files.length).toBeGreaterThan(0)
    const result = await run('promtool', ['test', 'rules', ...files])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stdout.match(/SUCCESS/g)).toHaveLength(files.length)
  })

  it('define every alert the README names, with its severity, threshold and for-duration', () => {
    for (const [name, fixed] of Object.entries(FIXED_ALERTS)) {
      const rule = byName.get(name)
      expect(rule, name).toBeDefined()
      if (fixed.severity) expect(rule?.labels?.severity, name).toBe(fixed.severity)
      if (fixed.threshold) expect(rule?.expr.replace(/\s+/g, ' '), name).toContain(fixed.threshold)
      if (fixed.for) expect(rule?.for, name).toBe(fixed.for)
    }
  })

  it('give every alert a severity, a summary, a description carrying the value, and a runbook', () => {
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length)
    for (const rule of rules) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity)
      expect(rule.annotations?.summary, rule.alert).toMatch(/\S/)
      expect(rule.annotations?.description, rule.alert).toContain('$value')
      expect(rule.annotations?.runbook?.length ?? 0, rule.alert).toBeGreaterThan(80)
    }
  })

  it('hard-wire no job name in any expression', () => {
    for (const rule of rules) expect(rule.expr, rule.alert).not.toMatch(/\bjob\s*=~?/)
  })

  it('guard memory alerts against maxmemory 0 and the hit-rate alert against too little traffic', () => {
    for (const name of ['RedisMemoryHigh', 'RedisMemoryCritical']) {
      expect(byName.get(name)?.expr, name).toContain('redis_memory_max_bytes > 0')
    }
    expect(byName.get('RedisConnectionsHigh')?.expr).toContain('redis_config_maxclients > 0')
    expect(byName.get('RedisHitRateLow')?.expr).toMatch(/\band\b[\s\S]*> 1\b/)
  })

  it('watch the monitoring itself: a target that fails its scrapes alerts', () => {
    expect(rules.some((rule) => /^\s*up\s*==\s*0\s*$/.test(rule.expr))).toBe(true)
  })

  it('select only metric families defined in src/metrics/definitions.ts (or Prometheus/Alertmanager own)', () => {
    const defined = definedMetricNames()
    for (const rule of rules) {
      for (const name of metricNamesIn(rule.expr)) {
        if (FOREIGN.test(name)) continue
        expect(familyOf(name, defined), `${rule.alert}: ${name}`).toBeDefined()
      }
    }
  })

  it('have, for every alert, a unit test where it fires and one where it stays silent', () => {
    const cases = new Map<string, { fires: number; silent: number }>()
    for (const file of yamlFiles(RULE_TESTS_DIR)) {
      for (const test of readYaml<RuleTestFile>(file).tests) {
        for (const check of test.alert_rule_test ?? []) {
          const entry = cases.get(check.alertname) ?? { fires: 0, silent: 0 }
          if ((check.exp_alerts ?? []).length > 0) entry.fires++
          else entry.silent++
          cases.set(check.alertname, entry)
        }
      }
    }
    for (const rule of rules) {
      expect(cases.get(rule.alert)?.fires ?? 0, `${rule.alert} fires`).toBeGreaterThan(0)
      expect(cases.get(rule.alert)?.silent ?? 0, `${rule.alert} stays silent`).toBeGreaterThan(0)
    }
  })
})
