import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort, type RedisServer, startRedis } from './redis-server.js'
import { waitFor } from './wait-for.js'

export interface SentinelSetOptions {
  /** Replicas next to the master. @default 1 */
  replicas?: 1 | 2
  /** Sentinels watching the set. @default 3 */
  sentinels?: number
  /** The master's name at the Sentinels; with a `sentinelConf`, the name in its `sentinel monitor` line. @default 'mymaster' */
  masterName?: string
  /** Sentinels that must agree the master is down. With a `sentinelConf`, its own quorum unless given. @default 2 */
  quorum?: number
  /**
   * Sentinel `down-after-milliseconds`: short so a killed master fails over in about three seconds.
   * Not 1000: Sentinels ping once a second, and on a loaded 2-core machine one late PONG then
   * marks a healthy new master down and starts a second, spurious failover. With a
   * `sentinelConf`, the file's own value unless given. @default 2000
   */
  downAfterMilliseconds?: number
  /**
   * Sentinel `failover-timeout`. It also spaces automatic failovers of the same master (twice this)
   * and delays turning a returned old master into a replica (once this). With a `sentinelConf`, the
   * file's own value unless given. @default 2000
   */
  failoverTimeout?: number
  /** `requirepass` and `masterauth` of every data node, `sentinel auth-pass` of the Sentinels. */
  password?: string
  /** `requirepass` of the Sentinels themselves (and `sentinel sentinel-pass` between them). */
  sentinelPassword?: string
  /**
   * Text of a redis.conf every data node starts from. The fixture's own flags (port, bind, dir,
   * replicaof, password, repl-diskless-sync-delay 0) win over it; its persistence settings are kept.
   */
  redisConf?: string
  /**
   * Text of a sentinel.conf every Sentinel starts from. Its `sentinel monitor` line is pointed at
   * the fixture's master (name and quorum kept); lines naming this machine's paths, ports or
   * Sentinel identities (port, bind, dir, logfile, pidfile, include, announce-*, myid, known-*,
   * epochs) are dropped; everything else is kept.
   */
  sentinelConf?: string
}

export interface Address {
  host: string
  port: number
}

/** One redis-server of the set. `name` stays with the process across failovers: node-0 starts as master. */
export interface DataNode extends RedisServer {
  readonly name: string
  /** `INFO replication` role right now: 'master' or 'slave'. */
  role(): Promise<string>
}

export interface SentinelNode extends RedisServer {
  readonly name: string
}

/** A `+switch-master` message: `<name> <old-ip> <old-port> <new-ip> <new-port>`. */
export interface SwitchMaster {
  masterName: string
  from: Address
  to: Address
  /** Date.now() when the first Sentinel's message arrived here. */
  at: number
}

export interface FailoverWatch {
  /** Resolves on the first `+switch-master` any live Sentinel publishes after the watch started. */
  readonly switched: Promise<SwitchMaster>
  close(): void
}

export interface SentinelSet {
  readonly masterName: string
  /** Data nodes in start order; node-0 is the first master. */
  readonly nodes: readonly DataNode[]
  readonly sentinels: readonly SentinelNode[]
  /** Where the Sentinels listen, the shape of ioredis' `sentinels` option. */
  readonly sentinelAddresses: readonly Address[]
  /** The same as `host:port,host:port,...`, the form of REDIS_SENTINELS. */
  readonly sentinelList: string
  readonly password: string | undefined
  readonly sentinelPassword: string | undefined
  /** The master's address in the newest configuration (highest config-epoch) any live Sentinel has. */
  masterAddress(): Promise<Address>
  /** The data node the Sentinels name as master. */
  master(): Promise<DataNode>
  /** Running data nodes other than the one the Sentinels name as master. */
  replicas(): Promise<DataNode[]>
  /** Runs a command on a live Sentinel through redis-cli and returns its stdout. */
  sentinelCli(...args: string[]): Promise<string>
  /** Subscribes to `+switch-master` on every live Sentinel; resolves once subscribed. */
  watchFailover(timeoutMs?: number): Promise<FailoverWatch>
  /** SIGKILLs the current master and waits for the Sentinels' `+switch-master`. */
  killMaster(timeoutMs?: number): Promise<{ killed: DataNode; event: SwitchMaster }>
  /** `SENTINEL FAILOVER` (the old master stays up and is demoted) and waits for `+switch-master`. */
  failover(timeoutMs?: number): Promise<SwitchMaster>
  /** Restarts a killed data node as a replica of the current master. */
  rejoin(node: DataNode): Promise<void>
  /**
   * Waits until every running Sentinel names the same master, knows every other Sentinel, and
   * sees every other running data node as a linked replica: the state a failover needs to start
   * from. A paused node never settles.
   */
  waitForStable(timeoutMs?: number): Promise<Address>
  stop(): Promise<void>
}

const OWNED_SENTINEL_LINES =
  /^\s*(port|bind|dir|daemonize|pidfile|logfile|include|supervised|unixsocket\S*|sentinel\s+(announce-\S+|myid|known-\S+|config-epoch|leader-epoch|current-epoch))\b/i

interface SentinelConfText {
  text: string
  masterName: string
}

/** The base sentinel.conf with this machine's lines dropped and the monitor line pointed at `master`. */
function sentinelConfText(options: SentinelSetOptions, master: Address): SentinelConfText {
  const lines = (options.sentinelConf ?? '').split(/\r?\n/).filter((line) => !OWNED_SENTINEL_LINES.test(line))
  const monitorAt = lines.findIndex((line) => /^\s*sentinel\s+monitor\s/i.test(line))
  let masterName = options.masterName ?? 'mymaster'
  let quorum = options.quorum ?? 2
  if (monitorAt >= 0) {
    const [, , name, , , baseQuorum] = (lines[monitorAt] as string).trim().split(/\s+/)
    if (!name || !baseQuorum) throw new Error(`malformed sentinel monitor line: ${lines[monitorAt]}`)
    if (options.masterName && options.masterName !== name) {
      throw new Error(`masterName ${options.masterName} differs from the sentinelConf's ${name}`)
    }
    masterName = name
    quorum = options.quorum ?? Number(baseQuorum)
  }
  const monitor = `sentinel monitor ${masterName} ${master.host} ${master.port} ${quorum}`
  if (monitorAt >= 0) lines[monitorAt] = monitor
  else lines.push(monitor)

  const base = options.sentinelConf !== undefined
  const overrides: string[] = []
  const downAfter = options.downAfterMilliseconds ?? (base ? undefined : 2000)
  const failoverTimeout = options.failoverTimeout ?? (base ? undefined : 2000)
  if (downAfter !== undefined) overrides.push(`sentinel down-after-milliseconds ${masterName} ${downAfter}`)
  if (failoverTimeout !== undefined)
    overrides.push(`sentinel failover-timeout ${masterName} ${failoverTimeout}`)
  if (options.password) overrides.push(`sentinel auth-pass ${masterName} ${options.password}`)
  if (options.sentinelPassword) overrides.push(`sentinel sentinel-pass ${options.sentinelPassword}`)
  return { text: `${[...lines, ...overrides].join('\n')}\n`, masterName }
}

/** redis-cli prints a flat array reply as one item per line; SENTINEL MASTER answers key, value, key, ... */
function pairs(output: string): Map<string, string> {
  const items = output.split('\n').filter((line, i, all) => i < all.length - 1 || line !== '')
  const map = new Map<string, string>()
  for (let i = 0; i + 1 < items.length; i += 2) map.set(items[i] as string, items[i + 1] as string)
  return map
}

/** SENTINEL REPLICAS / SENTINELS: records of key/value lines, one after the other. */
function records(output: string, firstKey = 'name'): Map<string, string>[] {
  const items = output.split('\n').filter((line, i, all) => i < all.length - 1 || line !== '')
  const out: Map<string, string>[] = []
  for (let i = 0; i + 1 < items.length; i += 2) {
    if (items[i] === firstKey) out.push(new Map())
    out.at(-1)?.set(items[i] as string, items[i + 1] as string)
  }
  return out
}

/**
 * A real replica set on free loopback ports: one master, one or two replicas and (by default)
 * three `redis-sentinel` processes with quorum 2, all killable, pausable and restartable. Start it
 * once per test file (it takes two to five seconds for the Sentinels to find each other).
 */
export async function startSentinelSet(options: SentinelSetOptions = {}): Promise<SentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-sentinel-'))
  const replicaCount = options.replicas ?? 1
  const sentinelCount = options.sentinels ?? 3
  const host = '127.0.0.1'
  const nodes: DataNode[] = []
  const sentinels: SentinelNode[] = []

  const dataNode = (server: RedisServer, name: string): DataNode =>
    Object.assign(Object.create(server) as RedisServer, {
      name,
      role: async () => /role:(\w+)/.exec(await server.cli('INFO', 'replication'))?.[1] ?? 'unknown',
    }) as DataNode

  const stopAll = async () => {
    await Promise.allSettled([...sentinels, ...nodes].map((n) => n.stop()))
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    let redisConfFile: string | undefined
    if (options.redisConf !== undefined) {
      redisConfFile = join(dir, 'redis.conf')
      writeFileSync(redisConfFile, options.redisConf)
    }
    // Redis 7 waits 5 s before a diskless full sync to gather more replicas; here it only slows
    // every replica's (re)join.
    const auth = [
      ...(options.password ? ['--masterauth', options.password] : []),
      '--repl-diskless-sync-delay',
      '0',
    ]
    const master = await startRedis({ password: options.password, configFile: redisConfFile, args: auth })
    nodes.push(dataNode(master, 'node-0'))
    for (let i = 1; i <= replicaCount; i++) {
      const replica = await startRedis({
        password: options.password,
        configFile: redisConfFile,
        args: [...auth, '--replicaof', host, String(master.port)],
      })
      nodes.push(dataNode(replica, `node-${i}`))
    }

    const conf = sentinelConfText(options, { host, port: master.port })
    for (let i = 0; i < sentinelCount; i++) {
      const file = join(dir, `sentinel-${i}.conf`)
      writeFileSync(file, conf.text)
      const port = await freePort()
      const sentinel = await startRedis({
        port,
        configFile: file,
        sentinel: true,
        password: options.sentinelPassword,
      })
      sentinels.push(
        Object.assign(Object.create(sentinel) as RedisServer, { name: `sentinel-${i}` }) as SentinelNode,
      )
    }
    const masterName = conf.masterName

    const liveSentinels = () => sentinels.filter((s) => s.running)

    const sentinelCli = async (...args: string[]) => {
      let lastError: unknown = new Error('no Sentinel is running')
      for (const sentinel of liveSentinels()) {
        try {
          return await sentinel.cli(...args)
        } catch (err) {
          lastError = err
        }
      }
      throw lastError
    }

    const addressOf = async (sentinel: RedisServer): Promise<Address> => {
      const [ip, port] = (await sentinel.cli('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName))
        .trim()
        .split('\n')
      if (!ip || !port) throw new Error(`Sentinel ${sentinel.port} names no master`)
      return { host: ip, port: Number(port) }
    }

    // The newest configuration among the live Sentinels (the highest config-epoch), as a client
    // following them does: right after a failover, a Sentinel that has not yet heard of it still
    // names the old master for a moment.
    const masterAddress = async () => {
      const answers = await Promise.all(
        liveSentinels().map(async (sentinel) => {
          try {
            const flat = (await sentinel.cli('SENTINEL', 'MASTER', masterName)).trim().split('\n')
            const field = (name: string) => flat[flat.indexOf(name) + 1]
            return { host: field('ip'), port: Number(field('port')), epoch: Number(field('config-epoch')) }
          } catch {
            return undefined
          }
        }),
      )
      let newest: { host: string | undefined; port: number; epoch: number } | undefined
      for (const a of answers) if (a?.host && (!newest || a.epoch > newest.epoch)) newest = a
      if (!newest?.host) throw new Error('the Sentinels name no master')
      return { host: newest.host, port: newest.port }
    }

    const nodeAt = (address: Address) => {
      const node = nodes.find((n) => n.port === address.port)
      if (!node) throw new Error(`no data node listens on ${address.host}:${address.port}`)
      return node
    }

    const watchFailover = async (timeoutMs = 30_000): Promise<FailoverWatch> => {
      const subscribers = liveSentinels().map(
        (s) =>
          new Redis({
            host: s.host,
            port: s.port,
            password: options.sentinelPassword,
            maxRetriesPerRequest: 0,
            retryStrategy: () => 200,
          }),
      )
      let timer: NodeJS.Timeout | undefined
      const close = () => {
        clearTimeout(timer)
        for (const s of subscribers) s.disconnect()
      }
      const switched = new Promise<SwitchMaster>((resolve, reject) => {
        timer = setTimeout(() => {
          close()
          reject(new Error(`no +switch-master within ${timeoutMs} ms`))
        }, timeoutMs)
        for (const subscriber of subscribers) {
          subscriber.on('error', () => {})
          subscriber.on('message', (_channel: string, message: string) => {
            const [name, fromIp, fromPort, toIp, toPort] = message.split(' ')
            if (name !== masterName) return
            close()
            resolve({
              masterName: name,
              from: { host: fromIp as string, port: Number(fromPort) },
              to: { host: toIp as string, port: Number(toPort) },
              at: Date.now(),
            })
          })
        }
      })
      switched.catch(() => {})
      await Promise.all(subscribers.map((s) => s.subscribe('+switch-master')))
      return { switched, close }
    }

    const waitForStable = async (timeoutMs = 30_000): Promise<Address> =>
      waitFor(
        async () => {
          const live = liveSentinels()
          const views = await Promise.all(
            live.map((s) => s.cli('SENTINEL', 'MASTER', masterName).then(pairs)),
          )
          const first = views[0]
          if (!first) return undefined
          const ip = first.get('ip')
          const port = first.get('port')
          if (
            !views.every((v) => v.get('ip') === ip && v.get('port') === port && v.get('flags') === 'master')
          ) {
            return undefined
          }
          if (!views.every((v) => Number(v.get('num-other-sentinels')) >= sentinels.length - 1))
            return undefined
          const expectedReplicas = nodes.filter((n) => n.running && n.port !== Number(port))
          // The Sentinels refresh a replica's INFO every 10 s only: their view says the replica is
          // known and reachable; the master's own INFO says the link is up.
          for (const sentinel of live) {
            const replicas = records(await sentinel.cli('SENTINEL', 'REPLICAS', masterName))
            const known = expectedReplicas.filter((n) =>
              replicas.some((r) => r.get('port') === String(n.port) && r.get('flags') === 'slave'),
            )
            if (known.length !== expectedReplicas.length) return undefined
          }
          const masterNode = nodeAt({ host: ip as string, port: Number(port) })
          const info = await masterNode.cli('INFO', 'replication')
          if (!/role:master/.test(info)) return undefined
          if (!expectedReplicas.every((n) => info.includes(`port=${n.port},state=online`))) return undefined
          return { host: ip as string, port: Number(port) }
        },
        { timeoutMs, intervalMs: 100, what: 'the Sentinel set to settle' },
      )

    const failover = async (timeoutMs = 30_000) => {
      const watch = await watchFailover(timeoutMs)
      try {
        const reply = (await sentinelCli('SENTINEL', 'FAILOVER', masterName)).trim()
        if (reply !== 'OK') throw new Error(`SENTINEL FAILOVER answered ${reply}`)
        return await watch.switched
      } finally {
        watch.close()
      }
    }

    const killMaster = async (timeoutMs = 30_000) => {
      const killed = nodeAt(await masterAddress())
      const watch = await watchFailover(timeoutMs)
      try {
        await killed.kill()
        return { killed, event: await watch.switched }
      } finally {
        watch.close()
      }
    }

    const rejoin = async (node: DataNode) => {
      const current = await masterAddress()
      await node.restart([...auth, '--replicaof', current.host, String(current.port)])
    }

    const set: SentinelSet = {
      masterName,
      nodes,
      sentinels,
      sentinelAddresses: sentinels.map((s) => ({ host: s.host, port: s.port })),
      sentinelList: sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      password: options.password,
      sentinelPassword: options.sentinelPassword,
      masterAddress,
      master: async () => nodeAt(await masterAddress()),
      replicas: async () => {
        const current = await masterAddress()
        return nodes.filter((n) => n.running && n.port !== current.port)
      },
      sentinelCli,
      watchFailover,
      killMaster,
      failover,
      rejoin,
      waitForStable,
      stop: stopAll,
    }
    // Agreement of every Sentinel, not only a running process: a test's first failover must not
    // race the Sentinels' discovery of each other (hello messages every 2 s).
    await Promise.all(sentinels.map((s) => addressOf(s)))
    await waitForStable()
    return set
  } catch (err) {
    await stopAll()
    throw err
  }
}
