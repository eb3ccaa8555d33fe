import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor } from '../../src/monitor/types.js'
import type { RedisServer } from '../helpers/redis-server.js'
import { type SentinelSet, startSentinelSet } from '../helpers/sentinel.js'
import { waitFor } from '../helpers/wait-for.js'
import { captureLogger } from './support.js'

/**
 * The commands `node` runs from this pool's connections while `during` runs, lower-cased, in order
 * (MONITOR, filtered by the addresses of the `rpm:reads:*` clients: the Sentinels PING every node
 * each second, so commandstats alone cannot tell whose PING it ran).
 */
async function poolCommands(node: RedisServer, during: () => Promise<unknown>): Promise<string[]> {
  const pool = new Set(
    (await node.cli('CLIENT', 'LIST'))
      .split('\n')
      .filter((line) => /\bname=rpm:reads:/.test(line))
      .map((line) => /\baddr=(\S+)/.exec(line)![1]),
  )
  const watcher = new Redis({ host: node.host, port: node.port })
  const feed = await watcher.monitor()
  const seen: string[] = []
  let marked = false
  feed.on('monitor', (_time: string, args: string[], source: string) => {
    if (pool.has(source)) seen.push(String(args[0]).toLowerCase())
    if (args[0]?.toLowerCase() === 'echo' && args[1] === 'end-of-window') marked = true
  })
  try {
    await during()
    // MONITOR's feed is in execution order: once the marker arrives, everything before it has.
    await node.cli('ECHO', 'end-of-window')
    await waitFor(() => marked, { what: 'the end of the MONITOR window' })
    return seen
  } finally {
    feed.disconnect()
    watcher.disconnect()
  }
}

/** How many times a node has run `command` so far (INFO commandstats). */
const calls = async (node: RedisServer, command: string) =>
  Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await node.cli('INFO', 'commandstats'))?.[1] ?? 0)

describe('REDIS_READ_FROM_REPLICAS with Sentinels', () => {
  let set: SentinelSet
  let monitor: PoolMonitor
  const registry = new Registry()
  const { logger, lines } = captureLogger('info')

  beforeAll(async () => {
    set = await startSentinelSet({ replicas: 1 })
    monitor = createPoolMonitor({
      name: 'reads',
      size: 2,
      redis: { sentinels: set.sentinelAddresses.map((s) => ({ ...s })), name: set.masterName },
      sentinel: { readFromReplicas: true },
      registry,
      logger,
    })
    await waitFor(() => monitor.health().ready, { what: 'the pool to be ready' })
  }, 60_000)
  afterAll(async () => {
    await monitor?.close()
    await set?.stop()
  })

  it('sends reads to the replica and writes to the master, and logs the replica it reads from', async () => {
    const [master, replica] = [set.nodes[0]!, set.nodes[1]!]
    await monitor.call('SET', 'replicated', 'v')
    await waitFor(async () => (await replica.cli('GET', 'replicated')).trim() === 'v', {
      what: 'replication',
    })
    await waitFor(() => lines.some((l) => l.includes('reads go to a replica')), {
      what: 'a replica connection',
    })
    const before = { masterGets: await calls(master, 'get'), replicaGets: await calls(replica, 'get') }
    const masterSets = await calls(master, 'set')
    for (let i = 0; i < 20; i++) expect(await monitor.call('GET', 'replicated')).toBe('v')
    await monitor.call('SET', 'replicated', 'w')
    expect((await calls(replica, 'get')) - before.replicaGets).toBe(20)
    expect((await calls(master, 'get')) - before.masterGets).toBe(0)
    expect((await calls(master, 'set')) - masterSets).toBe(1)
    const line = lines.find((l) => l.includes('reads go to a replica'))
    expect(JSON.parse(line!).replica).toBe(`127.0.0.1:${replica.port}`)
  })

  it('keeps the latency histogram under its name and labels, and probes the master only', async () => {
    const text = await registry.metrics()
    expect(text).toMatch(
      /^redis_operation_duration_seconds_count\{pool="reads",command="get",status="ok"\} [1-9]/m,
    )
    const [master, replica] = [set.nodes[0]!, set.nodes[1]!]
    const probes = async () => {
      await monitor.probe()
      await monitor.probe()
    }
    expect((await poolCommands(master, probes)).filter((c) => c === 'ping')).toEqual(['ping', 'ping'])
    expect((await poolCommands(replica, probes)).filter((c) => c === 'ping')).toEqual([])
  })

  // Last: it demotes the master by hand and puts it back.
  it('reconnects a pooled connection that answers READONLY: its node was demoted with no +switch-master', async () => {
    const [master, replica] = [set.nodes[0]!, set.nodes[1]!]
    /** `port/id` of this pool's master connections (`rpm:reads:<n>`) on either node. */
    const poolIds = async () =>
      (
        await Promise.all(
          [master, replica].map(async (node) =>
            (
              await node.cli('CLIENT', 'LIST')
            )
              .split('\n')
              .filter((line) => /name=rpm:reads:\d+ /.test(line))
              .map((line) => `${node.port}/${/id=(\d+)/.exec(line)?.[1]}`),
          ),
        )
      ).flat()
    const before = await poolIds()
    // POOL_SIZE 2: both master connections, on the master.
    expect(before.map((id) => id.split('/')[0])).toEqual([String(master.port), String(master.port)])
    // A demotion the Sentinels did not run (an operator's REPLICAOF): the pool hears no event.
    await replica.cli('REPLICAOF', 'NO', 'ONE')
    await master.cli('REPLICAOF', '127.0.0.1', String(replica.port))
    try {
      const err = (await monitor.call('SET', 'demoted', 'x').catch((e: unknown) => e)) as Error & {
        code?: string
      }
      expect(err.code).toBe('RPM_REPLY')
      expect(err.message).toMatch(/READONLY/)
      await waitFor(() => lines.some((l) => l.includes('answered READONLY: reconnecting it to the master')), {
        timeoutMs: 20_000,
        what: 'the READONLY reconnect logged',
      })
      // The connection that answered READONLY is dropped at once; the other one, idle, stays.
      await waitFor(async () => (await poolIds()).length === 1, {
        timeoutMs: 10_000,
        what: 'the READONLY connection dropped',
      })
      expect(before).toContain((await poolIds())[0])
    } finally {
      await master.cli('REPLICAOF', 'NO', 'ONE')
      await replica.cli('REPLICAOF', '127.0.0.1', String(master.port))
    }
    // Dialled again (every 2 s at most) until a node the Sentinels name passes the master check:
    // a new connection on whichever node that is. How soon depends on how the Sentinels react to a
    // demotion they did not run (a failover of their own, or the old roles back), so the bound is wide.
    await waitFor(async () => (await poolIds()).some((id) => !before.includes(id)), {
      timeoutMs: 45_000,
      what: 'a redialled pool connection',
    })
    await waitFor(async () => (await monitor.call('SET', 'restored', 'y').catch(() => undefined)) === 'OK', {
      timeoutMs: 30_000,
      what: 'writes on the master again',
    })
  }, 120_000)
})
