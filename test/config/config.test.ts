import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ENV_VARS, flagName, parseConfig, VARIABLES } from '../../src/config/config.js'
import { envWithFlags } from '../../src/config/flags.js'
import { defaultMaxConnections } from '../../src/process/fd-limit.js'
import { configError, expectRefused } from './support.js'

const dir = mkdtempSync(join(tmpdir(), 'rpm-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

describe('parseConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = parseConfig({})
    expect(config.redis.options).toMatchObject({ host: '127.0.0.1', port: 6379, db: 0 })
    expect(config.redis.options.password).toBeUndefined()
    expect(config.host).toBe('0.0.0.0')
    expect(config.port).toBe(9122)
    expect(config.logLevel).toBe('info')
    expect(config.pool).toEqual({ name: 'default', size: 10, probeIntervalMs: 5000, commandTimeoutMs: 2000 })
    expect(config.scrapeTimeoutSeconds).toBe(10)
    expect(config.keyGroups.patterns).toEqual([])
    expect(config.metricsAuth).toEqual({ bearerToken: undefined, basic: undefined })
    expect(config.autoMemoryPurge.enabled).toBe(false)
  })

  it('reads the connection, listener, pool, scrape, key-group, auth and purge variables', () => {
    const config = parseConfig({
      REDIS_URL: 'rediss://app:p%40ss@cache.internal:6380/3',
      HOST: '127.0.0.1',
      PORT: '9300',
      LOG_LEVEL: 'DEBUG',
      POOL_SIZE: '4',
      PROBE_INTERVAL_MS: '1000',
      COMMAND_TIMEOUT_MS: '500',
      SCRAPE_TIMEOUT_SECONDS: '2.5',
      KEY_GROUPS: ' market:* , candles:*,,',
      KEY_GROUPS_AUTO: 'yes',
      METRICS_BASIC_AUTH: 'prom:se:cret',
      AUTO_MEMORY_PURGE: 'true',
    })
    expect(config.redis.options).toMatchObject({
      host: 'cache.internal',
      port: 6380,
      db: 3,
      username: 'app',
      password: 'p@ss',
      tls: { servername: 'cache.internal' },
    })
    expect(config.redis.display).toBe('rediss://cache.internal:6380/3')
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 9300,
      logLevel: 'debug',
      scrapeTimeoutSeconds: 2.5,
    })
    expect(config.pool).toMatchObject({ size: 4, probeIntervalMs: 1000, commandTimeoutMs: 500 })
    expect(config.keyGroups).toMatchObject({ patterns: ['market:*', 'candles:*'], auto: true })
    expect(config.metricsAuth.basic).toEqual({ user: 'prom', password: 'se:cret' })
    expect(config.autoMemoryPurge.enabled).toBe(true)
  })

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ PORT: '', REDIS_URL: '  ' }).port).toBe(9122)
  })

  it('returns a deeply frozen object', () => {
    const config = parseConfig({})
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.pool)).toBe(true)
    expect(Object.isFrozen(config.redis.options)).toBe(true)
    expect(Object.isFrozen(config.keyGroups.patterns)).toBe(true)
  })

  it('takes the password from REDIS_PASSWORD_FILE over the URL, without the trailing newline', () => {
    const path = file('password', 'from-file\n')
    const config = parseConfig({ REDIS_URL: 'redis://:from-url@h:1', REDIS_PASSWORD_FILE: path })
    expect(config.redis.options.password).toBe('from-file')
    const crlf = file('password-crlf', 'windows\r\n')
    expect(parseConfig({ REDIS_PASSWORD_FILE: crlf }).redis.options.password).toBe('windows')
  })

  it('keeps inner whitespace of a password file and trims only one trailing newline', () => {
    const path = file('password-spaces', ' a b \n')
    expect(parseConfig({ REDIS_PASSWORD_FILE: path }).redis.options.password).toBe(' a b ')
  })

  it.each([
    [{ PORT: 'abc' }, 'PORT', 'integer port'],
    [{ PORT: '70000' }, 'PORT', 'integer port'],
    [{ POOL_SIZE: '0' }, 'POOL_SIZE', 'integer from 1'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'one of fatal'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT', 'one of auto'],
    [{ REDIS_URL: 'http://h:6379' }, 'REDIS_URL', 'scheme is "http"'],
    [{ REDIS_URL: 'redis://h:6379/x' }, 'REDIS_URL', 'database'],
    [{ REDIS_PASSWORD_FILE: '/nonexistent/pw' }, 'REDIS_PASSWORD_FILE', 'ENOENT'],
    [{ KEY_GROUPS_AUTO: 'maybe' }, 'KEY_GROUPS_AUTO', 'true or false'],
    [{ SCRAPE_TIMEOUT_SECONDS: '0' }, 'SCRAPE_TIMEOUT_SECONDS', 'seconds'],
    [{ METRICS_BASIC_AUTH: 'no-colon' }, 'METRICS_BASIC_AUTH', 'user:password'],
    [
      { STATUS_MEMORY_WARNING_PERCENT: '95', STATUS_MEMORY_CRITICAL_PERCENT: '90' },
      'STATUS_MEMORY_WARNING_PERCENT',
      'no higher',
    ],
  ])('rejects %j naming %s', (env, name, expects) => {
    expectRefused(env, name, expects)
  })

  it('rejects an empty password file', () => {
    expect(configError({ REDIS_PASSWORD_FILE: file('empty', '\n') })).toContain('is empty')
  })

  it('names every bad variable in one line', () => {
    const message = configError({ PORT: 'x', POOL_SIZE: 'y' })
    expect(message).toMatch(/PORT.*POOL_SIZE/)
    expect(message.split('\n')).toHaveLength(1)
  })

  it('never quotes a secret, even from a malformed URL', () => {
    const secret = 'hunter2-s3cr3t'
    const envs: Record<string, string>[] = [
      { REDIS_URL: `redis://:${secret}@host:notaport` },
      { REDIS_URL: `http://:${secret}@host:6379` },
      { REDIS_URL: `redis://:${secret}@host:6379/zz` },
      { REDIS_URL: `${secret}` },
      { METRICS_BASIC_AUTH: secret },
    ]
    for (const env of envs) {
      expect(configError(env)).not.toContain(secret)
    }
  })
})

describe('ENV_VARS and flags', () => {
  it("lists exactly the variables of the README's configuration table", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const documented = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| `--([a-z0-9-]+)` \|/gm)]
    expect(documented.map((m) => m[1]).sort()).toEqual([...ENV_VARS].sort())
    for (const [, name, flag] of documented)
      expect(flag, name).toBe(flagName(name as (typeof ENV_VARS)[number]))
  })

  it("gives every variable the default the README's configuration table states", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const rows = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| `--[a-z0-9-]+` \| ([^|]+) \|/gm)]
    expect(rows).toHaveLength(ENV_VARS.length)
    // Defaults the table explains in words: no value of their own (computed, or none at all).
    const inWords: Record<string, string> = {
      REDIS_TLS_SERVER_NAME: 'the host dialled',
      HISTORY_FILE: 'none (memory only)',
      MAX_CONNECTIONS: 'half the open-files soft limit (`ulimit -n`), at most 4096',
    }
    for (const [, name, cell] of rows) {
      const stated = (cell ?? '').trim()
      const variable = VARIABLES[name as (typeof ENV_VARS)[number]]
      if (name! in inWords) {
        expect(stated, name).toBe(inWords[name!])
        expect(variable.default, name).toBeUndefined()
      } else if (stated === 'none') {
        expect(variable.default, name).toBeUndefined()
      } else {
        expect(stated, name).toBe(`\`${variable.default}\``)
      }
    }
  })

  it('derives MAX_CONNECTIONS when unset as half the open-files soft limit, at most 4096', () => {
    expect(defaultMaxConnections(256)).toBe(128)
    expect(defaultMaxConnections(1024)).toBe(512)
    expect(defaultMaxConnections(8193)).toBe(4096)
    expect(defaultMaxConnections(1_048_576)).toBe(4096) // Docker's default limit
    expect(defaultMaxConnections(Number.POSITIVE_INFINITY)).toBe(4096) // ulimit -n unlimited
  })

  it('reads the STATUS_* thresholds into the status verdict settings', () => {
    const config = parseConfig({
      STATUS_MEMORY_WARNING_PERCENT: '60',
      STATUS_MEMORY_CRITICAL_PERCENT: '70',
      STATUS_LATENCY_WARNING_MS: '5',
      STATUS_LATENCY_CRITICAL_MS: '9',
      STATUS_HIT_RATE_WARNING_PERCENT: '80',
      STATUS_HIT_RATE_CRITICAL_PERCENT: '30',
      STATUS_HISTORY_SIZE: '7',
    })
    expect(config.status).toMatchObject({
      memoryWarningPercent: 60,
      memoryCriticalPercent: 70,
      latencyWarningMs: 5,
      latencyCriticalMs: 9,
      hitRateWarningPercent: 80,
      hitRateCriticalPercent: 30,
      historySize: 7,
    })
  })

  it("keeps the names of the first release's core variables", () => {
    for (const name of [
      'REDIS_URL',
      'REDIS_PASSWORD_FILE',
      'HOST',
      'PORT',
      'LOG_LEVEL',
      'POOL_SIZE',
      'PROBE_INTERVAL_MS',
      'KEY_GROUPS',
    ]) {
      expect(ENV_VARS).toContain(name)
    }
  })

  it('gives each variable a non-empty expectation and description (for --help and bad-config lines)', () => {
    for (const name of ENV_VARS) {
      expect(VARIABLES[name].expects.length).toBeGreaterThan(0)
      expect(VARIABLES[name].description.length).toBeGreaterThan(0)
    }
  })

  it('maps each variable to a flag of the same meaning, the flag winning', () => {
    expect(flagName('REDIS_URL')).toBe('redis-url')
    const env = envWithFlags({ PORT: '1', HOST: 'a' }, { port: '2', 'redis-url': 'redis://x:1', help: true })
    expect(env).toMatchObject({ PORT: '2', HOST: 'a', REDIS_URL: 'redis://x:1' })
    expect(env).not.toHaveProperty('help')
  })
})
