import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  ALERTS_DIR,
  alertRules,
  definedMetricNames,
  familyOf,
  metricNamesIn,
  ROOT,
  RULE_TESTS_DIR,
  readYaml,
  run,
  yamlFiles,
} from './support.js'

/**
 * The README's alert table ("### Alerts"): each row's name, severity and, where "fires when" says
 * "for N m", the for-duration; read from the README itself so a row added there is checked here.
 */
const README_ALERTS = (() => {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = text.slice(text.indexOf('### Alerts'), text.indexOf('The rules are unit-tested'))
  return [...section.matchAll(/^\| `(\w+)` \| (warning|critical) \| ([^|]+) \|/gm)].map((m) => ({
    name: m[1] ?? '',
    severity: m[2] ?? '',
    for: /\bfor (\d+) m\b/.exec(m[3] ?? '')?.[1],
  }))
})()

/** The alerts of the README's Sentinel section (named there, not in the table). */
const README_SENTINEL_ALERTS = ['RedisReplicationBroken', 'RedisSentinelQuorumLost', 'RedisFailover']

/** The thresholds the README's table states, as they read in the rule expressions. */
const README_THRESHOLDS: Record<string, string> = {
  RedisPoolHighUtilization: '> 80',
  RedisPoolCriticalUtilization: '> 90',
  RedisCircuitBreakerOpen: '== 2',
  RedisHighLatency: '> 0.1',
  RedisDown: 'redis_up == 0',
  RedisMemoryHigh: '> 75',
  RedisMemoryCritical: '> 90',
  RedisConnectionsHigh: '> 80',
  RedisEvictionsHigh: '> 10',
  RedisSlowQueries: '> 10',
  RedisHitRateLow: '< 50',
  RedisClusterStateFail: '== 0',
  RedisClusterSlotsFail: '> 0',
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
    // One test file per rule file: alerts/<name>.yml is tested by tests/<name>.test.yml.
    expect(files.map((f) => basename(f))).toEqual(
      yamlFiles(ALERTS_DIR).map((f) => basename(f).replace(/\.yml$/, '.test.yml')),
    )
    const result = await run('promtool', ['test', 'rules', ...files])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stdout.match(/SUCCESS/g)).toHaveLength(files.length)
  })

  it("define exactly the README table's alerts (plus the Sentinel section's), each with its severity, for-duration and stated threshold", () => {
    expect(README_ALERTS).toHaveLength(20)
    expect([...byName.keys()].sort()).toEqual(
      [...README_ALERTS.map((a) => a.name), ...README_SENTINEL_ALERTS].sort(),
    )
    for (const row of README_ALERTS) {
      const rule = byName.get(row.name)
      expect(rule?.labels?.severity, row.name).toBe(row.severity)
      if (row.for) expect(rule?.for, row.name).toBe(`${row.for}m`)
    }
    for (const [name, threshold] of Object.entries(README_THRESHOLDS)) {
      expect(byName.get(name)?.expr.replace(/\s+/g, ' '), name).toContain(threshold)
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
