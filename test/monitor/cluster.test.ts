import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor } from '../../src/monitor/types.js'
import { type ClusterNode, type RedisCluster, startCluster } from '../helpers/cluster.js'
import { waitFor } from '../helpers/wait-for.js'
import { runView } from '../views/support.js'
import { captureLogger, metricValue } from './support.js'

const PASSWORD = 'cluster-pool-secret'

describe('pool monitor on a Redis Cluster (REDIS_CLUSTER)', () => {
  let cluster: RedisCluster
  let monitor: PoolMonitor
  let registry: Registry
  const { logger, lines } = captureLogger('debug')

  const errors = async (type: string) =>
    (await metricValue(registry, 'redis_operation_errors_total', { pool: 'c', type })) ?? 0
  const redirections = async (type: 'moved' | 'ask') =>
    (await metricValue(registry, 'redis_pool_redirections_total', { pool: 'c', type })) ?? 0
  const otherMaster = async (key: string): Promise<ClusterNode> => {
    const owner = await cluster.ownerOf(await cluster.keySlot(key))
    const other = cluster.masters.find((m) => m.id !== owner.id)
    if (!other) throw new Error('no other master')
    return other
  }

  beforeAll(async () => {
    cluster = await startCluster({ password: PASSWORD })
    registry = new Registry()
    const seed = cluster.masters[0]!
    monitor = createPoolMonitor({
      name: 'c',
      redis: { host: seed.host, port: seed.port, password: PASSWORD },
      cluster: { refreshIntervalMs: 200 },
      size: 2,
      registry,
      logger,
      probeIntervalMs: 100,
    })
    await waitFor(() => monitor.health().ready, { what: 'the cluster pool to be ready', timeoutMs: 15_000 })
  }, 60_000)

  afterAll(async () => {
    await monitor?.close()
    await cluster?.stop()
  })

  /** `status --json` (the shipped CLI) with REDIS_CLUSTER against one node. */
  const clusterStatus = (node: ClusterNode) =>
    runView(['status', '--json'], {
      REDIS_CLUSTER: 'true',
      REDIS_URL: `redis://:${PASSWORD}@${node.host}:${node.port}`,
      // A probe round trip on a loaded machine is no part of these verdicts.
      STATUS_LATENCY_WARNING_MS: '2000',
      STATUS_LATENCY_CRITICAL_MS: '2500',
    })

  it('routes single-key commands over many keys to their masters with no MOVED and no errors', async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `user:${i}`)
    // Batches the pool can hold at once (3 masters x 2 connections x 32 slots): the point here is
    // routing, and 3000 waiters at once would test acquire timeouts on a loaded machine instead.
    const values: unknown[] = []
    for (let i = 0; i < keys.length; i += 150) {
      const batch = keys.slice(i, i + 150)
      await Promise.all(batch.map((k) => monitor.call('set', k, `v-${k}`)))
      values.push(...(await Promise.all(batch.map((k) => monitor.call('get', k)))))
    }
    expect(values).toEqual(keys.map((k) => `v-${k}`))
    expect(await redirections('moved')).toBe(0)
    expect(await redirections('ask')).toBe(0)
    for (const type of ['reply', 'other', 'connection', 'timeout']) expect(await errors(type), type).toBe(0)
    // Every master got its share: the keys really were spread, not all sent to the seed.
    const sizes = await Promise.all(cluster.masters.map(async (m) => Number(await m.cli('DBSIZE'))))
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(3000)
    for (const n of sizes) expect(n).toBeGreaterThan(800)
  })

  it('status (the CLI) with REDIS_CLUSTER reads the node it is pointed at: OK, exit 0, its own keys', async () => {
    const node = cluster.masters[1]!
    const keys = Number(await node.cli('DBSIZE'))
    expect(keys).toBeGreaterThan(0)
    const result = await clusterStatus(node)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ status: 'OK', available: true, reasons: [] })
    expect(report.redis).toBe(`cluster redis://${node.host}:${node.port}/0`)
    expect(report.total_keys).toBe(keys)
  })

  it('counts POOL_SIZE connections per master in the pool gauges', async () => {
    expect(monitor.stats().max).toBe(2 * 3)
    expect(await metricValue(registry, 'redis_pool_max_connections', { pool: 'c' })).toBe(6)
  })

  it('runs pipelines, transactions and multi-key commands whose keys share a slot', async () => {
    const results = await monitor.pipeline([
      ['set', '{order:7}:a', '1'],
      ['incr', '{order:7}:a'],
      ['get', '{order:7}:a'],
    ])
    expect(results).toEqual([
      [null, 'OK'],
      [null, 2],
      [null, '2'],
    ])
    const tx = await monitor.multi([
      ['set', '{order:7}:b', 'x'],
      ['mget', '{order:7}:a', '{order:7}:b'],
    ])
    expect(tx).toEqual([
      [null, 'OK'],
      [null, ['2', 'x']],
    ])
    expect(await monitor.call('mget', '{order:7}:a', '{order:7}:b')).toEqual(['2', 'x'])
  })

  it('refuses cross-slot commands, pipelines and transactions with RPM_CROSS_SLOT before sending them', async () => {
    const before = await errors('reply')
    await expect(monitor.call('mget', 'user:1', 'user:2')).rejects.toMatchObject({ code: 'RPM_CROSS_SLOT' })
    await expect(
      monitor.pipeline([
        ['get', 'user:1'],
        ['get', 'user:2'],
      ]),
    ).rejects.toMatchObject({ code: 'RPM_CROSS_SLOT' })
    await expect(
      monitor.multi([
        ['set', 'user:1', 'a'],
        ['set', 'user:2', 'b'],
      ]),
    ).rejects.toMatchObject({ code: 'RPM_CROSS_SLOT' })
    // Nothing reached Redis: no CROSSSLOT reply came back.
    expect(await errors('reply')).toBe(before)
    expect(await errors('other')).toBe(3)
  })

  it('leases a connection on the node of a key, and refuses a lease without one', async () => {
    const value = await monitor.withConnection(
      async (client) => {
        await client.watch('{cart:9}:items')
        const tx = await client.multi().set('{cart:9}:items', '3').get('{cart:9}:items').exec()
        return tx?.[1]?.[1]
      },
      { key: '{cart:9}' },
    )
    expect(value).toBe('3')
    await expect(monitor.withConnection(async (c) => c.ping())).rejects.toMatchObject({
      code: 'RPM_CLUSTER_KEY_REQUIRED',
    })
    // user:1 and user:2 hash to different masters: one of them is foreign to the lease.
    const foreign = await cluster.keySlot('user:1').then((s) => cluster.ownerOf(s))
    const lease =
      (await cluster.ownerOf(await cluster.keySlot('user:2'))).id === foreign.id ? 'user:3' : 'user:2'
    await expect(
      monitor.withConnection(async (client) => client.get('user:1'), { key: lease }),
    ).rejects.toMatchObject({ code: 'RPM_CROSS_SLOT' })
  })

  it('follows a MOVED after a slot moves to another master, counts it once, and then goes straight there', async () => {
    // A pool of its own whose background refresh would not run before the move is noticed.
    const ownRegistry = new Registry()
    const seed = cluster.masters[0]!
    const slow = createPoolMonitor({
      name: 'slow-refresh',
      redis: { host: seed.host, port: seed.port, password: PASSWORD },
      cluster: { refreshIntervalMs: 600_000 },
      size: 1,
      registry: ownRegistry,
      logger,
      probeIntervalMs: 100,
    })
    const moved = async () =>
      (await metricValue(ownRegistry, 'redis_pool_redirections_total', {
        pool: 'slow-refresh',
        type: 'moved',
      })) ?? 0
    try {
      await waitFor(() => slow.health().ready, { what: 'the second pool to be ready' })
      const key = 'moving:{alpha}'
      await slow.call('set', key, 'before')
      expect(await moved()).toBe(0)
      await cluster.moveSlot(await cluster.keySlot(key), await otherMaster(key))
      expect(await slow.call('get', key)).toBe('before')
      expect(await moved()).toBe(1)
      expect(await slow.call('get', key)).toBe('before')
      expect(await moved()).toBe(1)
      const replies = await metricValue(ownRegistry, 'redis_operation_errors_total', {
        pool: 'slow-refresh',
        type: 'reply',
      })
      expect(replies).toBe(0)
    } finally {
      await slow.close()
    }
  })

  it('follows an ASK while a slot is being migrated, with ASKING, for calls and pipelines', async () => {
    const key = 'migrating:{beta}'
    const repliesBefore = await errors('reply')
    await monitor.call('set', key, 'old-home')
    const slot = await cluster.keySlot(key)
    const target = await otherMaster(key)
    const migration = await cluster.beginSlotMigration(slot, target)
    expect(await migration.migrateKeys()).toBe(1)
    const before = await redirections('ask')
    expect(await monitor.call('get', key)).toBe('old-home')
    expect(await redirections('ask')).toBe(before + 1)
    expect(await monitor.pipeline([['get', key]])).toEqual([[null, 'old-home']])
    expect(await redirections('ask')).toBe(before + 2)
    // A new key of the slot is created on the importing node through ASK as well.
    expect(await monitor.call('set', 'fresh:{beta}', '1')).toBe('OK')
    await migration.finish()
    expect(await target.cli('GET', 'fresh:{beta}')).toBe('1\n')
    expect(await errors('reply')).toBe(repliesBefore)
  })

  it.each(['moved', 'ask'] as const)(
    'follows at most 5 hops of %s for one call or pipeline, then fails with the sixth redirection as a reply error',
    async (type) => {
      const key = `bouncing:{${type}}`
      const slot = await cluster.keySlot(key)
      const owner = await cluster.ownerOf(slot)
      // A real node redirecting to itself on every send: a script returning the MOVED or ASK error
      // reply, so the redirection never ends, whichever node the pool sends it to.
      const redirection = `${type.toUpperCase()} ${slot} ${owner.address}`
      const script = `return redis.error_reply('${redirection}')`
      const evals = async () => {
        let calls = 0
        for (const master of cluster.masters)
          calls += Number(/cmdstat_eval:calls=(\d+)/.exec(await master.cli('INFO', 'commandstats'))?.[1] ?? 0)
        return calls
      }
      const before = await redirections(type)
      const repliesBefore = await errors('reply')
      const evalsBefore = await evals()
      await expect(monitor.call('eval', script, '1', key)).rejects.toMatchObject({
        code: 'RPM_REPLY',
        message: `Redis replied with an error: ${redirection}`,
      })
      // The first send and 5 resends; each of the 5 followed redirections counted, the sixth not.
      expect((await evals()) - evalsBefore).toBe(6)
      expect((await redirections(type)) - before).toBe(5)
      expect((await errors('reply')) - repliesBefore).toBe(1)
      // A pipeline of that one command: the same 5 hops, then the redirection as the batch's failure.
      await expect(monitor.pipeline([['eval', script, '1', key]])).rejects.toMatchObject({
        code: 'RPM_REPLY',
        message: `Redis replied with an error: ${redirection}`,
      })
      expect((await evals()) - evalsBefore).toBe(12)
      expect((await redirections(type)) - before).toBe(10)
    },
  )

  it('is not ready while a master is down (cluster_state fail), without opening the breaker on replies, and ready again after its restart', async () => {
    const victim = cluster.masters[2]!
    await victim.kill()
    await waitFor(() => /cluster_state is fail|CLUSTERDOWN/.test(monitor.health().reason ?? ''), {
      what: 'the pool to report the failed cluster',
      timeoutMs: 20_000,
    })
    expect(monitor.health().ready).toBe(false)
    // The surviving masters answer CLUSTERDOWN: a reply, never a reason to open the breaker.
    const survivor = cluster.masters[0]!
    let key = ''
    for (let i = 0; key === ''; i++) {
      const candidate = `survivor:${i}`
      if ((await cluster.ownerOf(await cluster.keySlot(candidate))).id === survivor.id) key = candidate
    }
    const replies: string[] = []
    for (let i = 0; i < 10; i++) {
      replies.push(await monitor.call('get', key).then(String, (err: Error) => err.message))
    }
    expect(replies.every((r) => r.includes('CLUSTERDOWN'))).toBe(true)
    expect(monitor.breakerState()).toBe('closed')
    // The shipped CLI, pointed at a surviving master, says the same: CRITICAL, exit 2.
    const down = await clusterStatus(survivor)
    expect(down.code).toBe(2)
    expect(JSON.parse(down.stdout)).toMatchObject({
      status: 'CRITICAL',
      reasons: ['cluster_state is fail: the cluster refuses commands'],
    })
    await victim.restart()
    await cluster.waitForState('ok')
    await waitFor(() => monitor.health().ready, { what: 'ready after the restart', timeoutMs: 20_000 })
    expect(lines.filter((l) => l.includes('cluster_state is fail')).length).toBe(1)
    expect(lines.filter((l) => l.includes('cluster_state is ok')).length).toBe(1)
  }, 60_000)

  it('never shows the password in logs', () => {
    expect(lines.join('\n')).not.toContain(PASSWORD)
  })
})
