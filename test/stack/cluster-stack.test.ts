import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisCluster, startCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'
import {
  dashboardRow,
  describeDiscoveryExample,
  type ExampleStack,
  firingAlerts,
  PROMETHEUS_DIR,
  panelQueries,
  queryPrometheus,
  startExampleStack,
  waitForEveryQueryData,
  waitForTargets,
} from './support.js'

const EXAMPLE = join(PROMETHEUS_DIR, 'examples', 'redis-cluster.yml')

describeDiscoveryExample(
  'prometheus/examples/redis-cluster.yml (every cluster node through /scrape)',
  EXAMPLE,
  'redis-cluster',
  '/discover-cluster-nodes',
)

// The cluster's own path with real processes: a three-master cluster <- the service
// (REDIS_CLUSTER=true) <- prometheus running the example configuration (addresses swapped, 1 s
// intervals) and the repository's rule files with short `for` values.
describe('the Redis Cluster row and alerts end to end (cluster, the service, prometheus)', () => {
  let cluster: RedisCluster
  let stack: ExampleStack

  beforeAll(async () => {
    cluster = await startCluster()
    stack = await startExampleStack({
      example: EXAMPLE,
      env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' },
    })
  }, 90_000)

  afterAll(async () => {
    await stack?.stop()
    await cluster?.stop()
  })

  const query = (expr: string) => queryPrometheus(stack.api, expr)

  it('discovers every cluster node through /discover-cluster-nodes, each as a /scrape target with its role', async () => {
    const targets = await waitForTargets(
      stack.api,
      'redis-cluster',
      (mine) => mine.length === 3,
      'three discovered cluster targets',
    )
    expect(targets.map((t) => t.labels.instance).sort()).toEqual(cluster.masters.map((m) => m.address).sort())
    for (const t of targets) {
      expect(t.labels.role).toBe('master')
      expect(t.scrapeUrl).toBe(
        `http://${stack.instance}/scrape?target=${encodeURIComponent(t.labels.instance ?? '')}`,
      )
    }
    // /scrape accepts the discovered nodes: each is up with its own cluster families.
    const states = await waitFor(
      async () => {
        const r = await query('redis_cluster_state{job="redis-cluster"} == 1 and on(instance) redis_up == 1')
        return r.data.result.length === 3 ? r : undefined
      },
      { timeoutMs: 30_000, what: 'every cluster node scraped through /scrape' },
    )
    expect(states.data.result.map((s) => s.metric.instance).sort()).toEqual(
      cluster.masters.map((m) => m.address).sort(),
    )
  }, 60_000)

  it("answers every query of the dashboard's Redis Cluster row with data", async () => {
    const row = dashboardRow('Redis Cluster')
    expect(row.map((p) => p.title)).toEqual([
      'Cluster state',
      'Cluster slots',
      'Cluster nodes',
      'Pool redirections per second',
    ])
    const queries = panelQueries(row, {
      jobs: ['redis-pool-monitor'],
      instance: stack.instance,
      rateInterval: '15s',
    })
    await waitForEveryQueryData(stack.api, queries, 'every cluster row query to return data')
    const state = await query(`redis_cluster_state{job="redis-pool-monitor"}`)
    expect(state.data.result.map((s) => s.value[1])).toEqual(['1'])
  }, 90_000)

  it('fires RedisClusterStateFail and RedisClusterSlotsFail once a master without replica is killed', async () => {
    const victim = cluster.masters[2]!
    await victim.kill()
    try {
      const firing = await waitFor(
        async () => {
          const names = await firingAlerts(stack.api, 'redis-pool-monitor')
          return names.has('RedisClusterStateFail') && names.has('RedisClusterSlotsFail') ? names : undefined
        },
        { timeoutMs: 60_000, intervalMs: 1_000, what: 'both cluster alerts firing' },
      )
      expect(firing.has('RedisClusterStateFail')).toBe(true)
    } finally {
      await victim.restart()
      await cluster.waitForState('ok')
    }
  }, 90_000)
})
