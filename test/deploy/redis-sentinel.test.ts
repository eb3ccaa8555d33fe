import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SentinelSet, startSentinelSet } from '../helpers/sentinel.js'
import { sentinelSettings, setting } from './redis-conf.js'
import { REDIS_DEPLOY_DIR } from './support.js'

// deploy/redis's sentinel.conf and redis.conf run for real: the shared Sentinel fixture starts a
// master and a replica from redis.conf and three redis-sentinel processes from sentinel.conf (only
// ports, paths and the monitored address are its own), all with one password as in the Kubernetes
// base. Then the master is SIGKILLed.

const REDIS_CONF = readFileSync(join(REDIS_DEPLOY_DIR, 'redis.conf'), 'utf8')
const SENTINEL_CONF = readFileSync(join(REDIS_DEPLOY_DIR, 'sentinel.conf'), 'utf8')
const PASSWORD = 'deploy-sentinel-test-5f1c9a0e7b'
const settings = sentinelSettings(SENTINEL_CONF)
const [MASTER = '', , , QUORUM] = settings['monitor']!.split(' ')
/** `sentinel <name> <master> <value>`: the value for our master. */
const perMaster = (name: string) => {
  const [master, value] = settings[name]!.split(' ')
  expect(master).toBe(MASTER)
  return Number(value)
}
const DOWN_AFTER_MS = perMaster('down-after-milliseconds')
const FAILOVER_TIMEOUT_MS = perMaster('failover-timeout')
/** The longest a failover may take by sentinel.conf: the master seen down, then a failover that has not timed out. */
const WINDOW_MS = DOWN_AFTER_MS + FAILOVER_TIMEOUT_MS

let set: SentinelSet

beforeAll(async () => {
  set = await startSentinelSet({
    replicas: 1,
    redisConf: REDIS_CONF,
    sentinelConf: SENTINEL_CONF,
    password: PASSWORD,
    sentinelPassword: PASSWORD,
  })
}, 90_000)

afterAll(async () => {
  await set?.stop()
})

const pairs = (output: string) => {
  const items = output.trim().split('\n')
  const map = new Map<string, string>()
  for (let i = 0; i + 1 < items.length; i += 2) map.set(items[i]!, items[i + 1]!)
  return map
}

describe('deploy/redis sentinel.conf and redis.conf, run by real processes', () => {
  it('every Sentinel watches the master with the quorum and timings of sentinel.conf and knows the other two', async () => {
    expect(set.sentinels).toHaveLength(3)
    expect(set.masterName).toBe(MASTER)
    for (const sentinel of set.sentinels) {
      const master = pairs(await sentinel.cli('SENTINEL', 'MASTER', MASTER))
      expect(master.get('quorum')).toBe(QUORUM)
      expect(master.get('down-after-milliseconds')).toBe(String(DOWN_AFTER_MS))
      expect(master.get('failover-timeout')).toBe(String(FAILOVER_TIMEOUT_MS))
      expect(master.get('parallel-syncs')).toBe(String(perMaster('parallel-syncs')))
      expect(master.get('num-other-sentinels')).toBe('2')
      expect(master.get('num-slaves')).toBe('1')
    }
  })

  it('the data nodes run redis.conf: memory, eviction and persistence settings', async () => {
    for (const node of set.nodes) {
      const get = async (name: string) => (await node.cli('CONFIG', 'GET', name)).trim().split('\n')[1]
      expect(await get('maxmemory')).toBe(String(256 * 1024 * 1024))
      expect(await get('maxmemory-policy')).toBe(setting(REDIS_CONF, 'maxmemory-policy'))
      expect(await get('appendonly')).toBe('yes')
      expect(await get('save')).toBe(setting(REDIS_CONF, 'save'))
    }
  })

  it(
    'a SIGKILLed master fails over to the replica after down-after-milliseconds and within the configured window',
    async () => {
      const [replica] = await set.replicas()
      const before = Date.now()
      const { killed, event } = await set.killMaster(WINDOW_MS)
      const elapsed = event.at - before

      expect(event.masterName).toBe(MASTER)
      expect(event.from.port).toBe(killed.port)
      expect(event.to.port).toBe(replica!.port)
      // Not before the Sentinels' down-after-milliseconds (so it is sentinel.conf's, not a default),
      // and within down-after plus failover-timeout (killMaster's own deadline is that window).
      expect(elapsed).toBeGreaterThanOrEqual(DOWN_AFTER_MS)
      expect(elapsed).toBeLessThan(WINDOW_MS)
      expect(await replica!.role()).toBe('master')
      expect((await replica!.cli('SET', 'after-failover', '1')).trim()).toBe('OK')
      expect(await set.masterAddress()).toEqual({ host: event.to.host, port: replica!.port })
    },
    WINDOW_MS + 30_000,
  )
})
