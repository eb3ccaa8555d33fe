import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.js'
import { parseHostPort, tlsOptions } from '../../src/redis/endpoint.js'
import { configError, expectRefused } from './support.js'

const dir = mkdtempSync(join(tmpdir(), 'rpm-endpoint-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const path = (name: string) => join(dir, name)
function file(name: string, content: string): string {
  writeFileSync(path(name), content)
  return path(name)
}

// A self-signed certificate and its key, made by openssl like an operator's private CA.
beforeAll(() => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=rpm-test-ca',
      '-keyout',
      path('ca.key'),
      '-out',
      path('ca.crt'),
    ],
    { stdio: 'ignore' },
  )
})

describe('parseHostPort', () => {
  it.each([
    ['10.0.0.1:26379', { host: '10.0.0.1', port: 26379 }],
    ['sentinel-0.redis', { host: 'sentinel-0.redis', port: 6379 }],
    ['[::1]:7000', { host: '::1', port: 7000 }],
    ['[fe80::1]', { host: 'fe80::1', port: 6379 }],
  ])('reads %s', (raw, expected) => {
    expect(parseHostPort(raw)).toEqual(expected)
  })

  it.each(['', 'host:', 'host:99999', 'host:0', '[nothex]:1', 'a b:1', 'redis://h:1'])(
    'refuses %j',
    (raw) => {
      expect(parseHostPort(raw)).toBeUndefined()
    },
  )
})

describe('the Redis endpoint from configuration', () => {
  it('is standalone at REDIS_URL by default', () => {
    const { redis } = parseConfig({ REDIS_URL: 'redis://u:pw@10.0.0.5:6380/2' })
    expect(redis).toMatchObject({
      topology: 'standalone',
      node: { host: '10.0.0.5', port: 6380 },
      username: 'u',
      password: 'pw',
      db: 2,
      tls: undefined,
      sentinel: undefined,
      readFromReplicas: false,
      display: 'redis://10.0.0.5:6380/2',
    })
    expect(redis.options).toEqual({ host: '10.0.0.5', port: 6380, db: 2, username: 'u', password: 'pw' })
  })

  it('asks the Sentinels for the master when REDIS_SENTINELS is set, with the URL giving auth and db', () => {
    const sentinelPassword = file('sentinel-pw', 'sentinel-secret\n')
    const { redis } = parseConfig({
      REDIS_URL: 'redis://:data-secret@ignored:1/1',
      REDIS_SENTINELS: '10.0.0.1:26379, sentinel-b ,[::1]:26380',
      REDIS_SENTINEL_MASTER: 'cache',
      REDIS_SENTINEL_PASSWORD_FILE: sentinelPassword,
      REDIS_READ_FROM_REPLICAS: 'true',
    })
    // Port 26379 where the list leaves it out; a bracketed IPv6 address loses its brackets.
    const nodes = [
      { host: '10.0.0.1', port: 26379 },
      { host: 'sentinel-b', port: 26379 },
      { host: '::1', port: 26380 },
    ]
    expect(redis.topology).toBe('sentinel')
    expect(redis.sentinel).toEqual({
      nodes,
      masterName: 'cache',
      password: 'sentinel-secret',
    })
    expect(redis.readFromReplicas).toBe(true)
    expect(redis.options).toMatchObject({
      sentinels: nodes,
      name: 'cache',
      role: 'master',
      sentinelPassword: 'sentinel-secret',
      password: 'data-secret',
      db: 1,
    })
    expect(redis.options).not.toHaveProperty('host')
    expect(redis.display).toBe('sentinel://10.0.0.1:26379,sentinel-b:26379,[::1]:26380/cache (redis, db 1)')
    expect(redis.display).not.toContain('secret')
  })

  it('uses mymaster as the default master name', () => {
    expect(parseConfig({ REDIS_SENTINELS: 's:26379' }).redis.sentinel?.masterName).toBe('mymaster')
  })

  it('marks a cluster seed when REDIS_CLUSTER is on', () => {
    const { redis } = parseConfig({ REDIS_URL: 'redis://10.0.0.7:7000', REDIS_CLUSTER: 'true' })
    expect(redis.topology).toBe('cluster')
    expect(redis.node).toEqual({ host: '10.0.0.7', port: 7000 })
    expect(redis.display).toBe('cluster redis://10.0.0.7:7000/0')
  })

  it.each([
    [{ REDIS_SENTINELS: 'a:1,b:notaport' }, 'REDIS_SENTINELS', 'host:port'],
    [{ REDIS_SENTINEL_MASTER: 'my master' }, 'REDIS_SENTINEL_MASTER', 'master name'],
    [{ REDIS_SENTINEL_PASSWORD_FILE: '/nonexistent/pw' }, 'REDIS_SENTINEL_PASSWORD_FILE', 'ENOENT'],
    [{ REDIS_CLUSTER: 'yes please' }, 'REDIS_CLUSTER', 'true or false'],
    [{ REDIS_CLUSTER: 'true', REDIS_SENTINELS: 's:26379' }, 'REDIS_CLUSTER', 'REDIS_SENTINELS'],
    [{ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://h:7000/3' }, 'REDIS_URL', 'database 0'],
    [{ REDIS_READ_FROM_REPLICAS: '2' }, 'REDIS_READ_FROM_REPLICAS', 'true or false'],
    [{ REDIS_TLS_INSECURE_SKIP_VERIFY: 'sure' }, 'REDIS_TLS_INSECURE_SKIP_VERIFY', 'true or false'],
    [{ REDIS_TLS_SERVER_NAME: 'bad name' }, 'REDIS_TLS_SERVER_NAME', 'host name'],
    [
      { REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' },
      'REDIS_TLS_CA_FILE',
      'cannot read /nonexistent/ca.pem (ENOENT)',
    ],
  ])('rejects %j naming %s', (env, name, expects) => {
    expectRefused(env, name, expects)
  })

  it('rejects a CA file that holds no certificate, naming the file and not its content', () => {
    const garbage = file('garbage.pem', 'top-secret-not-a-pem')
    const message = configError({ REDIS_TLS_CA_FILE: garbage })
    expect(message).toContain(`REDIS_TLS_CA_FILE expects`)
    expect(message).toContain(`${garbage} holds no valid PEM certificate`)
    expect(message).not.toContain('top-secret')
  })

  it('rejects a key file that holds no private key without quoting it', () => {
    const message = configError({
      REDIS_TLS_CERT_FILE: path('ca.crt'),
      REDIS_TLS_KEY_FILE: file('not-a-key.pem', readFileSync(path('ca.crt'), 'utf8')),
    })
    expect(message).toContain('REDIS_TLS_KEY_FILE expects')
    expect(message).toContain('holds no valid PEM private key')
    expect(message).not.toContain('BEGIN CERTIFICATE')
  })

  it('rejects a client certificate without its key', () => {
    expect(configError({ REDIS_TLS_CERT_FILE: path('ca.crt') })).toContain(
      'REDIS_TLS_CERT_FILE expects REDIS_TLS_KEY_FILE beside it',
    )
  })

  it('reads the PEM files into the endpoint for rediss:// and checks the dialled host by default', () => {
    const config = parseConfig({
      REDIS_URL: 'rediss://cache.internal:6380',
      REDIS_TLS_CA_FILE: path('ca.crt'),
      REDIS_TLS_CERT_FILE: path('ca.crt'),
      REDIS_TLS_KEY_FILE: path('ca.key'),
    })
    const ca = readFileSync(path('ca.crt'), 'utf8')
    expect(config.redis.tls).toEqual({
      ca,
      cert: ca,
      key: readFileSync(path('ca.key'), 'utf8'),
      serverName: undefined,
      insecureSkipVerify: false,
    })
    expect(config.redis.options.tls).toMatchObject({
      ca,
      servername: 'cache.internal',
      rejectUnauthorized: true,
    })
    expect(config.redis.display).toBe('rediss://cache.internal:6380/0')
  })

  it('keeps the TLS files for rediss:// targets while REDIS_URL itself is plain', () => {
    const config = parseConfig({ REDIS_URL: 'redis://h:1', REDIS_TLS_CA_FILE: path('ca.crt') })
    expect(config.redis.tls).toBeUndefined()
    expect(config.redis.options).not.toHaveProperty('tls')
    expect(config.tls.ca).toContain('BEGIN CERTIFICATE')
  })

  it('turns verification off only when asked, and checks the configured server name', () => {
    const settings = { ca: undefined, cert: undefined, key: undefined, insecureSkipVerify: true }
    expect(tlsOptions({ ...settings, serverName: undefined }, '10.0.0.1')).toEqual({
      rejectUnauthorized: false,
    })
    expect(
      tlsOptions({ ...settings, serverName: 'redis.internal', insecureSkipVerify: false }, '10.0.0.1'),
    ).toEqual({
      servername: 'redis.internal',
      rejectUnauthorized: true,
    })
  })

  it('follows the master over TLS with Sentinel: the Sentinels and the data nodes alike', () => {
    const { redis } = parseConfig({
      REDIS_URL: 'rediss://:pw@unused',
      REDIS_SENTINELS: 's1:26379',
      REDIS_TLS_CA_FILE: path('ca.crt'),
    })
    expect(redis.options).toMatchObject({
      enableTLSForSentinelMode: true,
      tls: { rejectUnauthorized: true },
      sentinelTLS: { rejectUnauthorized: true },
    })
    expect(redis.display).toBe('sentinel://s1:26379/mymaster (rediss, db 0)')
  })
})
