import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_THRESHOLDS, judge } from '../../src/collectors/status.js'
import type { RedisServer } from '../helpers/redis-server.js'
import { type SentinelSet, startSentinelSet } from '../helpers/sentinel.js'
import { waitFor } from '../helpers/wait-for.js'
import { appFor, sample } from '../routes/support.js'
import { runView } from '../views/support.js'
import { captureLogger } from './support.js'

const DATA_SECRET = 'data-secret-5b1e'
const SENTINEL_SECRET = 'sentinel-secret-9c2d'
const POOL = 'failover'
const POOL_SIZE = 4

/** Names of this pool's connections a node currently has (CLIENT LIST). */
const poolClients = async (node: RedisServer) =>
  (await node.cli('CLIENT', 'LIST'))
    .split('\n')
    .map((line) => /name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(`rpm:${POOL}:`) && /:\d+$/.test(name))

interface Write {
  at: number
  ok: boolean
  code?: string
  message?: string
}

describe('the pool follows the master the Sentinels name', () => {
  let set: SentinelSet
  let app: FastifyInstance
  let dir: string
  const { logger, lines } = captureLogger('debug')
  const errors: string[] = []

  /** Writes every 20 ms through the pool until stopped; returns every outcome. */
  const writer = () => {
    const writes: Write[] = []
    let running = true
    const done = (async () => {
      for (let i = 0; running; i++) {
        const at = Date.now()
        try {
          await app.poolMonitor.call('SET', 'failover:key', String(i))
          writes.push({ at, ok: true })
        } catch (err) {
          const e = err as { code?: string; message: string }
          errors.push(e.message)
          writes.push({ at, ok: false, code: e.code, message: e.message })
        }
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    return {
      writes,
      stop: async () => {
        running = false
        await done
      },
    }
  }

  /** /health/ready status codes, polled every 50 ms until stopped. */
  const readiness = () => {
    const codes: number[] = []
    let running = true
    const done = (async () => {
      while (running) {
        const res = await app.inject({ method: 'GET', url: '/health/ready' })
        if (codes.at(-1) !== res.statusCode) codes.push(res.statusCode)
        await new Promise((r) => setTimeout(r, 50))
      }
    })()
    return {
      codes,
      stop: async () => {
        running = false
        await done
      },
    }
  }

  const failovers = async () =>
    sample(await (await app.inject('/metrics')).body, `redis_pool_failovers_total{pool="${POOL}"}`)

  beforeAll(async () => {
    set = await startSentinelSet({ password: DATA_SECRET, sentinelPassword: SENTINEL_SECRET })
    dir = mkdtempSync(join(tmpdir(), 'rpm-sentinel-secret-'))
    writeFileSync(join(dir, 'sentinel-password'), `${SENTINEL_SECRET}\n`)
    // /scrape looks passwords up per target, as redis_exporter's --redis.password-file does.
    const passwords = Object.fromEntries([
      ...set.nodes.map((n) => [`redis://127.0.0.1:${n.port}`, DATA_SECRET]),
      ...set.sentinels.map((n) => [`redis://127.0.0.1:${n.port}`, SENTINEL_SECRET]),
    ])
    writeFileSync(join(dir, 'target-passwords.json'), JSON.stringify(passwords))
    app = await appFor(
      {
        // Only the credentials count with Sentinels: the host is never dialled.
        REDIS_URL: `redis://:${DATA_SECRET}@127.0.0.1:1`,
        REDIS_SENTINELS: set.sentinelList,
        REDIS_SENTINEL_MASTER: set.masterName,
        REDIS_SENTINEL_PASSWORD_FILE: join(dir, 'sentinel-password'),
        POOL_NAME: POOL,
        POOL_SIZE: String(POOL_SIZE),
        REDIS_TARGET_PASSWORDS_FILE: join(dir, 'target-passwords.json'),
      },
      { logger },
    )
    await waitFor(() => app.poolMonitor.health().ready, { timeoutMs: 10_000, what: 'the pool to be ready' })
  }, 60_000)

  afterAll(async () => {
    await app?.close()
    await set?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('reaches the master through the Sentinels: every pooled connection is on it, none on the replica', async () => {
    await app.poolMonitor.call('SET', 'failover:first', '1')
    expect((await set.nodes[0]!.cli('GET', 'failover:first')).trim()).toBe('1')
    await waitFor(async () => (await poolClients(set.nodes[0]!)).length === POOL_SIZE, {
      what: 'the whole pool on the master',
    })
    expect(await poolClients(set.nodes[1]!)).toEqual([])
    const ready = await waitFor(
      async () => {
        const res = await app.inject('/health/ready')
        return res.json().sentinel?.reachable === 3 ? res : undefined
      },
      { what: 'every Sentinel to answer' },
    )
    expect(ready.statusCode).toBe(200)
    expect(ready.json().sentinel).toMatchObject({
      masterName: 'mymaster',
      master: `127.0.0.1:${set.nodes[0]!.port}`,
      agree: true,
      reachable: 3,
      total: 3,
      quorum: 2,
      failovers: 0,
    })
    expect(await failovers()).toBe(0)
  })

  it('/discover-nodes lists the master, the replica and the three Sentinels, each with its role', async () => {
    const res = await app.inject('/discover-nodes')
    expect(res.statusCode).toBe(200)
    const groups = res.json() as Array<{ targets: string[]; labels: Record<string, string> }>
    const byRole = (role: string) =>
      groups
        .filter((g) => g.labels['role'] === role)
        .flatMap((g) => g.targets)
        .sort()
    expect(byRole('master')).toEqual([`127.0.0.1:${set.nodes[0]!.port}`])
    expect(byRole('replica')).toEqual([`127.0.0.1:${set.nodes[1]!.port}`])
    expect(byRole('sentinel')).toEqual(set.sentinels.map((s) => `127.0.0.1:${s.port}`).sort())
    expect(groups.every((g) => g.labels['master_name'] === 'mymaster')).toBe(true)
  })

  it("status (the CLI) names the master /status names, judged the same way: role, Sentinels' answer (at least one) and quorum", async () => {
    const served = (await app.inject('/status')).json()
    const env = {
      REDIS_URL: `redis://:${DATA_SECRET}@127.0.0.1:1`,
      REDIS_SENTINELS: set.sentinelList,
      REDIS_SENTINEL_MASTER: set.masterName,
      REDIS_SENTINEL_PASSWORD_FILE: join(dir, 'sentinel-password'),
      // A probe round trip on a loaded machine is no part of this verdict.
      STATUS_LATENCY_WARNING_MS: '2000',
      STATUS_LATENCY_CRITICAL_MS: '2500',
    }
    const json = await runView(['status', '--json'], env)
    expect(json.stderr).toBe('')
    expect(json.code).toBe(0)
    const report = JSON.parse(json.stdout)
    expect(report.role).toBe('master')
    const { masterName, master, agree, total, quorum } = served.sentinel
    expect(report.sentinel).toMatchObject({ masterName, master, agree, total, quorum })
    // Its own read of the Sentinels, one-shot: all may not have answered yet.
    expect(report.sentinel.reachable).toBeGreaterThanOrEqual(1)
    expect(report.sentinel.reachable).toBeLessThanOrEqual(total)
    expect(master).toBe(`127.0.0.1:${set.nodes[0]!.port}`)
    const text = await runView(['status'], env)
    const line = text.stdout.split('\n').find((l) => l.startsWith('Master '))
    expect(line).toMatch(
      new RegExp(
        `^Master {6}mymaster at ${master.replaceAll('.', '\\.')} \\(master; [1-${total}] of ${total} Sentinels answer, quorum ${quorum}\\)$`,
      ),
    )
  })

  it('/scrape reaches a discovered Sentinel without SCRAPE_TARGETS: its counts equal SENTINEL MASTERS and REPLICAS', async () => {
    const sentinel = set.sentinels[1]!
    await waitFor(
      async () => (await app.inject(`/scrape?target=127.0.0.1:${sentinel.port}`)).statusCode === 200,
      {
        what: 'the discovered nodes in the allow-list',
      },
    )
    const text = (await app.inject(`/scrape?target=127.0.0.1:${sentinel.port}`)).body
    const masters = (await sentinel.cli('SENTINEL', 'MASTERS')).split('\n').filter((l) => l === 'name').length
    const replicas = (await sentinel.cli('SENTINEL', 'REPLICAS', 'mymaster'))
      .split('\n')
      .filter((l) => l === 'name').length
    const labels = `master_name="mymaster",master_address="127.0.0.1:${set.nodes[0]!.port}"`
    expect(text).toMatch(/^redis_up 1$/m)
    expect(sample(text, 'redis_sentinel_masters')).toBe(masters)
    expect(sample(text, `redis_sentinel_master_slaves{${labels}}`)).toBe(replicas)
    expect(text).not.toMatch(/^redis_db_keys/m)
    const outside = await app.inject('/scrape?target=127.0.0.1:1')
    expect(outside.statusCode).toBe(403)
  })

  it("/scrape authenticates discovered nodes with the service's own credentials when no passwords file names them", async () => {
    const own = await appFor({
      REDIS_URL: `redis://:${DATA_SECRET}@127.0.0.1:1`,
      REDIS_SENTINELS: set.sentinelList,
      REDIS_SENTINEL_MASTER: set.masterName,
      REDIS_SENTINEL_PASSWORD_FILE: join(dir, 'sentinel-password'),
      POOL_NAME: 'own-credentials',
      POOL_SIZE: '1',
    })
    try {
      const nodes = [...set.nodes, set.sentinels[0]!].map((n) => `127.0.0.1:${n.port}`)
      for (const node of nodes) {
        // Allowed once discovery has read the Sentinels; up once AUTH with our own password passed.
        const text = await waitFor(
          async () => {
            const res = await own.inject(`/scrape?target=${node}`)
            return res.statusCode === 200 && /^redis_up 1$/m.test(res.body) ? res.body : undefined
          },
          { what: `redis_up 1 for the discovered node ${node}` },
        )
        expect(text).not.toContain(DATA_SECRET)
        expect(text).not.toContain(SENTINEL_SECRET)
      }
      // A target naming another user gets no password of ours: it stays down (NOAUTH/WRONGPASS).
      const other = await own.inject(`/scrape?target=redis://someone@127.0.0.1:${set.nodes[0]!.port}`)
      expect(other.statusCode).toBe(200)
      expect(other.body).toMatch(/^redis_up 0$/m)
    } finally {
      await own.close()
    }
  })

  it('SIGKILL of the master: writes succeed on the new master within 10 s of +switch-master, counted once, ready goes 503 then 200', async () => {
    const switched: Array<{ from: string; to: string }> = []
    const unsubscribe = app.poolMonitor.on('failover', ({ from, to }) => switched.push({ from, to }))
    const writes = writer()
    const ready = readiness()
    const switches: unknown[] = []
    const off = app.poolMonitor.on('failover', (e) => switches.push(e))
    const { event } = await set.killMaster()
    expect(event.to.port).toBe(set.nodes[1]!.port)
    const firstOk = await waitFor(() => writes.writes.find((w) => w.ok && w.at >= event.at), {
      timeoutMs: 10_000,
      what: 'a write on the new master',
    })
    await waitFor(() => ready.codes.at(-1) === 200, { timeoutMs: 10_000, what: 'ready again' })
    await Promise.all([writes.stop(), ready.stop()])
    unsubscribe()
    expect(switched).toEqual([
      { from: `127.0.0.1:${set.nodes[0]!.port}`, to: `127.0.0.1:${set.nodes[1]!.port}` },
    ])

    expect(firstOk.at - event.at).toBeLessThan(10_000)
    expect(ready.codes).toEqual([200, 503, 200])
    expect(await failovers()).toBe(1)
    off()
    // The library's typed event, once, naming both masters.
    expect(switches).toEqual([
      {
        from: `127.0.0.1:${set.nodes[0]!.port}`,
        to: `127.0.0.1:${set.nodes[1]!.port}`,
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ])
    expect((await set.nodes[1]!.cli('GET', 'failover:key')).trim()).not.toBe('')
    // Commands caught by the switch failed with a classified, coded error; none hung.
    const failed = writes.writes.filter((w) => !w.ok)
    expect(failed.length).toBeGreaterThan(0)
    for (const w of failed) expect(w.code).toMatch(/^RPM_(CONNECTION|TIMEOUT|CIRCUIT_OPEN|POOL_EXHAUSTED)$/)
    expect(app.poolMonitor.breakerState()).toBe('closed')
    const body = (await app.inject('/health/ready')).json()
    expect(body.sentinel).toMatchObject({ master: `127.0.0.1:${set.nodes[1]!.port}`, failovers: 1 })
  })

  it('the old master returning as a master gets no pool connection while the Sentinels demote it', async () => {
    const old = set.nodes[0]!
    await old.restart()
    // It claims to be a master until the Sentinels turn it into a replica: the pool stays away.
    for (let i = 0; i < 10; i++) {
      await app.poolMonitor.call('SET', 'failover:after', String(i))
      expect(await poolClients(old)).toEqual([])
      await new Promise((r) => setTimeout(r, 200))
    }
    await set.waitForStable(40_000)
    expect(await old.role()).toBe('slave')
    expect(await poolClients(old)).toEqual([])
    expect(await poolClients(set.nodes[1]!)).toHaveLength(POOL_SIZE)
  }, 60_000)

  it('with one of three Sentinels killed, a failover with the old master still up moves every connection off it', async () => {
    await set.sentinels[0]!.kill()
    const demoted = set.nodes[1]!
    const event = await set.failover()
    expect(event.to.port).toBe(set.nodes[0]!.port)
    await waitFor(async () => (await poolClients(demoted)).length === 0, {
      timeoutMs: 10_000,
      what: 'no pooled connection left on the demoted master',
    })
    await waitFor(
      async () => {
        try {
          await app.poolMonitor.call('SET', 'failover:two', 'sentinels')
          return true
        } catch {
          return false
        }
      },
      { timeoutMs: 10_000, what: 'a write on the new master' },
    )
    expect((await set.nodes[0]!.cli('GET', 'failover:two')).trim()).toBe('sentinels')
    expect(await poolClients(set.nodes[0]!)).toHaveLength(POOL_SIZE)
    expect(await failovers()).toBe(2)
    const body = (await app.inject('/health/ready')).json()
    expect(body.sentinel).toMatchObject({ master: `127.0.0.1:${set.nodes[0]!.port}`, reachable: 2, total: 3 })
    await set.sentinels[0]!.restart()
  }, 60_000)

  it('/status names the master the pool follows and never calls a replica OK', async () => {
    const status = (await app.inject('/status')).json()
    expect(status.sentinel).toMatchObject({
      masterName: 'mymaster',
      master: `127.0.0.1:${set.nodes[0]!.port}`,
    })
    const onReplica = judge(
      {
        available: true,
        memoryPercent: null,
        hitRate: null,
        latencyMs: 1,
        breaker: 'closed',
        role: 'slave',
        sentinel: { agree: true },
      },
      DEFAULT_THRESHOLDS,
    )
    expect(onReplica).toEqual({
      status: 'CRITICAL',
      reasons: ['the node answering is a replica, not the master'],
    })
  })

  it('never prints either password: logs, errors, metrics, health and status', async () => {
    const bodies = await Promise.all(
      [
        '/metrics',
        '/health',
        '/health/ready',
        '/status',
        '/discover-nodes',
        `/scrape?target=127.0.0.1:${set.sentinels[1]!.port}`,
      ].map(async (url) => (await app.inject(url)).body),
    )
    const everything = [...lines, ...errors, ...bodies].join('\n')
    expect(lines.some((l) => l.includes('the Sentinels named a new master'))).toBe(true)
    expect(everything).not.toContain(DATA_SECRET)
    expect(everything).not.toContain(SENTINEL_SECRET)
  })
})
