import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataNode, type SentinelSet, startSentinelSet } from './sentinel.js'

const field = (output: string, key: string) => {
  const lines = output.split('\n')
  return lines[lines.indexOf(key) + 1]
}

describe('test helper: startSentinelSet', () => {
  let set: SentinelSet
  beforeAll(async () => {
    set = await startSentinelSet({ password: 'data-secret', sentinelPassword: 'sentinel-secret' })
  }, 60_000)
  afterAll(async () => {
    await set?.stop()
  })

  it('starts a master, a linked replica and three Sentinels that agree on the master, with quorum 2', async () => {
    expect(set.nodes.map((n) => n.name)).toEqual(['node-0', 'node-1'])
    expect(set.sentinels).toHaveLength(3)
    expect(await set.masterAddress()).toEqual({ host: '127.0.0.1', port: set.nodes[0]?.port })
    expect(await set.nodes[0]?.role()).toBe('master')
    expect(await set.nodes[1]?.role()).toBe('slave')
    const master = await set.sentinelCli('SENTINEL', 'MASTER', 'mymaster')
    expect(field(master, 'quorum')).toBe('2')
    expect(field(master, 'num-other-sentinels')).toBe('2')
    expect(field(master, 'down-after-milliseconds')).toBe('2000')
    expect(set.sentinelList).toBe(set.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','))
  })

  it('asks for both passwords: the data nodes and the Sentinels refuse an unauthenticated client', async () => {
    const { execFile } = await import('node:child_process')
    const bare = (port: number) =>
      new Promise<string>((resolve) =>
        execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'PING'], (_err, stdout) =>
          resolve(stdout),
        ),
      )
    expect(await bare(set.nodes[0]?.port as number)).toMatch(/NOAUTH/)
    expect(await bare(set.sentinels[0]?.port as number)).toMatch(/NOAUTH/)
  })

  it('fails over to the replica when the master is SIGKILLed, and reports the +switch-master', async () => {
    const { killed, event } = await set.killMaster()
    expect(killed.name).toBe('node-0')
    expect(event.from.port).toBe(set.nodes[0]?.port)
    expect(event.to.port).toBe(set.nodes[1]?.port)
    expect((await set.master()).name).toBe('node-1')
    expect(await set.nodes[1]?.role()).toBe('master')
  })

  it('rejoins the killed node as a replica of the new master', async () => {
    await set.rejoin(set.nodes[0] as DataNode)
    const settled = await set.waitForStable()
    expect(settled.port).toBe(set.nodes[1]?.port)
    expect(await set.nodes[0]?.role()).toBe('slave')
    expect((await set.replicas()).map((n) => n.name)).toEqual(['node-0'])
  })

  it('fails over with two of three Sentinels when one is killed, and a Sentinel restarts on its port', async () => {
    await set.sentinels[0]?.kill()
    const { killed, event } = await set.killMaster()
    expect(killed.name).toBe('node-1')
    expect(event.to.port).toBe(set.nodes[0]?.port)
    await set.rejoin(killed)
    await set.sentinels[0]?.restart()
    expect(await set.waitForStable()).toEqual({ host: '127.0.0.1', port: set.nodes[0]?.port })
  })

  it('fails over on SENTINEL FAILOVER with the old master still up', async () => {
    const event = await set.failover()
    expect(event.from.port).toBe(set.nodes[0]?.port)
    expect(event.to.port).toBe(set.nodes[1]?.port)
    expect(await set.nodes[1]?.role()).toBe('master')
  })
})

describe('test helper: startSentinelSet from a deployment sentinel.conf', () => {
  let set: SentinelSet
  beforeAll(async () => {
    set = await startSentinelSet({
      sentinels: 3,
      sentinelConf: [
        'port 26379',
        'dir /data',
        'sentinel resolve-hostnames yes',
        'sentinel announce-ip redis-sentinel-0.redis',
        'sentinel monitor cache redis-0.redis.svc 6379 2',
        'sentinel down-after-milliseconds cache 5000',
        'sentinel parallel-syncs cache 1',
      ].join('\n'),
      redisConf: 'maxmemory 64mb\nmaxmemory-policy allkeys-lru\n',
    })
  }, 60_000)
  afterAll(async () => {
    await set?.stop()
  })

  it("points the file's monitor line at the fixture's master and keeps its name, quorum and timings", async () => {
    expect(set.masterName).toBe('cache')
    expect(await set.masterAddress()).toEqual({ host: '127.0.0.1', port: set.nodes[0]?.port })
    const master = await set.sentinelCli('SENTINEL', 'MASTER', 'cache')
    expect(field(master, 'quorum')).toBe('2')
    expect(field(master, 'down-after-milliseconds')).toBe('5000')
    expect(field(master, 'parallel-syncs')).toBe('1')
  })

  it('starts the data nodes from the redis.conf given', async () => {
    expect((await set.nodes[1]?.cli('CONFIG', 'GET', 'maxmemory-policy'))?.split('\n')[1]).toBe('allkeys-lru')
  })
})
