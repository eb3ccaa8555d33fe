import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterInfoValue, parseClusterInfo, parseClusterNodes } from '../../src/collectors/cluster-parser.js'
import { clusterInfoFamilies } from '../../src/metrics/cluster.js'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import { type ClusterNode, type RedisCluster, startCluster } from '../helpers/cluster.js'
import { runToExit } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'
import { appFor, sample, whenReady } from './support.js'

const PASSWORD = 'cluster-route-secret'
/** Fields that change between two reads of CLUSTER INFO (bus traffic never stops). */
const MOVING = /^cluster_stats_messages_/

describe('the service on a Redis Cluster (REDIS_CLUSTER=true)', () => {
  let cluster: RedisCluster
  let app: FastifyInstance
  let dir: string

  beforeAll(async () => {
    cluster = await startCluster({ password: PASSWORD, replicasPerMaster: 1 })
    // /scrape takes target passwords from the redis_exporter-style file, for discovered nodes too.
    dir = mkdtempSync(join(tmpdir(), 'rpm-cluster-route-'))
    const passwords = join(dir, 'passwords.json')
    writeFileSync(
      passwords,
      JSON.stringify(Object.fromEntries(cluster.nodes.map((n) => [`redis://${n.address}`, PASSWORD]))),
    )
    app = await appFor({
      REDIS_TARGET_PASSWORDS_FILE: passwords,
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: 'true',
      POOL_SIZE: '2',
      METRICS_BEARER_TOKEN: 'token-1',
      KEY_GROUPS: 'user:*,session:*',
      KEY_GROUPS_INTERVAL_MS: '1000',
    })
    await whenReady(app)
  }, 60_000)

  afterAll(async () => {
    await app?.close()
    await cluster?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** Writes through the pool 100 at a time: a few thousand at once would wait past the acquire timeout. */
  const setMany = async (keys: string[], value: (key: string) => string = () => 'x') => {
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((k) => app.poolMonitor.call('set', k, value(k))))
    }
  }
  const get = (url: string) => app.inject({ url, headers: { authorization: 'Bearer token-1' } })
  const metrics = async () => (await get('/metrics')).body

  it('exports every CLUSTER INFO field of the REDIS_URL node as redis_cluster_*, equal to redis-cli around the scrape', async () => {
    const seed = cluster.masters[0]!
    const before = parseClusterInfo(await seed.cli('CLUSTER', 'INFO'))
    const text = (await get('/metrics')).body
    const after = parseClusterInfo(await seed.cli('CLUSTER', 'INFO'))
    expect(sample(text, 'redis_cluster_state')).toBe(1)
    for (const field of [
      'cluster_slots_assigned',
      'cluster_slots_ok',
      'cluster_slots_fail',
      'cluster_known_nodes',
      'cluster_size',
    ]) {
      expect(sample(text, `redis_${field}`), field).toBe(Number(after[field]))
      expect(before[field]).toBe(after[field])
    }
    expect(sample(text, 'redis_cluster_known_nodes')).toBe(6)
    expect(sample(text, 'redis_cluster_size')).toBe(3)
    // Every cluster_* field the node prints has its family; the one without the prefix is skipped.
    const known = clusterInfoFamilies.map((f) => f.field)
    for (const field of Object.keys(after).filter((f) => f.startsWith('cluster_')))
      expect(known, field).toContain(field)
    expect(after).toHaveProperty('total_cluster_links_buffer_limit_exceeded')
    expect(text).not.toContain('links_buffer_limit_exceeded')
    for (const family of clusterInfoFamilies) {
      // A message type the node had not counted after the scrape had no sample in it either.
      if (after[family.field] === undefined) {
        expect(sample(text, family.name), family.name).toBeUndefined()
        continue
      }
      const value = sample(text, family.name)
      if (MOVING.test(family.field)) {
        // Message counters move between the reads: the scrape's value lies between them.
        expect(value, family.name).toBeGreaterThanOrEqual(Number(before[family.field]))
        expect(value, family.name).toBeLessThanOrEqual(Number(after[family.field]))
      } else {
        expect(value, family.name).toBe(clusterInfoValue(after[family.field]))
      }
    }
    expect(text).toContain('# TYPE redis_cluster_messages_sent_total counter')
    expect(sample(text, 'redis_pool_max_connections{pool="default"}')).toBe(2 * 3)
    expect(text).toContain('redis_pool_redirections_total{pool="default",type="moved"}')
  })

  it('scales key groups from the REDIS_URL node to the cluster and never reports a partial view as exact', async () => {
    await setMany(Array.from({ length: 3000 }, (_, i) => `user:${i}`))
    await setMany(Array.from({ length: 600 }, (_, i) => `session:${i}`))
    const seedKeys = Number(await cluster.masters[0]!.cli('DBSIZE'))
    expect(seedKeys).toBeLessThan(3600 * 0.45)
    const text = await waitFor(
      async () => {
        const t = await metrics()
        // A pass that started before the writes ended saw only part of them: wait for a later one.
        const users = sample(t, 'redis_key_group_count{db="db0",key_group="user:*"}') ?? 0
        const sessions = sample(t, 'redis_key_group_count{db="db0",key_group="session:*"}') ?? 0
        return Math.abs(users - 3000) / 3000 < 0.1 && Math.abs(sessions - 600) / 600 < 0.2 ? t : undefined
      },
      { what: 'a key-group pass over the new keys', timeoutMs: 20_000 },
    )
    const fraction = sample(text, 'redis_key_groups_sampled_fraction{db="db0"}')!
    // The node's share of the keyspace (a third of the slots), not 1.
    expect(fraction).toBeGreaterThan(0.2)
    expect(fraction).toBeLessThan(0.5)
    const users = sample(text, 'redis_key_group_count{db="db0",key_group="user:*"}')!
    const sessions = sample(text, 'redis_key_group_count{db="db0",key_group="session:*"}')!
    expect(Math.abs(users - 3000) / 3000).toBeLessThan(0.1)
    expect(Math.abs(sessions - 600) / 600).toBeLessThan(0.2)
    expect((await get('/status')).json().key_groups_sampled_fraction).toBeLessThan(1)
  })

  it('gives the status command the same cluster view: key groups scaled from the REDIS_URL node, never exact', async () => {
    await setMany(Array.from({ length: 3000 }, (_, i) => `user:${i}`))
    const run = await runToExit(
      ['status', '--json'],
      { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', KEY_GROUPS: 'user:*' },
      30_000,
    )
    expect(run.code, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report.status).toBe('OK')
    expect(report.key_groups_sampled_fraction).toBeGreaterThan(0.2)
    expect(report.key_groups_sampled_fraction).toBeLessThan(0.5)
    const users = report.key_groups.find((g: { group: string }) => g.group === 'user:*')
    expect(Math.abs(users.count - 3000) / 3000).toBeLessThan(0.1)
    expect(run.stdout + run.stderr).not.toContain(PASSWORD)
  })

  it('lists exactly the cluster nodes, role as a label, as Prometheus HTTP SD JSON', async () => {
    const response = await get('/discover-cluster-nodes')
    expect(response.statusCode).toBe(200)
    const groups = response.json() as Array<{ targets: string[]; labels: Record<string, string> }>
    const expected = parseClusterNodes(await cluster.clusterNodes())
    expect(groups.map((g) => g.targets[0]).sort()).toEqual(cluster.nodes.map((n) => n.address).sort())
    for (const group of groups) {
      const node = expected.find((n) => `${n.host}:${n.port}` === group.targets[0])
      expect(group.targets).toHaveLength(1)
      expect(group.labels.role).toBe(node?.role)
      expect(group.labels.cluster_node_id).toBe(node?.id)
    }
    expect(groups.filter((g) => g.labels.role === 'master')).toHaveLength(3)
    expect(groups.filter((g) => g.labels.role === 'replica')).toHaveLength(3)
    expect(response.body).not.toContain(PASSWORD)
  })

  it('scrapes every discovered node through /scrape without SCRAPE_TARGETS, each with its own CLUSTER INFO', async () => {
    for (const node of cluster.masters) {
      const response = await get(`/scrape?target=${encodeURIComponent(node.address)}`)
      expect(response.statusCode, node.address).toBe(200)
      const own = parseClusterInfo(await node.cli('CLUSTER', 'INFO'))
      expect(sample(response.body, 'redis_up')).toBe(1)
      expect(sample(response.body, 'redis_cluster_state')).toBe(1)
      expect(sample(response.body, 'redis_cluster_my_epoch')).toBe(Number(own['cluster_my_epoch']))
      expect(response.body).not.toContain('redis_pool_')
      expect(response.body).not.toContain(PASSWORD)
    }
    const outside = await get(`/scrape?target=${encodeURIComponent('127.0.0.1:1')}`)
    expect(outside.statusCode).toBe(403)
  })

  it('puts discovery behind the /metrics credentials', async () => {
    const response = await app.inject({ url: '/discover-cluster-nodes' })
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ statusCode: 401 })
  })

  it('with REDIS_READ_FROM_REPLICAS sends reads to the replicas and writes to the masters', async () => {
    const registry = new Registry()
    const seed = cluster.masters[0]!
    const readers = createPoolMonitor({
      name: 'readers',
      redis: { host: seed.host, port: seed.port, password: PASSWORD },
      cluster: { readFromReplicas: true },
      size: 1,
      registry,
      logger: pino({ level: 'silent' }),
      probeIntervalMs: 200,
    })
    const gets = async (node: ClusterNode) => {
      const line = (await node.cli('INFO', 'commandstats'))
        .split('\n')
        .find((l) => l.startsWith('cmdstat_get:'))
      return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0)
    }
    try {
      await waitFor(() => readers.health().ready, { what: 'the replica-reading pool to be ready' })
      // Masters and replicas each get their POOL_SIZE: 1 x 6 nodes.
      await waitFor(() => readers.stats().max === 6, { what: 'pools on the replicas' })
      const keys = Array.from({ length: 300 }, (_, i) => `replicated:${i}`)
      for (const k of keys) expect(await readers.call('set', k, k)).toBe('OK')
      for (const m of cluster.masters) await m.cli('WAIT', '1', '2000')
      const before = await Promise.all(cluster.nodes.map(gets))
      const values: unknown[] = []
      for (const k of keys) values.push(await readers.call('get', k))
      expect(values).toEqual(keys)
      const after = await Promise.all(cluster.nodes.map(gets))
      const masterIds = new Set(cluster.masters.map((m) => m.id))
      const delta = (which: boolean) =>
        cluster.nodes.reduce(
          (n, node, i) => n + (masterIds.has(node.id) === which ? after[i]! - before[i]! : 0),
          0,
        )
      expect(delta(false)).toBe(300)
      expect(delta(true)).toBe(0)
    } finally {
      await readers.close()
    }
  })

  it('SIGKILL of a master and its replica: redis_cluster_state 0, ready 503, /health unhealthy, /status CRITICAL; restarted: ready again', async () => {
    const victim = cluster.masters[2]!
    const nodes = parseClusterNodes(await cluster.clusterNodes())
    const replica = cluster.nodes.find((n) => nodes.find((e) => e.id === n.id)?.masterId === victim.id)!
    await replica.kill()
    await victim.kill()
    await cluster.waitForState('fail')
    await waitFor(async () => sample(await metrics(), 'redis_cluster_state') === 0, {
      what: 'redis_cluster_state 0',
      timeoutMs: 20_000,
    })
    // The state turns fail once the victim is FAIL (not merely PFAIL): exactly its slots fail.
    const victimSlots = nodes
      .find((e) => e.id === victim.id)!
      .slots.reduce((n, [lo, hi]) => n + hi - lo + 1, 0)
    expect(victimSlots).toBeGreaterThan(5000)
    expect(sample(await metrics(), 'redis_cluster_slots_fail')).toBe(victimSlots)
    await waitFor(async () => (await app.inject({ url: '/health/ready' })).statusCode === 503, {
      what: 'ready 503',
      timeoutMs: 20_000,
    })
    const ready = await app.inject({ url: '/health/ready' })
    expect(ready.json().reason).toMatch(/cluster_state is fail|CLUSTERDOWN/)
    expect(ready.json().circuit_breaker_state).toBe('closed')
    const health = await app.inject({ url: '/health' })
    expect(health.statusCode).toBe(503)
    expect(health.json().status).toBe('unhealthy')
    expect(health.json().checks.redis.status).toBe('fail')
    const status = (await app.inject({ url: '/status' })).json()
    expect(status.status).toBe('CRITICAL')
    expect(status.reasons).toContain('cluster_state is fail: the cluster refuses commands')

    await victim.restart()
    await replica.restart()
    await cluster.waitForState('ok')
    await waitFor(async () => (await app.inject({ url: '/health/ready' })).statusCode === 200, {
      what: 'ready 200 after the restart',
      timeoutMs: 20_000,
    })
    expect(sample(await metrics(), 'redis_cluster_state')).toBe(1)
    expect((await app.inject({ url: '/status' })).json().reasons).not.toContain(
      'cluster_state is fail: the cluster refuses commands',
    )
  }, 90_000)
  it('follows a failover: a master SIGKILLed, its replica promoted, every key read through the pool again', async () => {
    const keys = Array.from({ length: 600 }, (_, i) => `failover:${i}`)
    await setMany(keys, (k) => k)
    const victim = cluster.masters[1]!
    const before = parseClusterNodes(await cluster.clusterNodes())
    const replica = before.find((n) => n.masterId === victim.id)!
    await victim.kill()
    // The replica is promoted after the node timeout; the cluster serves every slot again.
    await waitFor(
      async () =>
        parseClusterNodes(await cluster.clusterNodes()).find((n) => n.id === replica.id)?.role === 'master',
      { what: 'the replica to be promoted', timeoutMs: 30_000 },
    )
    await cluster.waitForState('ok', 30_000)
    await waitFor(() => app.poolMonitor.health().ready, {
      what: 'ready after the failover',
      timeoutMs: 20_000,
    })
    const values: unknown[] = []
    for (let i = 0; i < keys.length; i += 100) {
      values.push(...(await Promise.all(keys.slice(i, i + 100).map((k) => app.poolMonitor.call('get', k)))))
    }
    expect(values).toEqual(keys)
    // The dead master's pool is retired and the promoted one's opened: still POOL_SIZE x 3 masters.
    await waitFor(() => app.poolMonitor.stats().max === 2 * 3, { what: 'the pool to follow the new master' })
    await victim.restart()
    await cluster.waitForState('ok', 30_000)
  }, 90_000)
})

describe('the service on a standalone Redis', () => {
  it('answers /discover-cluster-nodes with 404 and a reason', async () => {
    const app = await appFor({ REDIS_URL: 'redis://127.0.0.1:1' })
    try {
      const response = await app.inject({ url: '/discover-cluster-nodes' })
      expect(response.statusCode).toBe(404)
      expect(response.json().message).toMatch(/REDIS_CLUSTER=true/)
    } finally {
      await app.close()
    }
  })
})
