import type { Socket } from 'node:net'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_THRESHOLDS, judge } from '../../src/collectors/status.js'
import type { HostPort } from '../../src/redis/endpoint.js'
import { createSentinelWatcher, type SentinelWatcher } from '../../src/redis/sentinel-watcher.js'
import { resp, startRespPeer } from '../helpers/resp-peer.js'
import { waitFor } from '../helpers/wait-for.js'

// The order of a Sentinel's answers around a failover, which real Sentinels (test/monitor/sentinel)
// produce only now and then on a loaded machine: a SENTINEL MASTER answer read before the
// +switch-master message arrives, and the failover leader's answer while it promotes (the new epoch
// with the old address). A scripted Sentinel on a real socket replays both, every time.

const OLD = { host: '127.0.0.1', port: 16001 }
const NEW = { host: '127.0.0.1', port: 16002 }

interface MasterAnswer {
  master: HostPort
  epoch: number
  flags: string
}

const { bulk, array } = resp

/**
 * One scripted Sentinel: SENTINEL MASTER answers `answer` (or waits for `hold` to be released),
 * SUBSCRIBE is acknowledged, and `publish` sends a +switch-master to every subscriber.
 */
async function scriptedSentinel() {
  let answer: MasterAnswer = { master: OLD, epoch: 0, flags: 'master' }
  let held: Array<() => void> | undefined
  const subscribers = new Set<Socket>()
  const asked: number[] = []
  const peer = await startRespPeer((args, socket) => {
    const command = args.map((a) => a.toLowerCase())
    if (command[0] === 'hello') {
      // RESP2 only, as a Redis before 6 answers: replies and pub/sub messages stay plain arrays.
      return "-ERR unknown command 'HELLO'\r\n"
    }
    if (command[0] === 'subscribe') {
      subscribers.add(socket)
      return `*3\r\n${bulk('subscribe')}${bulk(args[1]!)}:1\r\n`
    }
    if (command[0] === 'sentinel' && command[1] === 'master') {
      // The answer as it stands when the command is read, sent when released.
      const { master, epoch, flags } = answer
      const reply = array([
        'name',
        'mymaster',
        'ip',
        master.host,
        'port',
        String(master.port),
        'flags',
        flags,
        'config-epoch',
        String(epoch),
        'quorum',
        '2',
      ])
      asked.push(Date.now())
      if (!held) return reply
      held.push(() => socket.write(reply))
      return undefined
    }
    return '+OK\r\n'
  })
  return {
    node: { host: peer.host, port: peer.port },
    asked,
    set(next: MasterAnswer) {
      answer = next
    },
    hold() {
      held = []
    },
    release() {
      const replies = held ?? []
      held = undefined
      for (const send of replies) send()
    },
    get subscribed() {
      return subscribers.size > 0
    },
    /** Drops every subscribed connection, as a Sentinel restart does. */
    dropSubscribers() {
      for (const s of subscribers) s.destroy()
      subscribers.clear()
    },
    publish(from: HostPort, to: HostPort) {
      const message = `mymaster ${from.host} ${from.port} ${to.host} ${to.port}`
      for (const s of subscribers)
        s.write(`*3\r\n${bulk('message')}${bulk('+switch-master')}${bulk(message)}`)
    },
    close: () => peer.close(),
  }
}

let watcher: SentinelWatcher | undefined
let sentinels: Array<Awaited<ReturnType<typeof scriptedSentinel>>> = []
afterEach(async () => {
  await watcher?.close()
  for (const s of sentinels) await s.close()
  watcher = undefined
  sentinels = []
})

async function watch(count = 1) {
  sentinels = await Promise.all(Array.from({ length: count }, () => scriptedSentinel()))
  const sentinel = sentinels[0]!
  const switches: string[] = []
  watcher = createSentinelWatcher({
    sentinels: sentinels.map((s) => s.node),
    masterName: 'mymaster',
    sentinelOptions: () => ({}),
    logger: pino({ level: 'silent' }),
    // Rounds only when the test asks for them (or a message does).
    refreshIntervalMs: 3_600_000,
    connectionName: 'rpm:test',
    onSwitch: (from, to) => switches.push(`${from ? from.port : '-'} -> ${to.port}`),
  })
  await watcher.whenKnown(5_000)
  await waitFor(() => sentinels.every((s) => s.subscribed), { what: 'the +switch-master subscriptions' })
  return { sentinel, sentinels, watcher, switches }
}

describe('the Sentinel watcher around a failover', () => {
  it('keeps the master a +switch-master named over an answer read before the message arrived', async () => {
    const { sentinel, watcher, switches } = await watch()
    // The leader is asked in the middle of its promotion: the newest epoch, the old address.
    sentinel.set({ master: OLD, epoch: 1, flags: 'master' })
    sentinel.hold()
    const asked = sentinel.asked.length
    const round = watcher.refresh()
    await waitFor(() => sentinel.asked.length > asked, { what: 'the round to ask the Sentinel' })
    // The switch is published before that answer comes back, then the answer arrives.
    sentinel.set({ master: NEW, epoch: 1, flags: 'master' })
    sentinel.publish(OLD, NEW)
    await waitFor(() => watcher.master()?.port === NEW.port, { what: 'the +switch-master' })
    sentinel.release()
    await round
    // The round the message asked for reads the new configuration.
    await watcher.refresh()
    expect(switches).toEqual([`- -> ${OLD.port}`, `${OLD.port} -> ${NEW.port}`])
    expect(watcher.view()).toMatchObject({ master: `127.0.0.1:${NEW.port}`, failovers: 1, agree: true })
  })

  it('never adopts the address of a failover in progress, though its epoch is the newest', async () => {
    const { sentinel, watcher, switches } = await watch()
    sentinel.set({ master: OLD, epoch: 1, flags: 'master,failover_in_progress' })
    await watcher.refresh()
    sentinel.set({ master: NEW, epoch: 1, flags: 'master' })
    await watcher.refresh()
    expect(switches).toEqual([`- -> ${OLD.port}`, `${OLD.port} -> ${NEW.port}`])
    // A stale answer after the switch (the old address under the older epoch) moves nothing back.
    sentinel.set({ master: OLD, epoch: 0, flags: 'master' })
    await watcher.refresh()
    expect(switches).toEqual([`- -> ${OLD.port}`, `${OLD.port} -> ${NEW.port}`])
    expect(watcher.master()).toEqual(NEW)
  })

  it('says the Sentinels disagree while one names a master of its own, follows the newest epoch, and /status is WARNING until they agree', async () => {
    const { sentinels, watcher, switches } = await watch(3)
    const verdict = () =>
      judge(
        {
          available: true,
          memoryPercent: null,
          hitRate: null,
          latencyMs: 1,
          breaker: 'closed',
          role: 'master',
          sentinel: watcher.view(),
        },
        DEFAULT_THRESHOLDS,
      )
    for (const s of sentinels) s.set({ master: OLD, epoch: 2, flags: 'master' })
    await watcher.refresh()
    expect(watcher.view()).toMatchObject({ agree: true, reachable: 3, total: 3 })
    expect(verdict()).toEqual({ status: 'OK', reasons: [] })
    // One Sentinel told to watch another master (an operator's SENTINEL MONITOR): epoch 0.
    sentinels[2]!.set({ master: NEW, epoch: 0, flags: 'master' })
    await watcher.refresh()
    expect(watcher.view()).toMatchObject({ agree: false, master: `127.0.0.1:${OLD.port}`, failovers: 0 })
    expect(verdict()).toEqual({ status: 'WARNING', reasons: ['the Sentinels do not agree on the master'] })
    sentinels[2]!.set({ master: OLD, epoch: 2, flags: 'master' })
    await watcher.refresh()
    expect(watcher.view()).toMatchObject({ agree: true })
    expect(verdict()).toEqual({ status: 'OK', reasons: [] })
    expect(switches).toEqual([`- -> ${OLD.port}`])
  })

  it('never follows an address whose port is no port, from SENTINEL MASTER or from +switch-master', async () => {
    const { sentinel, watcher, switches } = await watch()
    const noPort = (port: string) => ({ host: '127.0.0.1', port: port as unknown as number })
    // A newer epoch naming port 70000: no address at all, so nothing to follow.
    sentinel.set({ master: noPort('70000'), epoch: 5, flags: 'master' })
    await watcher.refresh()
    sentinel.publish(OLD, noPort('x'))
    sentinel.publish(OLD, noPort('0'))
    // A good message after the bad ones (same socket, in order) shows they were read and ignored.
    sentinel.set({ master: NEW, epoch: 6, flags: 'master' })
    sentinel.publish(OLD, NEW)
    await waitFor(() => watcher.master()?.port === NEW.port, { what: 'the good +switch-master' })
    expect(switches).toEqual([`- -> ${OLD.port}`, `${OLD.port} -> ${NEW.port}`])
  })

  it('subscribes to +switch-master again after its connection to a Sentinel is lost', async () => {
    const { sentinel, watcher, switches } = await watch()
    sentinel.dropSubscribers()
    await waitFor(() => sentinel.subscribed, { timeoutMs: 10_000, what: 'the subscription renewed' })
    sentinel.set({ master: NEW, epoch: 1, flags: 'master' })
    sentinel.publish(OLD, NEW)
    await waitFor(() => watcher.master()?.port === NEW.port, {
      what: 'the +switch-master after the reconnect',
    })
    expect(switches).toEqual([`- -> ${OLD.port}`, `${OLD.port} -> ${NEW.port}`])
  })
})
