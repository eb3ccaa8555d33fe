import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DASHBOARD_UID, dashboardJson } from '../../grafana/src/dashboard.js'
import { definedMetricNames, familyOf, metricNamesIn, ROOT, readYaml } from './support.js'

const COMMITTED = join(ROOT, 'grafana', 'dashboards', 'redis-pool-monitor.json')

interface Target {
  expr: string
  datasource?: { uid?: string }
}
interface Panel {
  type: string
  title: string
  datasource?: { uid?: string }
  fieldConfig?: {
    defaults?: { unit?: string; thresholds?: { steps: Array<{ value: number | null; color?: string }> } }
  }
  targets?: Target[]
}
interface Dashboard {
  uid: string
  panels: Panel[]
  templating: { list: Array<{ name: string; datasource?: { uid?: string } }> }
}

const committedText = readFileSync(COMMITTED, 'utf8')
const dashboard = JSON.parse(committedText) as Dashboard
const dataPanels = dashboard.panels.filter((p) => p.type !== 'row')

describe('Grafana dashboard (grafana/dashboards/redis-pool-monitor.json)', () => {
  it('is exactly what grafana/src/dashboard.ts generates (run npm run generate:dashboard)', () => {
    expect(committedText).toBe(dashboardJson())
  })

  it('has the uid redis-pool-monitor and the variables job and instance', () => {
    expect(dashboard.uid).toBe(DASHBOARD_UID)
    expect(dashboard.uid).toBe('redis-pool-monitor')
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['job', 'instance'])
  })

  it('gives every panel a unit and the datasource uid prometheus, on the panel and on each query', () => {
    expect(dataPanels).toHaveLength(27)
    for (const panel of dataPanels) {
      expect(panel.fieldConfig?.defaults?.unit, panel.title).toMatch(/\S/)
      expect(panel.datasource?.uid, panel.title).toBe('prometheus')
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe('prometheus')
    }
    for (const variable of dashboard.templating.list) expect(variable.datasource?.uid).toBe('prometheus')
    expect(committedText).not.toContain('${DS_')
  })

  it('filters every query by the job and instance variables', () => {
    for (const panel of dataPanels) {
      for (const target of panel.targets ?? []) {
        expect(target.expr, panel.title).toContain('job="$job"')
        expect(target.expr, panel.title).toContain('instance=~"$instance"')
      }
    }
  })

  it('has the rows and panels grafana/README.md lists, in that order', () => {
    const rows: Array<[string, string[]]> = []
    for (const panel of dashboard.panels) {
      if (panel.type === 'row') rows.push([panel.title, []])
      else rows.at(-1)?.[1].push(panel.title)
    }
    expect(rows).toEqual([
      [
        'Pool (client side)',
        [
          'Pool utilization: now and between scrapes',
          'Pool connections: max vs active',
          'Operations waiting for a connection',
          'Circuit breaker state',
          'Operation latency p50 / p95 / p99',
          'Operations per second',
          'Errors per second by type',
        ],
      ],
      [
        'Redis server',
        [
          'Memory used vs max',
          'Keyspace hit rate',
          'Clients',
          'Evictions and expirations',
          'Keys per database',
          'Probe latency',
          'Key groups by memory',
        ],
      ],
      [
        'Cache layer (client side)',
        [
          'Cache hit rate by namespace',
          'Cache lookups per second by result',
          'Cache fallback state',
          'Cache fallback entries',
        ],
      ],
      ['Redis Cluster', ['Cluster state', 'Cluster slots', 'Cluster nodes', 'Pool redirections per second']],
      [
        'Replication and Sentinel',
        ['Replication role', 'Replication offset lag', 'Replica link status', 'Sentinel quorum', 'Failovers'],
      ],
    ])
    // "connections max vs active vs idle": the panel draws all three.
    const connections = dataPanels.find((p) => p.title === 'Pool connections: max vs active')
    expect(connections?.targets?.map((t) => metricNamesIn(t.expr))).toEqual([
      ['redis_pool_max_connections'],
      ['redis_pool_active_connections'],
      ['redis_pool_idle_connections'],
    ])
  })

  it('colours the pool utilization gauge green, orange at 80 percent, red at 90 percent', () => {
    const gauge = dataPanels.find((p) => p.type === 'gauge' && /utilization/i.test(p.title))
    expect(gauge?.fieldConfig?.defaults?.unit).toBe('percent')
    expect(gauge?.fieldConfig?.defaults?.thresholds?.steps).toEqual([
      { value: null, color: 'green' },
      { value: 80, color: 'orange' },
      { value: 90, color: 'red' },
    ])
  })

  it('queries only metric families defined in src/metrics/definitions.ts', () => {
    const defined = definedMetricNames()
    for (const panel of dataPanels) {
      for (const target of panel.targets ?? []) {
        for (const name of metricNamesIn(target.expr)) {
          expect(familyOf(name, defined), `${panel.title}: ${name}`).toBeDefined()
        }
      }
    }
  })
})

describe('Grafana provisioning (grafana/provisioning)', () => {
  it('provisions the Prometheus datasource under the uid the dashboard uses', () => {
    const file = readYaml<{ datasources: Array<{ uid: string; type: string; url: string }> }>(
      join(ROOT, 'grafana/provisioning/datasources/prometheus.yaml'),
    )
    expect(file.datasources).toEqual([
      expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' }),
    ])
  })

  it('loads dashboards from the path docker-compose.monitoring.yml mounts grafana/dashboards at', () => {
    const file = readYaml<{ providers: Array<{ type: string; options: { path: string } }> }>(
      join(ROOT, 'grafana/provisioning/dashboards/redis-pool-monitor.yaml'),
    )
    const compose = readYaml<{ services: { grafana: { volumes: string[] } } }>(
      join(ROOT, 'docker-compose.monitoring.yml'),
    )
    const mount = compose.services.grafana.volumes.find((v) => v.startsWith('./grafana/dashboards:'))
    expect(mount?.split(':')[1]).toBe(file.providers[0]?.options.path)
    expect(file.providers[0]?.type).toBe('file')
  })
})
