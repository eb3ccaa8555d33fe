// Failover: time from +switch-master to the first successful write on the new master, over
// FAILOVERS SIGKILLs of the master of a real replica set (one master, one replica, three Sentinels,
// quorum 2, down-after-milliseconds 2000), with three clients writing and reading side by side
// through the same failovers:
//   monitor     createPoolMonitor with ioredis' Sentinel options (defaults: POOL_SIZE 10, probe 5 s)
//   ioredis     a plain ioredis Sentinel client, `new Redis({ sentinels, name })`, all defaults
//   ioredis_fd  the same with `failoverDetector: true` (it subscribes to +switch-master itself)
// Each client runs one writer (SET) and one reader (GET), each sending its next command when the
// previous one settles. Failed commands are counted in two windows: from the kill to +switch-master
// (the Sentinels are still deciding: the pool fails fast, ioredis holds commands in its offline
// queue, late but not lost) and from +switch-master to the client's first success on the new master
// (the switch itself).
// Writes failover_ratio = median monitor / median ioredis (target <= 1.0) and the figures per client.
import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor } from '../../src/monitor/types.js'
import { startSentinelSet } from '../../test/helpers/sentinel.js'
import { mergeResults } from '../lib/results.js'
import { median, round } from '../lib/stats.js'

const FAILOVERS = Number(process.env['BENCH_FAILOVERS'] ?? 5)
const PAUSE_MS = 2

interface Client {
  name: 'monitor' | 'ioredis' | 'ioredis_fd'
  set(key: string, value: string): Promise<unknown>
  get(key: string): Promise<unknown>
  close(): Promise<void>
}

interface Outcome {
  at: number
  ok: boolean
}

const set = await startSentinelSet({ replicas: 1 })
const sentinels = set.sentinelAddresses.map((s) => ({ host: s.host, port: s.port }))

async function monitorClient(): Promise<Client> {
  const monitor: PoolMonitor = createPoolMonitor({
    name: 'bench',
    redis: { sentinels, name: set.masterName },
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
  })
  for (let i = 0; i < 400 && !monitor.health().ready; i++) await new Promise((r) => setTimeout(r, 25))
  if (!monitor.health().ready) throw new Error(`pool not ready: ${monitor.health().reason}`)
  return {
    name: 'monitor',
    set: (k, v) => monitor.call('SET', k, v),
    get: (k) => monitor.call('GET', k),
    close: () => monitor.close(),
  }
}

async function ioredisClient(name: 'ioredis' | 'ioredis_fd'): Promise<Client> {
  const client = new Redis({
    sentinels,
    name: set.masterName,
    ...(name === 'ioredis_fd' ? { failoverDetector: true } : {}),
  })
  client.on('error', () => {})
  await new Promise<void>((resolve) => client.once('ready', () => resolve()))
  return {
    name,
    set: (k, v) => client.set(k, v),
    get: (k) => client.get(k),
    close: async () => {
      client.disconnect()
    },
  }
}

/** Sends one command after another until stopped, recording when each settled and how. */
function loop(send: (i: number) => Promise<unknown>) {
  const outcomes: Outcome[] = []
  let running = true
  const done = (async () => {
    for (let i = 0; running; i++) {
      try {
        await send(i)
        outcomes.push({ at: Date.now(), ok: true })
      } catch {
        outcomes.push({ at: Date.now(), ok: false })
      }
      await new Promise((r) => setTimeout(r, PAUSE_MS))
    }
  })()
  return {
    outcomes,
    stop: async () => {
      running = false
      await done
    },
  }
}

const clients = [await monitorClient(), await ioredisClient('ioredis'), await ioredisClient('ioredis_fd')]
const runs = clients.map((c) => ({
  client: c,
  writes: loop((i) => c.set(`bench:${c.name}`, String(i))),
  reads: loop(() => c.get(`bench:${c.name}`)),
}))

type PerClient = {
  switchToWriteMs: number[]
  lostWrites: number[]
  lostReads: number[]
  failedWritesBeforeSwitch: number[]
  failedReadsBeforeSwitch: number[]
}
const figures: Record<string, PerClient> = Object.fromEntries(
  clients.map((c) => [
    c.name,
    {
      switchToWriteMs: [],
      lostWrites: [],
      lostReads: [],
      failedWritesBeforeSwitch: [],
      failedReadsBeforeSwitch: [],
    },
  ]),
)

for (let n = 0; n < FAILOVERS; n++) {
  await set.waitForStable(60_000)
  const killedAt = Date.now()
  const { killed, event } = await set.killMaster(60_000)
  for (const run of runs) {
    const firstOk = await waitForOk(run.writes.outcomes, event.at, 30_000)
    const firstRead = await waitForOk(run.reads.outcomes, event.at, 30_000)
    const failed = (outcomes: Outcome[], from: number, until: number) =>
      outcomes.filter((o) => !o.ok && o.at >= from && o.at <= until).length
    const entry = figures[run.client.name]!
    entry.switchToWriteMs.push(firstOk - event.at)
    entry.lostWrites.push(failed(run.writes.outcomes, event.at, firstOk))
    entry.lostReads.push(failed(run.reads.outcomes, event.at, firstRead))
    entry.failedWritesBeforeSwitch.push(failed(run.writes.outcomes, killedAt, event.at - 1))
    entry.failedReadsBeforeSwitch.push(failed(run.reads.outcomes, killedAt, event.at - 1))
  }
  process.stdout.write(
    `failover ${n + 1}: ${clients
      .map((c) => `${c.name} ${figures[c.name]!.switchToWriteMs.at(-1)} ms`)
      .join(', ')}\n`,
  )
  await set.rejoin(killed)
}

async function waitForOk(outcomes: Outcome[], after: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const hit = outcomes.find((o) => o.ok && o.at >= after)
    if (hit) return hit.at
    if (Date.now() > deadline) return Number.NaN
    await new Promise((r) => setTimeout(r, 5))
  }
}

for (const run of runs) await Promise.all([run.writes.stop(), run.reads.stop()])
for (const c of clients) await c.close()
await set.stop()

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)
const summary = Object.fromEntries(
  Object.entries(figures).map(([name, f]) => [
    name,
    {
      switch_to_first_write_ms_median: round(median(f.switchToWriteMs), 1),
      switch_to_first_write_ms: f.switchToWriteMs,
      lost_writes_during_switch_total: sum(f.lostWrites),
      lost_reads_during_switch_total: sum(f.lostReads),
      lost_writes_during_switch: f.lostWrites,
      lost_reads_during_switch: f.lostReads,
      failed_writes_before_switch_total: sum(f.failedWritesBeforeSwitch),
      failed_reads_before_switch_total: sum(f.failedReadsBeforeSwitch),
    },
  ]),
)
const monitorMedian = median(figures['monitor']!.switchToWriteMs)
const result = {
  failover_ratio: round(monitorMedian / median(figures['ioredis']!.switchToWriteMs), 3),
  failover_ratio_vs_failover_detector: round(
    monitorMedian / median(figures['ioredis_fd']!.switchToWriteMs),
    3,
  ),
  failover_detail: {
    failovers: FAILOVERS,
    topology:
      '1 master, 1 replica, 3 Sentinels, quorum 2, down-after-milliseconds 2000, failover-timeout 2000',
    clients: summary,
  },
}
mergeResults('sentinel_failover', result)
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
