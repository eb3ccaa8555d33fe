import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { type SentinelSet, startSentinelSet } from '../helpers/sentinel.js'
import { waitFor } from '../helpers/wait-for.js'
import { directives, runInitScript, sentinelSettings, setting } from './redis-conf.js'
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
const work = mkdtempSync(join(tmpdir(), 'rpm-redis-sentinel-'))
const passwordFile = join(work, 'redis-password')
writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
const started: RedisServer[] = []

/** deploy/redis/kubernetes/init.sh, as an init container runs it, with this machine's addresses. */
function init(role: 'redis' | 'sentinel', env: Record<string, string>): string {
  const target = join(work, `${role}-${started.length}.conf`)
  const run = runInitScript(role, { passwordFile, target }, env)
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  return target
}

/** deploy/redis/kubernetes/probe.sh against a local port. */
function probe(port: number, mode: 'live' | 'ready') {
  return spawnSync('sh', [join(REDIS_DEPLOY_DIR, 'kubernetes', 'probe.sh'), String(port), mode], {
    encoding: 'utf8',
    env: { ...process.env, PASSWORD_FILE: passwordFile },
  })
}

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
  await Promise.allSettled(started.map((s) => s.stop()))
  await set?.stop()
  rmSync(work, { recursive: true, force: true })
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

  it('after the failover, init.sh asks the Sentinels and writes a replica of the new master that Redis runs', async () => {
    const master = await set.masterAddress()
    const sentinels = set.sentinelList.replaceAll(',', ' ')
    const conf = init('redis', { FQDN: 'localhost', SENTINELS: sentinels, REDIS_NODES: '127.0.0.1:1' })
    expect(setting(readFileSync(conf, 'utf8'), 'replicaof')).toBe(`${master.host} ${master.port}`)
    // The pod's file, run by redis-server (the fixture's port, bind and dir on the command line):
    // masterauth from init.sh lets it sync from the new master.
    const pod = await startRedis({ configFile: conf, password: PASSWORD })
    started.push(pod)
    await waitFor(async () => /master_link_status:up/.test(await pod.cli('INFO', 'replication')), {
      timeoutMs: 20_000,
      what: 'the init.sh replica to sync',
    })
    expect(probe(pod.port, 'ready').status).toBe(0)
  })

  it('without Sentinels, init.sh takes the Redis node that is a master with replicas', async () => {
    const master = await set.masterAddress()
    const killed = set.nodes.find((n) => !n.running)!
    const conf = init('redis', {
      FQDN: 'localhost',
      SENTINELS: '127.0.0.1:1',
      REDIS_NODES: `127.0.0.1:${killed.port} 127.0.0.1:${master.port}`,
    })
    expect(setting(readFileSync(conf, 'utf8'), 'replicaof')).toBe(`127.0.0.1 ${master.port}`)
  })

  it('init.sh sentinel points a new Sentinel at the new master; it starts with the password and agrees', async () => {
    const master = await set.masterAddress()
    const conf = init('sentinel', {
      FQDN: 'localhost',
      SENTINELS: set.sentinelList.replaceAll(',', ' '),
      REDIS_NODES: '127.0.0.1:1',
    })
    const monitor = directives(readFileSync(conf, 'utf8')).find((d) => d.args.startsWith('monitor '))
    expect(monitor?.args).toBe(`monitor ${MASTER} ${master.host} ${master.port} ${QUORUM}`)
    const sentinel = await startRedis({ configFile: conf, sentinel: true, password: PASSWORD })
    started.push(sentinel)
    const named = (await sentinel.cli('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)).trim().split('\n')
    expect(named).toEqual([master.host, String(master.port)])
    expect(probe(sentinel.port, 'ready').status).toBe(0)

    // As in the pods, it has requirepass but no sentinel-pass: it must authenticate to the other
    // Sentinels with its own password. A refused PING still counts as a reply (last-ping-reply) but
    // never as a good one (last-ok-ping-reply stays at the peer's discovery): wait for good replies
    // newer than one second after each peer was found.
    const peers = async () => {
      const items = (await sentinel.cli('SENTINEL', 'SENTINELS', MASTER)).trim().split('\n')
      const out: Map<string, string>[] = []
      for (let i = 0; i + 1 < items.length; i += 2) {
        if (items[i] === 'name') out.push(new Map())
        out.at(-1)?.set(items[i]!, items[i + 1]!)
      }
      return out
    }
    await waitFor(async () => (await peers()).length === set.sentinels.length, {
      timeoutMs: 20_000,
      what: 'the new Sentinel to find the other three',
    })
    const found = Date.now()
    await waitFor(
      async () =>
        (await peers()).every(
          (p) =>
            p.get('flags') === 'sentinel' && Number(p.get('last-ok-ping-reply')) < Date.now() - found - 1000,
        ),
      { timeoutMs: 20_000, what: 'good PING replies from every other Sentinel' },
    )
  })

  it('probe.sh: a killed node fails liveness with one line; a live one without the password is not ready', async () => {
    const killed = set.nodes.find((n) => !n.running)!
    const dead = probe(killed.port, 'live')
    expect(dead.status).toBe(1)
    expect(dead.stderr.trim().split('\n')).toHaveLength(1)
    const master = await set.master()
    const wrong = spawnSync(
      'sh',
      [join(REDIS_DEPLOY_DIR, 'kubernetes', 'probe.sh'), String(master.port), 'ready'],
      {
        encoding: 'utf8',
        env: { ...process.env, PASSWORD_FILE: join(REDIS_DEPLOY_DIR, 'example', 'redis-password') },
      },
    )
    expect(wrong.status).toBe(1)
    expect(wrong.stderr).toMatch(/WRONGPASS|NOAUTH/)
    expect(probe(master.port, 'live').status).toBe(0)
  })
})
