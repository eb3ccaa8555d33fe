import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisCluster, startCluster } from '../helpers/cluster.js'
import { freePort, type RedisServer, startRedis } from '../helpers/redis-server.js'
import { type SentinelSet, startSentinelSet } from '../helpers/sentinel.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { makeTlsMaterial, startTlsRedis, type TlsMaterial, type TlsRedisServer } from '../helpers/tls.js'
import { waitFor } from '../helpers/wait-for.js'
import { sample } from '../routes/support.js'

// The cross-cutting secrets audit: every secret input set at once, with a distinctive value each,
// on the topologies where it applies, at LOG_LEVEL=debug, through the failure paths where leaks
// usually hide (a refused AUTH's reply text, a Sentinel refusing its password, a /scrape target
// with a wrong password, a SIGHUP rotation). At the end, nothing the processes wrote or served may
// hold any of them. Along the way, /health/live stays 200 through every fault.
const URL_PASSWORD = 'audit-url-pw-Q7x1' // in REDIS_URL, overridden by the file
const FILE_PASSWORD = 'audit-file-pw-K3m9' // REDIS_PASSWORD_FILE: what Redis asks for at start
const ROTATED_PASSWORD = 'audit-rotated-pw-Z8v2' // REDIS_PASSWORD_FILE after the rotation
const BEARER = 'audit-bearer-token-W6y4'
const TARGET_PASSWORD = 'audit-target-pw-R5t7' // REDIS_TARGET_PASSWORDS_FILE, right
const TARGET_WRONG_PASSWORD = 'audit-target-wrong-pw-L9p3' // REDIS_TARGET_PASSWORDS_FILE, wrong
const TARGET_REAL_PASSWORD = 'audit-target-real-pw-U2j8' // what that target really asks for
const QUERY_PASSWORD = 'audit-query-pw-D1f8' // put in ?target= by a careless scrape config
const SENTINEL_DATA_PASSWORD = 'audit-sentinel-data-pw-M6k2'
const SENTINEL_PASSWORD = 'audit-sentinel-pw-H4c6'
const SENTINEL_WRONG_PASSWORD = 'audit-sentinel-wrong-pw-B2n5'
const CLUSTER_PASSWORD = 'audit-cluster-pw-T3g7'
const KEY_PASSWORD = 'audit-key-pw-N4s1' // inside a malformed key of the passwords file

const PASSWORDS = [
  URL_PASSWORD,
  FILE_PASSWORD,
  ROTATED_PASSWORD,
  BEARER,
  TARGET_PASSWORD,
  TARGET_WRONG_PASSWORD,
  TARGET_REAL_PASSWORD,
  QUERY_PASSWORD,
  SENTINEL_DATA_PASSWORD,
  SENTINEL_PASSWORD,
  SENTINEL_WRONG_PASSWORD,
  CLUSTER_PASSWORD,
  KEY_PASSWORD,
]

const dir = mkdtempSync(join(tmpdir(), 'rpm-secrets-audit-'))
const file = (name: string, content: string) => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

let tls: TlsMaterial
let tlsRedis: TlsRedisServer
let target: RedisServer
let wrongTarget: RedisServer
let deadPort: number
let sentinels: SentinelSet
let cluster: RedisCluster
let standalone: ServiceProcess
let sentinel: ServiceProcess
let clustered: ServiceProcess
const services: ServiceProcess[] = []

const auth = { authorization: `Bearer ${BEARER}` }
const openMetrics = { ...auth, accept: 'application/openmetrics-text; version=1.0.0' }

/** Every read-only route a scrape config, a probe or a person would hit, with and without auth. */
async function hitEveryRoute(service: ServiceProcess): Promise<void> {
  for (const path of ['/health', '/health/live', '/health/ready', '/status', '/status/history'])
    await service.get(path)
  for (const path of ['/metrics', '/discover-nodes', '/discover-cluster-nodes']) {
    await service.get(path)
    await service.get(path, { authorization: 'Bearer not-the-token' })
    await service.get(path, auth)
  }
  await service.get('/metrics', openMetrics)
  await service.get('/status', { accept: 'text/html' })
  await service.get('/no-such-route')
}

const live = async (service: ServiceProcess) => (await service.get('/health/live')).status
const ready = async (service: ServiceProcess) => (await service.get('/health/ready')).status
const scrape = (service: ServiceProcess, t: string, headers: Record<string, string> = auth) =>
  service.get(`/scrape?target=${encodeURIComponent(t)}`, headers)

/** Sets the password Redis asks for and drops every client but the caller, as a Redis restart would. */
async function rotate(server: RedisServer, from: string, to: string) {
  await server.cli('-a', from, '--no-auth-warning', 'CONFIG', 'SET', 'requirepass', to)
  await server.cli('-a', to, '--no-auth-warning', 'CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
}

const targetPasswords = () =>
  JSON.stringify({
    [`redis://127.0.0.1:${target.port}`]: TARGET_PASSWORD,
    [`redis://127.0.0.1:${wrongTarget.port}`]: TARGET_WRONG_PASSWORD,
    [`redis://127.0.0.1:${deadPort}`]: TARGET_PASSWORD,
    [`rediss://127.0.0.1:${tlsRedis.tlsPort}`]: FILE_PASSWORD,
  })

beforeAll(async () => {
  tls = await makeTlsMaterial()
  ;[tlsRedis, target, wrongTarget, deadPort, sentinels, cluster] = await Promise.all([
    startTlsRedis({ material: tls, authClients: true, password: FILE_PASSWORD }),
    startRedis({ password: TARGET_PASSWORD }),
    startRedis({ password: TARGET_REAL_PASSWORD }),
    freePort(),
    startSentinelSet({ password: SENTINEL_DATA_PASSWORD, sentinelPassword: SENTINEL_PASSWORD }),
    startCluster({ password: CLUSTER_PASSWORD }),
  ])
  const passwordFile = file('redis-password', `${FILE_PASSWORD}\n`)
  const common = {
    LOG_LEVEL: 'debug',
    PROBE_INTERVAL_MS: '200',
    SCRAPE_TIMEOUT_SECONDS: '2',
    METRICS_BEARER_TOKEN: BEARER,
    STATUS_HISTORY_INTERVAL_MS: '200',
  }
  ;[standalone, sentinel, clustered] = await Promise.all([
    runService({
      env: {
        ...common,
        REDIS_URL: `rediss://:${URL_PASSWORD}@127.0.0.1:${tlsRedis.tlsPort}`,
        REDIS_PASSWORD_FILE: passwordFile,
        REDIS_TLS_CA_FILE: tls.caFile,
        REDIS_TLS_CERT_FILE: tls.clientCertFile,
        REDIS_TLS_KEY_FILE: tls.clientKeyFile,
        REDIS_TARGET_PASSWORDS_FILE: file('targets.json', targetPasswords()),
        SCRAPE_TARGETS: [target.port, wrongTarget.port, deadPort, tlsRedis.tlsPort]
          .map((p) => `127.0.0.1:${p}`)
          .join(','),
      },
    }),
    runService({
      env: {
        ...common,
        REDIS_URL: 'redis://127.0.0.1',
        REDIS_SENTINELS: sentinels.sentinelList,
        REDIS_SENTINEL_MASTER: sentinels.masterName,
        REDIS_PASSWORD_FILE: file('sentinel-data-password', SENTINEL_DATA_PASSWORD),
        // Wrong at start: the Sentinels refuse it until the rotation below.
        REDIS_SENTINEL_PASSWORD_FILE: file('sentinel-password', SENTINEL_WRONG_PASSWORD),
      },
    }),
    runService({
      env: {
        ...common,
        REDIS_URL: `redis://127.0.0.1:${cluster.masters[0]!.port}`,
        REDIS_CLUSTER: 'true',
        REDIS_PASSWORD_FILE: file('cluster-password', CLUSTER_PASSWORD),
        REDIS_TARGET_PASSWORDS_FILE: file(
          'cluster-targets.json',
          JSON.stringify(
            Object.fromEntries(cluster.nodes.map((n) => [`redis://127.0.0.1:${n.port}`, CLUSTER_PASSWORD])),
          ),
        ),
      },
    }),
  ])
  services.push(standalone, sentinel, clustered)
  await Promise.all(
    [standalone, clustered].map((s) =>
      waitFor(async () => (await ready(s)) === 200, { timeoutMs: 20_000, what: 'the service ready' }),
    ),
  )
}, 90_000)

afterAll(async () => {
  await Promise.allSettled(services.map((s) => s.stop()))
  await Promise.allSettled([tlsRedis, target, wrongTarget, sentinels, cluster].map((s) => s?.stop()))
  tls?.remove()
  rmSync(dir, { recursive: true, force: true })
})

describe('standalone over mutual TLS, every secret input set', () => {
  it('serves every route; /metrics and /scrape only with the bearer token', async () => {
    await hitEveryRoute(standalone)
    expect((await standalone.get('/metrics')).status).toBe(401)
    const metrics = await standalone.get('/metrics', auth)
    expect(metrics.status).toBe(200)
    expect(sample(metrics.body, 'redis_up')).toBe(1)
    expect((await standalone.get('/metrics', openMetrics)).body).toContain('# EOF')
    expect((await standalone.get('/discover-cluster-nodes', auth)).status).toBe(404)
  })

  it('/scrape: allowed targets up with their password, down with a wrong one or none listening', async () => {
    expect(sample((await scrape(standalone, `127.0.0.1:${target.port}`)).body, 'redis_up')).toBe(1)
    const tlsTarget = await scrape(standalone, `rediss://127.0.0.1:${tlsRedis.tlsPort}`)
    expect(sample(tlsTarget.body, 'redis_up')).toBe(1)
    for (const port of [wrongTarget.port, deadPort]) {
      const down = await scrape(standalone, `redis://127.0.0.1:${port}`)
      expect(down.status).toBe(200)
      expect(sample(down.body, 'redis_up')).toBe(0)
      // OpenMetrics and a second scrape (the cached, failing target) take the same path again.
      expect((await scrape(standalone, `127.0.0.1:${port}`, openMetrics)).status).toBe(200)
    }
    expect((await scrape(standalone, '127.0.0.1:1')).status).toBe(403)
    expect((await scrape(standalone, `127.0.0.1:${target.port}`, {})).status).toBe(401)
  })

  it('/scrape refuses a target carrying a password with 400, without echoing it', async () => {
    const port = target.port
    for (const t of [
      `redis://:${QUERY_PASSWORD}@127.0.0.1:${port}`,
      `redis://default:${QUERY_PASSWORD}@127.0.0.1:${port}`,
      `rediss://user:${QUERY_PASSWORD}@127.0.0.1:${port}/0`,
      `:${QUERY_PASSWORD}@127.0.0.1:${port}`,
      `redis://:${QUERY_PASSWORD}@127.0.0.1:notaport`,
      `redis://:${QUERY_PASSWORD}@[not-ipv6]:${port}`,
      `redis://:${QUERY_PASSWORD}@127.0.0.1:${port}?x=1`,
      `ftp://:${QUERY_PASSWORD}@127.0.0.1:${port}`,
    ]) {
      const res = await scrape(standalone, t)
      expect(res.status, t).toBe(400)
      // src/targets/README: a malformed target or one carrying a password is RPM_SCRAPE_TARGET_INVALID.
      expect(JSON.parse(res.body), t).toMatchObject({
        statusCode: 400,
        code: 'RPM_SCRAPE_TARGET_INVALID',
        message: expect.stringMatching(/^\S.*\S$/),
      })
      expect(res.body, t).not.toContain(QUERY_PASSWORD)
    }
    // Repeated parameter, and a password in a second target parameter.
    const twice = await standalone.get(
      `/scrape?target=127.0.0.1:${port}&target=${encodeURIComponent(`redis://:${QUERY_PASSWORD}@h:1`)}`,
      auth,
    )
    expect(twice.status).toBe(400)
  })

  it('Redis refusing the password (WRONGPASS): live 200, ready 503 with a reason, /metrics answers', async () => {
    await rotate(tlsRedis, FILE_PASSWORD, ROTATED_PASSWORD)
    const reason = await waitFor(
      async () => {
        const res = await standalone.get('/health/ready')
        return res.status === 503 && /WRONGPASS|NOAUTH|invalid username-password/i.test(res.body)
          ? res.body
          : undefined
      },
      { what: 'not ready with the refused password' },
    )
    expect(reason).not.toContain(FILE_PASSWORD)
    expect(await live(standalone)).toBe(200)
    const metrics = await standalone.get('/metrics', auth)
    expect(metrics.status).toBe(200)
    expect(sample(metrics.body, 'redis_up')).toBe(0)
    // The rediss:// target is the same server: its cached connection now fails too.
    expect(
      sample((await scrape(standalone, `rediss://127.0.0.1:${tlsRedis.tlsPort}`)).body, 'redis_up'),
    ).toBe(0)
    await hitEveryRoute(standalone)
  })

  it('SIGHUP with the rotated REDIS_PASSWORD_FILE: ready again, never having stopped being live', async () => {
    file('redis-password', `${ROTATED_PASSWORD}\n`)
    standalone.child.kill('SIGHUP')
    await waitFor(async () => (await ready(standalone)) === 200, { what: 'ready after SIGHUP' })
    expect(standalone.child.exitCode).toBeNull()
    await waitFor(async () => sample((await standalone.get('/metrics', auth)).body, 'redis_up') === 1, {
      what: 'redis_up 1 after SIGHUP',
    })
  })

  it('SIGHUP with a passwords-file key carrying a password: refused in one line, the key masked', async () => {
    // Keys that are not URLs: no scheme, a raw '/' in the password. URL rules cannot find the password.
    for (const key of [`:${KEY_PASSWORD}@127.0.0.1:1`, `user:${KEY_PASSWORD}/x@127.0.0.1:1`]) {
      file('targets.json', JSON.stringify({ [key]: TARGET_PASSWORD }))
      const before = standalone.stdout().length
      standalone.child.kill('SIGHUP')
      const line = await waitFor(
        () =>
          standalone
            .stdout()
            .slice(before)
            .split('\n')
            .find((l) => l.includes('SIGHUP: kept the running secrets')),
        { what: 'the refusal line' },
      )
      expect(JSON.parse(line).msg).toMatch(
        /REDIS_TARGET_PASSWORDS_FILE expects .* the key ".*:\*\*\*@127\.0\.0\.1:1"/,
      )
    }
    file('targets.json', targetPasswords())
    expect(sample((await scrape(standalone, `127.0.0.1:${target.port}`)).body, 'redis_up')).toBe(1)
  })

  it('Redis frozen (SIGSTOP): /metrics answers within its budget, live stays 200', async () => {
    tlsRedis.pause()
    try {
      const res = await standalone.get('/metrics', { ...auth, 'x-prometheus-scrape-timeout-seconds': '2' })
      expect(res.status).toBe(200)
      expect(await live(standalone)).toBe(200)
      expect((await standalone.get('/health')).status).toBe(503)
    } finally {
      tlsRedis.resume()
    }
  })
})

describe('Sentinel, its password wrong and then rotated', () => {
  it('with the Sentinels refusing the password: live 200, not ready, every route answers', async () => {
    await waitFor(async () => (await ready(sentinel)) === 503, { what: 'not ready' })
    await hitEveryRoute(sentinel)
    expect(await live(sentinel)).toBe(200)
    expect((await sentinel.get('/metrics', auth)).status).toBe(200)
    expect(sentinel.child.exitCode).toBeNull()
  })
  it('SIGHUP with the right REDIS_SENTINEL_PASSWORD_FILE: ready, nodes discovered and scrapable', async () => {
    file('sentinel-password', SENTINEL_PASSWORD)
    sentinel.child.kill('SIGHUP')
    await waitFor(async () => (await ready(sentinel)) === 200, {
      timeoutMs: 20_000,
      what: 'ready after SIGHUP',
    })
    const nodes = await waitFor(
      async () => {
        const res = await sentinel.get('/discover-nodes', auth)
        const list = res.status === 200 ? (JSON.parse(res.body) as { targets: string[] }[]) : []
        return list.length >= 5 ? list : undefined
      },
      { what: 'master, replica and three Sentinels discovered' },
    )
    // A discovered node is allowed, and with no per-target password it takes the service's own
    // (the rotated Sentinel password for a Sentinel, REDIS_URL's for a Redis node): up.
    for (const group of nodes) {
      const res = await scrape(sentinel, group.targets[0]!)
      expect(res.status).toBe(200)
      expect(sample(res.body, 'redis_up')).toBe(1)
    }
    await hitEveryRoute(sentinel)
  })
})

describe('Redis Cluster', () => {
  it('serves discovery and /scrape of its nodes with the per-target passwords', async () => {
    await hitEveryRoute(clustered)
    const sd = JSON.parse((await clustered.get('/discover-cluster-nodes', auth)).body) as {
      targets: string[]
    }[]
    expect(sd.flatMap((g) => g.targets)).toHaveLength(cluster.nodes.length)
    const node = cluster.nodes[1]!
    expect(sample((await scrape(clustered, `127.0.0.1:${node.port}`)).body, 'redis_up')).toBe(1)
  })

  it('a node SIGKILLed: live 200, /metrics and discovery answer', async () => {
    const node = cluster.masters[2]!
    await node.kill()
    expect(await live(clustered)).toBe(200)
    expect((await clustered.get('/metrics', auth)).status).toBe(200)
    expect(sample((await scrape(clustered, `127.0.0.1:${node.port}`)).body, 'redis_up')).toBe(0)
    await hitEveryRoute(clustered)
    expect(await live(clustered)).toBe(200)
  })

  it('every node refusing the password (WRONGPASS): live 200, not ready, every route answers', async () => {
    const alive = cluster.nodes.filter((n) => n !== cluster.masters[2])
    for (const node of alive) await rotate(node, CLUSTER_PASSWORD, ROTATED_PASSWORD)
    const reason = await waitFor(
      async () => {
        const res = await clustered.get('/health/ready')
        return res.status === 503 && /WRONGPASS|NOAUTH|invalid username-password/i.test(res.body)
          ? res.body
          : undefined
      },
      { what: 'not ready with the refused password' },
    )
    expect(reason).not.toContain(CLUSTER_PASSWORD)
    await hitEveryRoute(clustered)
    expect(sample((await scrape(clustered, `127.0.0.1:${alive[0]!.port}`)).body, 'redis_up')).toBe(0)
    expect(await live(clustered)).toBe(200)
  })
})

describe('the secrets', () => {
  it('appear in nothing any process wrote (debug logs) or served, and every process exits 0', async () => {
    const keyLines = tls
      .read(tls.clientKeyFile)
      .split('\n')
      .filter((l) => l.length > 16 && !l.startsWith('-----'))
    expect(keyLines.length).toBeGreaterThan(0)
    const everything: string[] = []
    for (const service of services) {
      const { code } = await service.stop()
      expect(code).toBe(0)
      everything.push(service.stdout(), service.stderr(), service.served())
    }
    const text = everything.join('\n')
    // The capture is real: debug lines, the refusals and the bodies were collected.
    expect(text).toContain('"level":20')
    expect(text).toMatch(/WRONGPASS|invalid username-password/)
    expect(text).toContain('redis_up')
    for (const secret of PASSWORDS) {
      for (const form of [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')]) {
        expect(text, secret).not.toContain(form)
      }
    }
    for (const line of keyLines) expect(text).not.toContain(line)
  })
})
