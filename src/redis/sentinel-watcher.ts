import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import { closeClient, guardSocketErrors, MAX_REPLY_BYTES, reconnectDelay } from './connection.js'
import { formatHostPort, type HostPort } from './endpoint.js'

/** What one Sentinel answered at the latest refresh. */
export interface SentinelNodeView {
  /** `host:port` of the Sentinel. */
  address: string
  reachable: boolean
  /** `host:port` of the master it names; undefined when unreachable or it names none. */
  master: string | undefined
  /** Its config epoch for the master: the newest epoch is the latest failover's outcome. */
  configEpoch: number | undefined
  /** Its flags for the master (`master`, `master,s_down`, ...). */
  flags: string | undefined
}

/** What the pool's health() and /status say of the Sentinels. */
export interface SentinelHealth {
  masterName: string
  /** `host:port` of the master the pool follows; undefined until a Sentinel names one. */
  master: string | undefined
  /** At least one Sentinel answers and every one that answers names the same master. */
  agree: boolean
  /** Sentinels answering / configured. */
  reachable: number
  total: number
  /** The quorum the Sentinels are configured with; undefined until one answers. */
  quorum: number | undefined
  /** Failovers the pool followed since start (+switch-master, or a refresh finding a newer config epoch). */
  failovers: number
}

export interface SentinelView extends SentinelHealth {
  sentinels: SentinelNodeView[]
}

export type SwitchCause = 'switch-master' | 'refresh'

export interface SentinelWatcherOptions {
  sentinels: readonly HostPort[]
  masterName: string
  /** ioredis options of a connection to one Sentinel: its password and TLS. */
  sentinelOptions: (node: HostPort) => RedisOptions
  logger: Logger
  /** How often every Sentinel is asked, besides the +switch-master subscription. */
  refreshIntervalMs: number
  /** Prefix of the Sentinel connections' names in CLIENT LIST. */
  connectionName: string
  /** The master moved. Called once per new address, before the view says so. */
  onSwitch(from: HostPort | undefined, to: HostPort, cause: SwitchCause): void
}

export interface SentinelWatcher {
  /** The master the pool follows; undefined until a Sentinel named one. */
  master(): HostPort | undefined
  /** Resolves once a master is known; rejects after `timeoutMs` without one. */
  whenKnown(timeoutMs: number): Promise<HostPort>
  view(): SentinelView
  /** Asks every Sentinel now (concurrent callers share one round). */
  refresh(): Promise<SentinelView>
  /** Replicas a Sentinel sees as healthy (not down, link to the master ok), as SENTINEL REPLICAS lists them. */
  replicas(): Promise<HostPort[]>
  /** Every replica a Sentinel knows of, down ones included (they are scraped as redis_up 0). */
  knownReplicas(): Promise<HostPort[]>
  /** Every Sentinel (`SENTINEL SENTINELS` adds the ones the configured ones know). */
  sentinelNodes(): Promise<HostPort[]>
  /** New credentials for the Sentinel connections (a rotated Secret, SIGHUP): used at their next (re)connect. */
  setSentinelAuth(auth: Pick<RedisOptions, 'password' | 'tls'>): void
  close(): Promise<void>
}

type Record_ = Record<string, string>

/** A port as a Sentinel prints it; undefined for anything that is not one (never `host:NaN`). */
const portOf = (raw: string | undefined): number | undefined => {
  const port = raw !== undefined && /^\d{1,5}$/.test(raw) ? Number(raw) : 0
  return port >= 1 && port <= 65_535 ? port : undefined
}

/** `ip` and `port` of a SENTINEL MASTER / REPLICAS / SENTINELS record, when both are there and sound. */
const addressOf = (r: Record_): HostPort | undefined => {
  const port = portOf(r['port'])
  return r['ip'] && port !== undefined ? { host: r['ip'], port } : undefined
}

const toRecord = (reply: unknown): Record_ => {
  if (Array.isArray(reply)) {
    const out: Record_ = {}
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1])
    return out
  }
  if (reply instanceof Map) return Object.fromEntries([...reply].map(([k, v]) => [String(k), String(v)]))
  return {}
}
const toRecords = (reply: unknown): Record_[] => (Array.isArray(reply) ? reply.map(toRecord) : [])
const isDown = (flags: string | undefined) => flags === undefined || /s_down|o_down|disconnected/.test(flags)

/**
 * Follows the master a set of Sentinels names. Two connections per Sentinel: one subscribed to
 * `+switch-master` (every Sentinel publishes it once it adopts the new configuration, so the first
 * message arrives as soon as the failover's leader has one), one asking `SENTINEL MASTER` every
 * `refreshIntervalMs` to catch a switch published while no subscription was up. Among the answers
 * the highest config epoch wins: a Sentinel that has not heard of the failover yet still names the
 * old master under the older epoch, and must not move the pool back.
 */
export function createSentinelWatcher(options: SentinelWatcherOptions): SentinelWatcher {
  const { masterName, logger } = options
  let current: HostPort | undefined
  let adoptedEpoch = -1
  let failovers = 0
  // +switch-master messages seen: a refresh whose answers were read before one arrived is older
  // than the pool's master and must not move it (see runRefresh).
  let switchMessages = 0
  let closed = false
  let refreshing: Promise<SentinelView> | undefined
  let waiters: Array<(master: HostPort) => void> = []
  let lastView: SentinelView = {
    masterName,
    master: undefined,
    agree: false,
    reachable: 0,
    total: options.sentinels.length,
    quorum: undefined,
    failovers: 0,
    sentinels: options.sentinels.map((s) => ({
      address: formatHostPort(s),
      reachable: false,
      master: undefined,
      configEpoch: undefined,
      flags: undefined,
    })),
  }

  const connect = (node: HostPort, role: string) => {
    const client = new Redis({
      ...options.sentinelOptions(node),
      host: node.host,
      port: node.port,
      connectionName: `${options.connectionName}:${role}`,
      enableOfflineQueue: role === 'sentinel-events',
      // The subscription is renewed by our own 'ready' listener (below), whose promise is handled:
      // ioredis' own resubscribe after a reconnect is a promise nobody awaits, and a close while it
      // is in flight rejects it ("Connection is closed."): an unhandled rejection, which ends a process.
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      commandTimeout: role === 'sentinel-events' ? undefined : 1_000,
      // A Sentinel's INFO has no role/loading fields to wait for.
      enableReadyCheck: false,
      retryStrategy: (attempt: number) => reconnectDelay(attempt),
    })
    // As every pooled connection: a second socket error (TLS to the Sentinels) must not end the
    // process, and a hostile peer cannot make one reply cost unbounded memory.
    guardSocketErrors(client, MAX_REPLY_BYTES)
    // One line per state change of a Sentinel, never one per failed attempt.
    let up = false
    client.on('error', () => {})
    client.on('ready', () => {
      if (!up && role === 'sentinel')
        logger.debug({ sentinel: formatHostPort(node) }, 'sentinel connection ready')
      up = true
      if (role === 'sentinel' && !closed) void refresh().catch(() => undefined)
    })
    client.on('close', () => {
      if (up && role === 'sentinel')
        logger.debug({ sentinel: formatHostPort(node) }, 'sentinel connection lost')
      up = false
    })
    return client
  }

  const nodes = options.sentinels.map((node) => ({
    node,
    commands: connect(node, 'sentinel'),
    events: connect(node, 'sentinel-events'),
  }))

  function adopt(to: HostPort, cause: SwitchCause): void {
    const from = current
    if (from && from.host === to.host && from.port === to.port) return
    current = to
    if (from !== undefined) {
      failovers++
      logger.warn(
        { from: formatHostPort(from), to: formatHostPort(to), cause, masterName },
        'the Sentinels named a new master: moving the pool',
      )
    } else {
      logger.info({ master: formatHostPort(to), masterName }, 'the Sentinels name the master')
    }
    lastView = { ...lastView, master: formatHostPort(to), failovers }
    options.onSwitch(from, to, cause)
    const ready = waiters
    waiters = []
    for (const resolve of ready) resolve(to)
  }

  for (const { events } of nodes) {
    events.on('message', (_channel: string, message: string) => {
      const [name, , , host, raw] = message.split(' ')
      const port = portOf(raw)
      if (closed || name !== masterName || !host || port === undefined) return
      switchMessages++
      adopt({ host, port }, 'switch-master')
      // Learn the new epoch, so a lagging Sentinel's older answer cannot move the pool back.
      void refresh().catch(() => undefined)
    })
    // Every (re)connection subscribes again: with autoResubscribe off, a new socket has no channel.
    events.on('ready', () => {
      if (!closed) events.subscribe('+switch-master').catch(() => undefined)
    })
  }

  async function ask(commands: Redis, address: string): Promise<SentinelNodeView> {
    try {
      const master = toRecord(await commands.call('SENTINEL', 'MASTER', masterName))
      const epoch = Number(master['config-epoch'])
      const quorum = Number(master['quorum'])
      const at = addressOf(master)
      return {
        address,
        reachable: true,
        master: at ? formatHostPort(at) : undefined,
        configEpoch: Number.isSafeInteger(epoch) ? epoch : undefined,
        flags: master['flags'],
        ...(Number.isSafeInteger(quorum) ? { quorum } : {}),
      } as SentinelNodeView
    } catch {
      return { address, reachable: false, master: undefined, configEpoch: undefined, flags: undefined }
    }
  }

  async function runRefresh(): Promise<SentinelView> {
    const messagesBefore = switchMessages
    const answers = await Promise.all(nodes.map(({ node, commands }) => ask(commands, formatHostPort(node))))
    const named = answers.filter((a) => a.master !== undefined)
    // The newest configuration wins; among equals, the address most Sentinels name. Not the
    // failover's leader while it promotes: it already has the new epoch but still the old address
    // until it switches (and publishes +switch-master), so its answer would pin the old master
    // under the newest epoch.
    const settled = named.filter((a) => !a.flags?.split(',').includes('failover_in_progress'))
    let best: SentinelNodeView | undefined
    for (const a of settled) {
      const votes = settled.filter((b) => b.master === a.master).length
      const bestVotes = best ? settled.filter((b) => b.master === best?.master).length : -1
      if (
        !best ||
        (a.configEpoch ?? -1) > (best.configEpoch ?? -1) ||
        ((a.configEpoch ?? -1) === (best.configEpoch ?? -1) && votes > bestVotes)
      )
        best = a
    }
    // A +switch-master that arrived while the Sentinels were being asked is newer than every answer
    // read before it: leave the pool where the message put it; the message asked for another round.
    if (!closed && best?.master !== undefined && switchMessages === messagesBefore) {
      const epoch = best.configEpoch ?? -1
      if (current === undefined || epoch > adoptedEpoch) {
        const [host, port] = splitHostPort(best.master)
        adoptedEpoch = epoch
        adopt({ host, port }, 'refresh')
      } else if (epoch === adoptedEpoch || formatHostPort(current) === best.master) {
        adoptedEpoch = Math.max(adoptedEpoch, epoch)
      }
    }
    const quorum = named
      .map((a) => (a as SentinelNodeView & { quorum?: number }).quorum)
      .find((q) => q !== undefined)
    lastView = {
      masterName,
      master: current ? formatHostPort(current) : undefined,
      agree: named.length > 0 && named.every((a) => a.master === named[0]?.master),
      reachable: answers.filter((a) => a.reachable).length,
      total: nodes.length,
      quorum,
      failovers,
      sentinels: answers.map(({ address, reachable, master, configEpoch, flags }) => ({
        address,
        reachable,
        master,
        configEpoch,
        flags,
      })),
    }
    return lastView
  }

  // A refresh asked for while one is in flight (a Sentinel connecting meanwhile) runs once more
  // after it, so its answer is not lost.
  let again = false
  function refresh(): Promise<SentinelView> {
    if (refreshing) {
      again = true
      return refreshing
    }
    refreshing = runRefresh().finally(() => {
      refreshing = undefined
      if (again && !closed) {
        again = false
        void refresh().catch(() => undefined)
      }
    })
    return refreshing
  }

  const timer = setInterval(() => {
    void refresh().catch(() => undefined)
  }, options.refreshIntervalMs)
  timer.unref()

  /** Runs `read` on the first Sentinel that answers. */
  async function onAny<T>(read: (commands: Redis) => Promise<T>): Promise<T> {
    let lastError: unknown = new Error('no Sentinel answers')
    for (const { commands } of nodes) {
      if (commands.status !== 'ready') continue
      try {
        return await read(commands)
      } catch (err) {
        lastError = err
      }
    }
    throw lastError
  }

  return {
    master: () => current,
    whenKnown(timeoutMs) {
      if (current) return Promise.resolve(current)
      return new Promise<HostPort>((resolve, reject) => {
        const t = setTimeout(() => {
          waiters = waiters.filter((w) => w !== done)
          reject(new Error(`no Sentinel names a master called ${masterName} yet`))
        }, timeoutMs)
        t.unref()
        const done = (master: HostPort) => {
          clearTimeout(t)
          resolve(master)
        }
        waiters.push(done)
      })
    },
    view: () => lastView,
    refresh,
    replicas: () =>
      onAny(async (commands) =>
        toRecords(await commands.call('SENTINEL', 'REPLICAS', masterName))
          .filter((r) => !isDown(r['flags']) && r['master-link-status'] === 'ok')
          .flatMap((r) => addressOf(r) ?? []),
      ),
    knownReplicas: () =>
      onAny(async (commands) =>
        toRecords(await commands.call('SENTINEL', 'REPLICAS', masterName)).flatMap((r) => addressOf(r) ?? []),
      ),
    async sentinelNodes() {
      const known = new Map(options.sentinels.map((s) => [formatHostPort(s), s]))
      try {
        const others = await onAny(async (commands) =>
          toRecords(await commands.call('SENTINEL', 'SENTINELS', masterName)),
        )
        for (const node of others.flatMap((s) => addressOf(s) ?? [])) known.set(formatHostPort(node), node)
      } catch {
        // The configured Sentinels are still the list.
      }
      return [...known.values()]
    },
    setSentinelAuth(auth) {
      const patch = Object.fromEntries(Object.entries(auth).filter(([, v]) => v !== undefined))
      for (const { commands, events } of nodes) {
        Object.assign(commands.options, patch)
        Object.assign(events.options, patch)
      }
    },
    async close() {
      closed = true
      clearInterval(timer)
      for (const resolve of waiters.splice(0)) void resolve
      await Promise.all(nodes.flatMap(({ commands, events }) => [commands, events]).map(closeClient))
    },
  }
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':')
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1')
  return [host, Number(address.slice(at + 1))]
}
