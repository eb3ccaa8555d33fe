import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SentinelSet, startSentinelSet } from '../helpers/sentinel.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'
import {
  type AlertsResult,
  type DashboardJson,
  EXAMPLE_SERVICE,
  type ExamplePrometheus,
  getJson,
  type ExampleScrapeJob as Job,
  PROMETHEUS_DIR,
  type QueryResult,
  ROOT,
  readYaml,
  run,
  startExamplePrometheus,
} from './support.js'

const EXAMPLE = join(PROMETHEUS_DIR, 'examples', 'redis-sentinel.yml')
const SERVICE = EXAMPLE_SERVICE

describe('prometheus/examples/redis-sentinel.yml (every node and Sentinel through /scrape)', () => {
  it('passes promtool check config', async () => {
    const result = await run('promtool', ['check', 'config', EXAMPLE])
    expect(result.code, result.stdout + result.stderr).toBe(0)
  })

  it('discovers nodes at /discover-nodes and sends each to /scrape?target= on the service', () => {
    const job = readYaml<{ scrape_configs: Job[] }>(EXAMPLE).scrape_configs.find(
      (j) => j.job_name === 'redis-sentinel',
    )
    expect(job?.http_sd_configs?.[0]?.url).toBe(`http://${SERVICE}/discover-nodes`)
    expect(job?.metrics_path).toBe('/scrape')
    expect(job?.relabel_configs).toEqual([
      { source_labels: ['__address__'], target_label: '__param_target' },
      { source_labels: ['__param_target'], target_label: 'instance' },
      { target_label: '__address__', replacement: SERVICE },
    ])
  })
})

// A master, a replica and three Sentinels <- the service (REDIS_SENTINELS) <- prometheus running
// the example configuration (addresses swapped, 1 s intervals) and the repository's rule files
// with short `for` values.
describe('the Replication and Sentinel row and alerts end to end (Sentinels, the service, prometheus)', () => {
  let dir: string
  let set: SentinelSet
  let service: ServiceProcess
  let prometheus: ExamplePrometheus
  let api: string
  let instance: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rpm-sentinel-stack-'))
    set = await startSentinelSet()
    service = await runService({
      env: {
        REDIS_URL: 'redis://127.0.0.1:1',
        REDIS_SENTINELS: set.sentinelList,
        REDIS_SENTINEL_MASTER: set.masterName,
        PROBE_INTERVAL_MS: '500',
        LOG_LEVEL: 'warn',
      },
    })
    instance = `127.0.0.1:${service.port}`
    prometheus = await startExamplePrometheus({ dir, example: EXAMPLE, instance })
    api = prometheus.api
  }, 90_000)

  afterAll(async () => {
    await prometheus?.stop()
    await service?.stop()
    await set?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const query = async (expr: string) =>
    getJson<QueryResult>(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`)
  const firing = async (job: string) => {
    const r = await getJson<AlertsResult>(`${api}/api/v1/alerts`)
    return new Set(
      r.data.alerts
        .filter((a) => a.state === 'firing' && a.labels.job === job)
        .map((a) => a.labels.alertname),
    )
  }

  it('discovers the master, the replica and the three Sentinels, each a /scrape target with its role', async () => {
    const targets = await waitFor(
      async () => {
        const r = await getJson<{
          data: {
            activeTargets: Array<{ labels: Record<string, string>; scrapePool: string; health: string }>
          }
        }>(`${api}/api/v1/targets`)
        const mine = r.data.activeTargets.filter((t) => t.scrapePool === 'redis-sentinel')
        return mine.length === 5 && mine.every((t) => t.health === 'up') ? mine : undefined
      },
      { timeoutMs: 30_000, what: 'five discovered targets, all up' },
    )
    const byRole = (role: string) =>
      targets
        .filter((t) => t.labels.role === role)
        .map((t) => t.labels.instance)
        .sort()
    expect(byRole('master')).toEqual([`127.0.0.1:${set.nodes[0]!.port}`])
    expect(byRole('replica')).toEqual([`127.0.0.1:${set.nodes[1]!.port}`])
    expect(byRole('sentinel')).toEqual(set.sentinels.map((s) => `127.0.0.1:${s.port}`).sort())
  }, 60_000)

  it("answers every query of the dashboard's Replication and Sentinel row with data, from the service's job or the discovered one", async () => {
    const dashboard = readYaml<DashboardJson>(join(ROOT, 'grafana', 'dashboards', 'redis-pool-monitor.json'))
    const start = dashboard.panels.findIndex(
      (p) => p.type === 'row' && p.title === 'Replication and Sentinel',
    )
    expect(start).toBeGreaterThan(0)
    const next = dashboard.panels.findIndex((p, i) => i > start && p.type === 'row')
    const row = dashboard.panels.slice(start + 1, next === -1 ? undefined : next)
    expect(row.map((p) => p.title)).toEqual([
      'Replication role',
      'Replication offset lag',
      'Replica link status',
      'Sentinel quorum',
      'Failovers',
    ])
    const queries = row.flatMap((panel) =>
      (panel.targets ?? []).map((t) => ({ what: `${panel.title} [${t.refId}]`, expr: t.expr })),
    )
    const empty = new Set(queries.map((q) => q.what))
    await waitFor(
      async () => {
        for (const q of queries) {
          if (!empty.has(q.what)) continue
          for (const job of ['redis-pool-monitor', 'redis-sentinel']) {
            const expr = q.expr
              .replaceAll('$job', job)
              .replaceAll('$instance', '.+')
              .replaceAll('$__rate_interval', '15s')
            const r = await query(expr)
            if (r.data.result.some((s) => Number.isFinite(Number(s.value[1])))) empty.delete(q.what)
          }
        }
        return empty.size === 0
      },
      { timeoutMs: 60_000, intervalMs: 1_000, what: 'every row query to return data' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; still empty: ${[...empty].join(', ')}`)
    })
    const quorum = await query('redis_sentinel_master_ckquorum_status{job="redis-sentinel"}')
    expect(quorum.data.result.map((s) => s.value[1])).toEqual(['1', '1', '1'])
  }, 90_000)

  it('fires RedisFailover when the master is killed and the pool follows the new one', async () => {
    await set.killMaster()
    await waitFor(async () => (await firing('redis-pool-monitor')).has('RedisFailover'), {
      timeoutMs: 60_000,
      intervalMs: 1_000,
      what: 'RedisFailover firing',
    })
    // The alert may fire on the Sentinels' own series before prometheus' next scrape of the
    // service has seen the pool's counter move: wait for that scrape, then the count is exact.
    const counts = await waitFor(
      async () => {
        const failovers = await query('redis_pool_failovers_total{job="redis-pool-monitor"}')
        const values = failovers.data.result.map((s) => s.value[1])
        return values.some((v) => v !== '0') ? values : undefined
      },
      { timeoutMs: 15_000, intervalMs: 500, what: 'the pool failover counter scraped after the switch' },
    )
    expect(counts).toEqual(['1'])
  }, 90_000)

  it('fires RedisSentinelQuorumLost once two of the three Sentinels are down', async () => {
    await Promise.all([set.sentinels[1]!.kill(), set.sentinels[2]!.kill()])
    await waitFor(async () => (await firing('redis-sentinel')).has('RedisSentinelQuorumLost'), {
      timeoutMs: 60_000,
      intervalMs: 1_000,
      what: 'RedisSentinelQuorumLost firing',
    })
  }, 90_000)
})
