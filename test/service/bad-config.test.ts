import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runToExit } from '../helpers/service-process.js'

const SECRET = 'pa55-w0rd-never-printed'
const dir = mkdtempSync(join(tmpdir(), 'rpm-bad-config-'))
const emptyFile = join(dir, 'empty')
writeFileSync(emptyFile, '')
// A key that is not a URL (no scheme, a raw '/' in the password): quoted in the error, masked.
const badKeyFile = join(dir, 'bad-key.json')
writeFileSync(badKeyFile, JSON.stringify({ [`user:${SECRET}/x@10.0.0.1:6379`]: 'x' }))
// PEM files that do not parse; the key file's content is a secret and must never be quoted.
const notACert = join(dir, 'not-a-cert.pem')
writeFileSync(notACert, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')
const notAKey = join(dir, 'not-a-key.pem')
writeFileSync(notAKey, `-----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----\n`)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Each row: the environment or argv, the variable (or flag) the one stderr line must name.
const cases: Array<{ what: string; env?: Record<string, string>; args?: string[]; names: string }> = [
  { what: 'non-numeric port', env: { PORT: 'http' }, names: 'PORT' },
  { what: 'port out of range', env: { PORT: '65536' }, names: 'PORT' },
  {
    what: 'malformed URL holding a password',
    env: { REDIS_URL: `redis://:${SECRET}@host:port` },
    names: 'REDIS_URL',
  },
  { what: 'wrong URL scheme', env: { REDIS_URL: `https://:${SECRET}@host:6379` }, names: 'REDIS_URL' },
  { what: 'bare password instead of a URL', env: { REDIS_URL: SECRET }, names: 'REDIS_URL' },
  {
    what: 'unreadable password file',
    env: { REDIS_PASSWORD_FILE: join(dir, 'missing') },
    names: 'REDIS_PASSWORD_FILE',
  },
  { what: 'empty password file', env: { REDIS_PASSWORD_FILE: emptyFile }, names: 'REDIS_PASSWORD_FILE' },
  { what: 'unknown log level', env: { LOG_LEVEL: 'verbose' }, names: 'LOG_LEVEL' },
  { what: 'unknown log format (mode)', env: { LOG_FORMAT: 'yaml' }, names: 'LOG_FORMAT' },
  { what: 'zero pool size', env: { POOL_SIZE: '0' }, names: 'POOL_SIZE' },
  { what: 'non-numeric probe interval', env: { PROBE_INTERVAL_MS: '5s' }, names: 'PROBE_INTERVAL_MS' },
  { what: 'malformed basic auth', env: { METRICS_BASIC_AUTH: SECRET }, names: 'METRICS_BASIC_AUTH' },
  { what: 'bad boolean', env: { AUTO_MEMORY_PURGE: 'sometimes' }, names: 'AUTO_MEMORY_PURGE' },
  { what: 'bad flag value', args: ['serve', '--port', 'ninety'], names: 'PORT' },
  { what: 'glob range running backwards', env: { KEY_GROUPS: 'a[z-a]*' }, names: 'KEY_GROUPS' },
  { what: 'glob class never closed', env: { KEY_GROUPS: '[^\\]*' }, names: 'KEY_GROUPS' },
  { what: 'one bad glob among good ones', env: { KEY_GROUPS: 'ok:*,[9-0]' }, names: 'KEY_GROUPS' },
  { what: 'health port equal to the port', env: { PORT: '9500', HEALTH_PORT: '9500' }, names: 'HEALTH_PORT' },
  { what: 'non-numeric MAX_CONNECTIONS', env: { MAX_CONNECTIONS: 'lots' }, names: 'MAX_CONNECTIONS' },
  {
    what: 'a URL with a password in SCRAPE_TARGETS',
    env: { SCRAPE_TARGETS: `10.0.0.2:6379,redis://:${SECRET}@10.0.0.1:6379` },
    names: 'SCRAPE_TARGETS',
  },
  {
    what: 'user:password@ in REDIS_SENTINELS',
    env: { REDIS_SENTINELS: `sentinel:${SECRET}@10.0.0.1:26379` },
    names: 'REDIS_SENTINELS',
  },
  {
    what: 'a password longer than the quoted 60 characters in REDIS_SENTINELS',
    env: { REDIS_SENTINELS: `10.0.0.1:26379,redis://:${SECRET.repeat(4)}@10.0.0.2:26379` },
    names: 'REDIS_SENTINELS',
  },
  {
    what: 'a password-file key that is not a URL, its password unmasked by URL rules',
    env: { REDIS_TARGET_PASSWORDS_FILE: badKeyFile },
    names: 'REDIS_TARGET_PASSWORDS_FILE',
  },
  {
    what: 'an unreadable REDIS_TLS_CA_FILE',
    env: { REDIS_URL: 'rediss://10.0.0.1:6380', REDIS_TLS_CA_FILE: join(dir, 'missing-ca.pem') },
    names: 'REDIS_TLS_CA_FILE',
  },
  {
    what: 'a REDIS_TLS_CERT_FILE that holds no valid certificate',
    env: { REDIS_URL: 'rediss://10.0.0.1:6380', REDIS_TLS_CERT_FILE: notACert, REDIS_TLS_KEY_FILE: notAKey },
    names: 'REDIS_TLS_CERT_FILE',
  },
  {
    what: 'a REDIS_TLS_KEY_FILE that holds no valid key, its content never quoted',
    env: { REDIS_URL: 'rediss://10.0.0.1:6380', REDIS_TLS_KEY_FILE: notAKey, REDIS_TLS_CERT_FILE: notACert },
    names: 'REDIS_TLS_KEY_FILE',
  },
  { what: 'unknown command (mode)', args: ['explode'], names: 'explode' },
  {
    what: 'unknown flag with a secret in its value',
    args: [`--redis-uri=redis://:${SECRET}@h`],
    names: '--redis-uri',
  },
]

describe('bad configuration', () => {
  it.each(cases)('$what: exits non-zero within 2 s with one stderr line naming $names', async (c) => {
    const result = await runToExit(c.args ?? ['serve'], c.env ?? {})
    expect(result.code).not.toBe(0)
    expect(result.code).not.toBeNull()
    // 2 s is the contract for the process itself; node's own start-up is part of it.
    expect(result.ms).toBeLessThan(2_000)
    const lines = result.stderr.split('\n').filter(Boolean)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(c.names)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(result.stderr + result.stdout).not.toContain(SECRET)
    expect(result.stdout).toBe('')
  })

  it('names the glob and what is wrong with it', async () => {
    const result = await runToExit(['serve'], { KEY_GROUPS: 'ok:*,[9-0]' })
    expect(result.stderr.trim()).toBe(
      'redis-pool-monitor: invalid configuration: KEY_GROUPS expects comma-separated glob patterns such as market:*,candles:* (got "ok:*,[9-0]"): the range 9-0 in "[9-0]" runs backwards (write 0-9)',
    )
  })
})
