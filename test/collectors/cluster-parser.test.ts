import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  addressableNodes,
  clusterInfoValue,
  parseClusterInfo,
  parseClusterNodes,
} from '../../src/collectors/cluster-parser.js'
import { clusterInfoFamilies } from '../../src/metrics/cluster.js'

const read = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')

describe('parseClusterInfo (captured CLUSTER INFO of Redis 7.0.15)', () => {
  it('reads every field of a healthy cluster, CRLF or LF', () => {
    const text = read('cluster-info-redis-7.0.15-ok.txt')
    const info = parseClusterInfo(text.replace(/\n/g, '\r\n'))
    expect(info).toEqual(parseClusterInfo(text))
    expect(info['cluster_state']).toBe('ok')
    expect(info['cluster_slots_assigned']).toBe('16384')
    expect(info['cluster_known_nodes']).toBe('6')
    expect(info['cluster_size']).toBe('3')
    expect(Object.keys(info)).toHaveLength(17)
  })

  it('turns ok into 1, fail into 0 and numbers into numbers, as redis_exporter does', () => {
    const fail = parseClusterInfo(read('cluster-info-redis-7.0.15-fail.txt'))
    expect(clusterInfoValue(fail['cluster_state'])).toBe(0)
    expect(clusterInfoValue(fail['cluster_slots_fail'])).toBe(5460)
    expect(clusterInfoValue('ok')).toBe(1)
    expect(clusterInfoValue('')).toBeUndefined()
    expect(clusterInfoValue('n/a')).toBeUndefined()
    expect(clusterInfoValue(undefined)).toBeUndefined()
  })

  it('has a family for every cluster_* field Redis 7 prints (33 in all, none for total_cluster_links_buffer_limit_exceeded), under redis_exporter names', () => {
    const fields = new Set(clusterInfoFamilies.map((f) => f.field))
    for (const name of ['ok', 'fail']) {
      for (const field of Object.keys(parseClusterInfo(read(`cluster-info-redis-7.0.15-${name}.txt`)))) {
        if (field.startsWith('cluster_')) expect(fields, field).toContain(field)
      }
    }
    // src/collectors/README: 33 families in all; the one field without the cluster_ prefix is
    // skipped, as redis_exporter skips it.
    expect(clusterInfoFamilies).toHaveLength(33)
    expect(parseClusterInfo(read('cluster-info-redis-7.0.15-ok.txt'))).toHaveProperty(
      'total_cluster_links_buffer_limit_exceeded',
    )
    expect(fields).not.toContain('total_cluster_links_buffer_limit_exceeded')
    const byField = Object.fromEntries(clusterInfoFamilies.map((f) => [f.field, f]))
    expect(byField['cluster_state']).toMatchObject({ name: 'redis_cluster_state', type: 'gauge' })
    expect(byField['cluster_stats_messages_sent']).toMatchObject({
      name: 'redis_cluster_messages_sent_total',
      type: 'counter',
    })
    expect(byField['cluster_stats_messages_auth-req_sent']?.name).toBe(
      'redis_cluster_stats_messages_auth_req_sent',
    )
    expect(new Set(clusterInfoFamilies.map((f) => f.name)).size).toBe(clusterInfoFamilies.length)
    for (const family of clusterInfoFamilies)
      expect(family.help).toMatch(/\((count|state code|epoch number)[^)]*\)\.$/)
  })
})

describe('parseClusterNodes (captured CLUSTER NODES of Redis 7.0.15)', () => {
  it('reads roles, masters, slots and the importing/migrating markers of a cluster with replicas', () => {
    const nodes = parseClusterNodes(read('cluster-nodes-redis-7.0.15-replicas-migrating.txt'))
    expect(nodes).toHaveLength(6)
    expect(nodes.filter((n) => n.role === 'master')).toHaveLength(3)
    const me = nodes.find((n) => n.myself)
    expect(me).toMatchObject({
      id: 'd099c4369e2069e142c15d8123812301a7be1879',
      host: '127.0.0.1',
      port: 44083,
      busPort: 54083,
      hostname: undefined,
      role: 'master',
      masterId: undefined,
      failing: undefined,
      connected: true,
      configEpoch: 3,
      // The [13513->-...] migrating marker is not a served range.
      slots: [[10923, 16383]],
    })
    const replica = nodes.find((n) => n.id === '7f19b94a74bfeb402645774202af06c10bac1afe')
    expect(replica).toMatchObject({
      role: 'replica',
      masterId: '9fc87528f4ee515934ca094d7c13bd66611c215c',
      slots: [],
    })
    const total = nodes.flatMap((n) => n.slots).reduce((sum, [lo, hi]) => sum + hi - lo + 1, 0)
    expect(total).toBe(16384)
  })

  it('marks failed nodes and reads single-slot entries', () => {
    const nodes = parseClusterNodes(read('cluster-nodes-redis-7.0.15-master-failed.txt'))
    const failed = nodes.filter((n) => n.failing === 'fail')
    expect(failed.map((n) => n.role).sort()).toEqual(['master', 'replica'])
    expect(failed.every((n) => !n.connected)).toBe(true)
    const me = nodes.find((n) => n.myself)
    expect(me?.slots).toEqual([
      [0, 5460],
      [13513, 13513],
    ])
  })

  it('reads announced hostnames and skips nodes that cannot be dialled', () => {
    const text = [
      'aaaa 10.0.0.1:6379@16379,redis-0.redis master - 0 0 1 connected 0-16383',
      'bbbb :0@0 master,noaddr - 0 0 0 disconnected',
      'cccc 10.0.0.3:6379@16379 handshake - 0 0 0 connected',
      'garbage line',
      '',
    ].join('\n')
    const nodes = parseClusterNodes(text)
    expect(nodes.map((n) => n.id)).toEqual(['aaaa', 'bbbb', 'cccc'])
    expect(nodes[0]?.hostname).toBe('redis-0.redis')
    expect(addressableNodes(nodes).map((n) => n.id)).toEqual(['aaaa'])
  })
})
