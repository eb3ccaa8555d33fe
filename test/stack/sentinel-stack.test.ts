import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SentinelSet, startSentinelSet } from '../helpers/sentinel.js'
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

const EXAMPLE = join(PROMETHEUS_DIR, 'examples', 'redis-sentinel.yml')

describeDiscoveryExample(
  'prometheus/examples/redis-sentinel.yml (every node and Sentinel through /scrape)',
  EXAMPLE,
  'redis-sentinel',
  '/discover-nodes',
)

// A master, a replica and three Sentinels <- the service (REDIS_SENTINELS) <- prometheus running
// the example configuration (addresses swapped, 1 s intervals) and the repository's rule files
// with short `for` values.
describe('the Replication and Sentinel row and alerts end to end (Sentinels, the service, prometheus)', () => {
  let set: SentinelSet
  let stack: ExampleStack

  beforeAll(async () => {
    set = await startSentinelSet()
    stack = await startExampleStack({
      example: EXAMPLE,
      env: {
        REDIS_URL: 'redis://127.0.0.1:1',
        REDIS_SENTINELS: set.sentinelList,
        REDIS_SENTINEL_MASTER: set.masterName,
      },
    })
  }, 90_000)

  afterAll(async () => {
    await stack?.stop()
    await set?.stop()
  })

  const query = (expr: string) => queryPrometheus(stack.api, expr)
  const firing = (job: string) => firingAlerts(stack.api, job)

  it('discovers the master, the replica and the three Sentinels, each a /scrape target with its role', async () => {
    const targets = await waitForTargets(
      stack.api,
      'redis-sentinel',
      (mine) => mine.length === 5 && mine.every((t) => t.health === 'up'),
      'five discovered targets, all up',
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
    const row = dashboardRow('Replication and Sentinel')
    expect(row.map((p) => p.title)).toEqual([
      'Replication role',
      'Replication offset lag',
      'Replica link status',
      'Sentinel quorum',
      'Failovers',
    ])
    // Each query counts as answered when either job's series answer it.
    const queries = panelQueries(row, {
      jobs: ['redis-pool-monitor', 'redis-sentinel'],
      instance: '.+',
      rateInterval: '15s',
    })
    await waitForEveryQueryData(stack.api, queries, 'every row query to return data')
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
