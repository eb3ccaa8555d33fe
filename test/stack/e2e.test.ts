import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { freePort, type RedisServer, startRedis } from '../helpers/redis-server.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'
import {
  type AlertsResult,
  alertRules,
  type Child,
  getJson,
  PROMETHEUS_DIR,
  panelQueries,
  queryPrometheus,
  type RuleFile,
  readDashboard,
  readYaml,
  ruleFiles,
  startChild,
  waitForEveryQueryData,
  waitForReady,
  withShortFor,
} from './support.js'

// The whole path with real processes: redis-server <- the service <- prometheus, which loads the
// repository's own rule files (with test-only short `for` values derived from them) and a config
// derived from prometheus/prometheus.yml where only addresses and intervals differ.

const SCRAPE_INTERVAL = '1s'
const SHORT_FOR = '2s'
/** What Grafana would put in $__rate_interval for a 1 s scrape interval, with margin. */
const RATE_INTERVAL = '15s'

interface ScrapeConfig {
  job_name: string
  static_configs: Array<{ targets: string[] }>
}
interface PrometheusConfig {
  global: Record<string, string>
  rule_files: string[]
  alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> }
  scrape_configs: ScrapeConfig[]
}
interface RulesResult {
  data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> }
}

/** prometheus/prometheus.yml with each `host:port` replaced through `addresses` and faster intervals. */
function deriveConfig(addresses: Record<string, string>, ruleGlob: string): PrometheusConfig {
  const config = readYaml<PrometheusConfig>(join(PROMETHEUS_DIR, 'prometheus.yml'))
  const swap = (target: string) => {
    const replacement = addresses[target]
    if (!replacement) throw new Error(`prometheus.yml has a target the test does not map: ${target}`)
    return replacement
  }
  return {
    ...config,
    global: {
      ...config.global,
      scrape_interval: SCRAPE_INTERVAL,
      scrape_timeout: SCRAPE_INTERVAL,
      evaluation_interval: SCRAPE_INTERVAL,
    },
    rule_files: [ruleGlob],
    alerting: {
      alertmanagers: config.alerting.alertmanagers.map((am) => ({
        ...am,
        static_configs: am.static_configs.map((sc) => ({ ...sc, targets: sc.targets.map(swap) })),
      })),
    },
    scrape_configs: config.scrape_configs.map((job) => ({
      ...job,
      static_configs: job.static_configs.map((sc) => ({ ...sc, targets: sc.targets.map(swap) })),
    })),
  }
}

describe('the monitoring stack end to end (redis-server, the service, prometheus)', () => {
  let dir: string
  let redis: RedisServer
  let service: ServiceProcess
  let prometheus: Child
  let api: string
  let job: string
  let instance: string
  let workload: NodeJS.Timeout | undefined

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rpm-stack-'))
    redis = await startRedis({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] })
    service = await runService({
      env: {
        REDIS_URL: redis.url,
        PROBE_INTERVAL_MS: '500',
        KEY_GROUPS: 'user:*,session:*',
        KEY_GROUPS_INTERVAL_MS: '1000',
        LOG_LEVEL: 'warn',
        // The synthetic workload runs through a cache layer: the dashboard's cache row has data.
        BENCH_POOL_LOAD: 'true',
      },
    })

    const rulesDir = join(dir, 'alerts')
    mkdirSync(rulesDir)
    for (const [name, file] of ruleFiles()) {
      writeFileSync(
        join(rulesDir, basename(name)),
        stringify(withShortFor(file, SHORT_FOR) satisfies RuleFile),
      )
    }
    const promPort = await freePort()
    const nothingListens = async () => `127.0.0.1:${await freePort()}`
    instance = `127.0.0.1:${service.port}`
    const config = deriveConfig(
      {
        'redis-pool-monitor:9122': instance,
        'localhost:9090': `127.0.0.1:${promPort}`,
        'node-exporter:9100': await nothingListens(),
        'alertmanager:9093': await nothingListens(),
      },
      join(rulesDir, '*.yml'),
    )
    job = config.scrape_configs.find((j) => j.static_configs[0]?.targets[0] === instance)?.job_name ?? ''
    expect(job).not.toBe('')
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config))

    prometheus = startChild('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ])
    api = `http://127.0.0.1:${promPort}`
    await waitForReady(`${api}/-/ready`, prometheus)

    // A light, steady workload through redis-cli so rates and the hit rate have traffic to show.
    await redis.cli(
      'EVAL',
      "for i = 1, 200 do redis.call('SET', 'user:' .. i, string.rep('x', 100)) end " +
        "for i = 1, 50 do redis.call('SET', 'session:' .. i, 'token', 'EX', 300) end",
      '0',
    )
    const tick = () => {
      void Promise.allSettled([
        redis.cli('MGET', 'user:1', 'user:2', 'user:missing'),
        redis.cli('SET', 'temp:flash', 'x', 'PX', '1'),
      ]).finally(() => {
        if (workload) workload.refresh()
      })
    }
    workload = setTimeout(tick, 200)
    tick()
  }, 90_000)

  afterAll(async () => {
    clearTimeout(workload)
    workload = undefined
    await prometheus?.stop()
    await service?.stop()
    await redis?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const query = (expr: string) => queryPrometheus(api, expr)

  it('scrapes the service with the job name from prometheus/prometheus.yml', async () => {
    const result = await waitFor(
      async () => {
        const r = await query(`up{job="${job}"} == 1`)
        return r.data.result.length === 1 ? r : undefined
      },
      { timeoutMs: 30_000, what: 'the service target to be up' },
    )
    expect(result.data.result[0]?.metric.instance).toBe(instance)
  }, 60_000)

  it('finds the job and instance the dashboard variables offer', async () => {
    const jobs = await getJson<{ data: string[] }>(`${api}/api/v1/label/job/values?match[]=redis_up`)
    expect(jobs.data).toContain(job)
    const instances = await getJson<{ data: string[] }>(
      `${api}/api/v1/label/instance/values?match[]=${encodeURIComponent(`redis_up{job="${job}"}`)}`,
    )
    expect(instances.data).toEqual([instance])
  })

  it('answers every dashboard query outside the Redis Cluster row and the Replication and Sentinel row with data after a short workload', async () => {
    const dashboard = readDashboard()
    // The Redis Cluster row needs a cluster: cluster-stack.test.ts runs it against one. The
    // replica-set panels need replicas and Sentinels: sentinel-stack.test.ts.
    const queries = panelQueries(dashboard.panels, {
      jobs: [job],
      instance,
      rateInterval: RATE_INTERVAL,
    }).filter(
      (q) => !/redis_cluster_|redis_sentinel_|redis_master_link_up|redis_connected_slave_offset/.test(q.expr),
    )
    expect(queries.length).toBeGreaterThan(15)
    await waitForEveryQueryData(api, queries, 'every dashboard query to return data')
  }, 90_000)

  it('evaluates every alert rule without error against the real service', async () => {
    const expected = alertRules()
      .map((rule) => rule.alert)
      .sort()
    const rules = await waitFor(
      async () => {
        const r = await getJson<RulesResult>(`${api}/api/v1/rules?type=alert`)
        const all = r.data.groups.flatMap((g) => g.rules)
        return all.length === expected.length && all.every((rule) => rule.health !== 'unknown')
          ? all
          : undefined
      },
      { timeoutMs: 30_000, what: `all ${expected.length} alert rules to be loaded and evaluated once` },
    )
    // Every rule of prometheus/alerts/ loaded, none missing from a file Prometheus refused.
    expect(rules.map((rule) => rule.name).sort()).toEqual(expected)
    const broken = rules.filter((rule) => rule.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)
    expect(broken).toEqual([])
  }, 60_000)

  it('fires RedisDown and RedisCircuitBreakerOpen once Redis is killed', async () => {
    const watched = new Set(['RedisDown', 'RedisCircuitBreakerOpen'])
    const before = await getJson<AlertsResult>(`${api}/api/v1/alerts`)
    expect(before.data.alerts.filter((a) => watched.has(a.labels.alertname ?? ''))).toEqual([])

    await redis.kill()
    const firing = await waitFor(
      async () => {
        const r = await getJson<AlertsResult>(`${api}/api/v1/alerts`)
        const mine = r.data.alerts.filter((a) => a.labels.instance === instance && a.state === 'firing')
        const names = new Set(mine.map((a) => a.labels.alertname))
        return names.has('RedisDown') && names.has('RedisCircuitBreakerOpen') ? mine : undefined
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'RedisDown and RedisCircuitBreakerOpen to fire' },
    )
    const down = firing.find((a) => a.labels.alertname === 'RedisDown')
    expect(down?.labels.severity).toBe('critical')
    expect(down?.labels.job).toBe(job)
    expect(down?.annotations.description).toContain('redis_up has been 0')
    const breaker = firing.find((a) => a.labels.alertname === 'RedisCircuitBreakerOpen')
    expect(breaker?.annotations.description).toContain('state code 2')
    expect(breaker?.annotations.runbook).toMatch(/\S/)
  }, 90_000)
})
