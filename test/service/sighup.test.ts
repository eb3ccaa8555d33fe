import { copyFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { makeTlsMaterial, startTlsRedis, type TlsMaterial, type TlsRedisServer } from '../helpers/tls.js'
import { waitFor } from '../helpers/wait-for.js'
import { sample } from '../routes/support.js'

// Rotating a mounted Secret under a running service: the file changes, Redis' password changes,
// the connections drop (a restart of Redis, a network blip), and SIGHUP is all it takes.
const OLD = 'old-password-3b1f'
const NEW = 'new-password-9c2e'
const TARGET_OLD = 'target-old-77aa'
const TARGET_NEW = 'target-new-88bb'

let redis: RedisServer
let target: RedisServer
let service: ServiceProcess
const dir = join(tmpdir(), `rpm-sighup-${process.pid}`)
const passwordFile = `${dir}-password`
const targetsFile = `${dir}-targets.json`

/** Sets the password Redis asks for and drops every client but the caller, as a Redis restart would. */
async function rotate(server: RedisServer, from: string, to: string) {
  await server.cli('-a', from, '--no-auth-warning', 'CONFIG', 'SET', 'requirepass', to)
  await server.cli('-a', to, '--no-auth-warning', 'CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
}

const ready = async () => (await service.get('/health/ready')).status
const scrapeUp = async () =>
  sample((await service.get(`/scrape?target=127.0.0.1:${target.port}`)).body, 'redis_up')

beforeAll(async () => {
  ;[redis, target] = await Promise.all([startRedis({ password: OLD }), startRedis({ password: TARGET_OLD })])
  writeFileSync(passwordFile, `${OLD}\n`)
  writeFileSync(targetsFile, JSON.stringify({ [`redis://127.0.0.1:${target.port}`]: TARGET_OLD }))
  service = await runService({
    env: {
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      REDIS_PASSWORD_FILE: passwordFile,
      REDIS_TARGET_PASSWORDS_FILE: targetsFile,
      SCRAPE_TARGETS: `127.0.0.1:${target.port}`,
      PROBE_INTERVAL_MS: '200',
      SCRAPE_TIMEOUT_SECONDS: '1',
    },
  })
  await waitFor(async () => (await ready()) === 200, { what: 'ready with the first password' })
})
afterAll(async () => {
  await service?.stop()
  await Promise.all([redis?.stop(), target?.stop()])
})

describe('SIGHUP rereads the secret files without a restart', () => {
  it('the pool authenticates with the rotated REDIS_PASSWORD_FILE after SIGHUP, not before', async () => {
    expect(await scrapeUp()).toBe(1)
    writeFileSync(passwordFile, `${NEW}\n`)
    await rotate(redis, OLD, NEW)
    // Reconnecting with the password read at start fails: the service says so.
    const reason = await waitFor(
      async () => {
        const res = await service.get('/health/ready')
        return res.status === 503 && /WRONGPASS|NOAUTH|invalid username-password/i.test(res.body)
          ? res.body
          : undefined
      },
      { what: 'not ready with the old password' },
    )
    expect(reason).not.toContain(NEW)
    service.child.kill('SIGHUP')
    await waitFor(async () => (await ready()) === 200, { what: 'ready again after SIGHUP' })
    expect(service.child.exitCode).toBeNull()
    expect(service.stdout()).toContain('SIGHUP: reread the secret and certificate files')
  })

  it('a /scrape target takes its rotated password from REDIS_TARGET_PASSWORDS_FILE', async () => {
    writeFileSync(targetsFile, JSON.stringify({ [`redis://127.0.0.1:${target.port}`]: TARGET_NEW }))
    await rotate(target, TARGET_OLD, TARGET_NEW)
    await waitFor(async () => (await scrapeUp()) === 0, { what: 'the target down with its old password' })
    service.child.kill('SIGHUP')
    await waitFor(async () => (await scrapeUp()) === 1, { what: 'the target up with its new password' })
  })

  it('a file that no longer parses is refused in one line and the running secrets stay', async () => {
    writeFileSync(targetsFile, '{ not json')
    const before = service.stdout().length
    service.child.kill('SIGHUP')
    await waitFor(() => service.stdout().slice(before).includes('SIGHUP: kept the running secrets'), {
      what: 'the refusal line',
    })
    const line = service
      .stdout()
      .slice(before)
      .split('\n')
      .find((l) => l.includes('SIGHUP: kept'))!
    expect(JSON.parse(line).msg).toMatch(
      /REDIS_TARGET_PASSWORDS_FILE expects .*; in .* the content is not JSON/,
    )
    expect(await scrapeUp()).toBe(1)
    expect(await ready()).toBe(200)
  })

  it('never prints a password, old or new, in its output or answers', () => {
    const everything = service.stdout() + service.stderr() + service.served()
    for (const secret of [OLD, NEW, TARGET_OLD, TARGET_NEW]) expect(everything).not.toContain(secret)
  })
})

describe('SIGHUP rereads REDIS_TLS_* too', () => {
  let material: TlsMaterial
  let tlsRedis: TlsRedisServer
  let tlsService: ServiceProcess
  const caFile = `${dir}-ca.pem`
  beforeAll(async () => {
    material = await makeTlsMaterial()
    tlsRedis = await startTlsRedis({ material, authClients: true })
    // The mounted CA is the wrong one at first (a Secret not yet rotated).
    copyFileSync(material.otherCaFile, caFile)
    tlsService = await runService({
      env: {
        REDIS_URL: tlsRedis.tlsUrl,
        REDIS_TLS_CA_FILE: caFile,
        REDIS_TLS_CERT_FILE: material.clientCertFile,
        REDIS_TLS_KEY_FILE: material.clientKeyFile,
        PROBE_INTERVAL_MS: '200',
      },
    })
  })
  afterAll(async () => {
    await tlsService?.stop()
    await tlsRedis?.stop()
    material?.remove()
  })

  it('a CA file replaced in place is used after SIGHUP: not ready with the old CA, ready with the new', async () => {
    await waitFor(
      async () => {
        const res = await tlsService.get('/health/ready')
        return res.status === 503 && /certificate/i.test(res.body)
      },
      { what: 'not ready with the wrong CA' },
    )
    copyFileSync(material.caFile, caFile)
    tlsService.child.kill('SIGHUP')
    await waitFor(async () => (await tlsService.get('/health/ready')).status === 200, {
      what: 'ready with the rotated CA',
    })
  })
})
