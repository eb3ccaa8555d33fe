import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisCluster, startCluster } from './cluster.js'

describe('test helper: startCluster', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startCluster({ password: 'cluster-secret' })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('starts three masters that share all 16384 slots with cluster_state ok', async () => {
    expect(cluster.masters).toHaveLength(3)
    expect(cluster.replicas).toHaveLength(0)
    const info = await cluster.info()
    expect(info.cluster_state).toBe('ok')
    expect(info.cluster_slots_assigned).toBe('16384')
    expect(info.cluster_known_nodes).toBe('3')
    expect(info.cluster_size).toBe('3')
    expect(new Set(cluster.nodes.map((n) => n.id)).size).toBe(3)
    expect(cluster.url).toBe(`redis://:cluster-secret@127.0.0.1:${cluster.masters[0]?.port}`)
  })

  it('moves a slot with its keys to another master', async () => {
    const key = 'helper:{moving}'
    const slot = await cluster.keySlot(key)
    const owner = await cluster.ownerOf(slot)
    await owner.cli('SET', key, 'v')
    const target = cluster.masters.find((m) => m !== owner)
    if (!target) throw new Error('no other master')
    await cluster.moveSlot(slot, target)
    expect((await cluster.ownerOf(slot)).id).toBe(target.id)
    expect((await target.cli('GET', key)).trim()).toBe('v')
    expect((await owner.cli('GET', key)).trim()).toMatch(/^MOVED \d+ 127\.0\.0\.1:\d+$/)
  })

  it('turns cluster_state to fail when a master without replica is SIGKILLed, and back to ok after its restart', async () => {
    const victim = cluster.masters[2]
    if (!victim) throw new Error('no third master')
    const pid = victim.pid
    await victim.kill()
    await cluster.waitForState('fail')
    expect((await cluster.info()).cluster_state).toBe('fail')
    await victim.restart()
    expect(victim.pid).not.toBe(pid)
    await cluster.waitForState('ok')
    expect((await cluster.info(victim)).cluster_state).toBe('ok')
  }, 60_000)
})
