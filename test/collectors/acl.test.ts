import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OTHER_COMMAND, SERVICE_COMMANDS } from '../../src/metrics/acl.js'
import {
  createAclUser,
  createDocumentedUser,
  createNarrowerUser,
  documentedAclRules,
} from '../helpers/acl.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { captureLogger } from '../monitor/support.js'
import { appFor, sample } from '../routes/support.js'

let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis({ args: ['--enable-debug-command', 'local'] })
  for (let i = 0; i < 20; i++) await redis.cli('SET', `acl:${i}`, 'x'.repeat(100))
  await redis.cli('-n', '1', 'SET', 'acl:other-db', 'v')
  // A slow log entry and a latency spike, so those families have something to show.
  await redis.cli('CONFIG', 'SET', 'slowlog-log-slower-than', '0')
  await redis.cli('CONFIG', 'SET', 'latency-monitor-threshold', '1')
  await redis.cli('DEBUG', 'SLEEP', '0.01')
})
afterAll(async () => {
  await redis?.stop()
})

/** The service on this Redis as `url`'s user, with key groups and /scrape on, and its log. */
async function serviceAs(url: string) {
  const { logger, lines } = captureLogger('info')
  const app = await appFor(
    {
      REDIS_URL: url,
      KEY_GROUPS: 'acl:*',
      KEY_GROUPS_INTERVAL_MS: '1000',
      SCRAPE_TARGETS: `127.0.0.1:${redis.port}`,
    },
    { logger },
  )
  return { app, lines }
}

const metrics = async (app: FastifyInstance) => (await app.inject('/metrics')).body
const denied = (text: string, command: string) =>
  sample(text, `redis_monitor_command_denied{command="${command}"}`)

/** Every command the service sends reads 0 (present, not missing), and nothing folds into `other`. */
function expectNothingDenied(text: string) {
  expect(Object.fromEntries(SERVICE_COMMANDS.map((c) => [c, denied(text, c)]))).toEqual(
    Object.fromEntries(SERVICE_COMMANDS.map((c) => [c, 0])),
  )
  expect(denied(text, OTHER_COMMAND)).toBeUndefined()
}

describe("the README's ACL SETUSER line, exactly", () => {
  let app: FastifyInstance
  let lines: string[]
  beforeAll(async () => {
    const user = await createDocumentedUser(redis, 'documented-pw')
    ;({ app, lines } = await serviceAs(user.url))
  })
  afterAll(async () => {
    await app?.close()
  })

  it('is ready, and /status reads the server', async () => {
    await waitFor(async () => (await app.inject('/health/ready')).statusCode === 200, { what: 'ready' })
    // /status reads the latest collection, which may still be the one from before the pool was up.
    const status = await waitFor(
      async () => {
        const body = (await app.inject('/status')).json()
        return body.available === true ? body : undefined
      },
      { what: '/status reading the server' },
    )
    expect(status.total_keys).toBe(21)
  })

  it('every server-side feature has its families: INFO, slowlog, latency, key groups with memory in every database', async () => {
    await waitFor(
      async () =>
        sample(await metrics(app), 'redis_key_group_memory_usage_bytes{db="db1",key_group="acl:*"}'),
      { what: 'key groups of db1 with memory' },
    )
    const slowlogLength = async () => Number(await redis.cli('SLOWLOG', 'LEN'))
    const slowBefore = await slowlogLength()
    const text = await metrics(app)
    const slowAfter = await slowlogLength()
    expect(sample(text, 'redis_up')).toBe(1)
    expect(sample(text, 'redis_key_group_count{db="db0",key_group="acl:*"}')).toBe(20)
    let aclBytes = 0
    for (let i = 0; i < 20; i++) aclBytes += Number(await redis.cli('MEMORY', 'USAGE', `acl:${i}`))
    expect(sample(text, 'redis_key_group_memory_usage_bytes{db="db0",key_group="acl:*"}')).toBe(aclBytes)
    // slowlog-log-slower-than 0 logs every command: SLOWLOG LEN as read around the scrape.
    expect(slowBefore).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'redis_slowlog_length')).toBeGreaterThanOrEqual(slowBefore)
    expect(sample(text, 'redis_slowlog_length')).toBeLessThanOrEqual(slowAfter)
    expect(text).toMatch(/^redis_latency_spike_last\{event_name="command"\} \d+/m)
  })

  it('names its connections, and nothing is denied', async () => {
    expect(await redis.cli('CLIENT', 'LIST')).toContain('name=rpm:default:0 ')
    const text = await metrics(app)
    expect(text).toContain('# TYPE redis_monitor_command_denied gauge')
    expectNothingDenied(text)
    expect(lines.join('\n')).not.toContain('NOPERM')
  })

  it('a /scrape target scraped as that user has the same families', async () => {
    const passwords = join(tmpdir(), `rpm-acl-passwords-${process.pid}.json`)
    writeFileSync(
      passwords,
      JSON.stringify({ [`redis://redis-pool-monitor@127.0.0.1:${redis.port}`]: 'documented-pw' }),
    )
    const scraper = await appFor({
      REDIS_URL: redis.url,
      SCRAPE_TARGETS: `127.0.0.1:${redis.port}`,
      REDIS_TARGET_PASSWORDS_FILE: passwords,
    })
    try {
      const url = `/scrape?target=redis-pool-monitor@127.0.0.1:${redis.port}&check-keys=acl:*`
      const text = await waitFor(
        async () => {
          const body = (await scraper.inject(url)).body
          return sample(body, 'redis_key_group_memory_usage_bytes{db="db0",key_group="acl:*"}')
            ? body
            : undefined
        },
        { what: 'key groups through /scrape' },
      )
      expect(sample(text, 'redis_up')).toBe(1)
      expect(sample(text, 'redis_slowlog_length')).toBeGreaterThan(0)
      expectNothingDenied(text)
    } finally {
      await scraper.close()
    }
  })
})

describe('a narrower user: each denied command turns off only its own feature', () => {
  it('without MEMORY USAGE: key-group counts stay, memory is absent (never 0), one log line names it and +memory|usage', async () => {
    const user = await createNarrowerUser(redis, 'no-memory', 'pw-1', ['memory|usage'])
    const { app, lines } = await serviceAs(user.url)
    try {
      const text = await waitFor(
        async () => {
          const body = await metrics(app)
          return denied(body, 'memory|usage') === 1 &&
            sample(body, 'redis_key_group_count{db="db0",key_group="acl:*"}')
            ? body
            : undefined
        },
        { what: 'memory|usage denied and counts present' },
      )
      expect(sample(text, 'redis_key_group_count{db="db0",key_group="acl:*"}')).toBe(20)
      expect(text).not.toContain('redis_key_group_memory_usage_bytes{')
      expect(sample(text, 'redis_up')).toBe(1)
      expect(sample(text, 'redis_slowlog_length')).toBeGreaterThan(0)
      expect(denied(text, 'info')).toBe(0)
      expect((await app.inject('/health/ready')).statusCode).toBe(200)
      expect((await app.inject('/status')).json().key_groups[0].memory_bytes).toBeNull()
      // A second pass later is still denied and still logs nothing new.
      await new Promise((r) => setTimeout(r, 1200))
      const about = lines.filter((l) => l.includes('MEMORY USAGE'))
      expect(about).toHaveLength(1)
      expect(JSON.parse(about[0]!)).toMatchObject({
        level: 40,
        command: 'memory|usage',
        permission: '+memory|usage',
      })
    } finally {
      await app.close()
    }
  })

  it('without read access to keys (%R~*): the same, and the log says to add %R~*', async () => {
    const rules = documentedAclRules().filter((r) => r !== '%R~*')
    const user = await createAclUser(redis, { name: 'no-keys', password: 'pw-2', rules })
    const { app, lines } = await serviceAs(user.url)
    try {
      await waitFor(async () => denied(await metrics(app), 'memory|usage') === 1, {
        what: 'memory|usage denied',
      })
      expect(lines.filter((l) => l.includes('"permission":"%R~*"'))).toHaveLength(1)
      expect(sample(await metrics(app), 'redis_key_group_count{db="db0",key_group="acl:*"}')).toBe(20)
    } finally {
      await app.close()
    }
  })

  it('without SLOWLOG: the slowlog families go, everything else stays', async () => {
    const user = await createNarrowerUser(redis, 'no-slowlog', 'pw-3', ['slowlog|len', 'slowlog|get'])
    const { app, lines } = await serviceAs(user.url)
    try {
      await waitFor(async () => (await app.inject('/health/ready')).statusCode === 200, { what: 'ready' })
      const text = await metrics(app)
      expect(sample(text, 'redis_up')).toBe(1)
      expect(text).not.toMatch(/^redis_slowlog_length /m)
      expect(text).toMatch(/^redis_latency_spike_last\{/m)
      expect(denied(text, 'slowlog|len')).toBe(1)
      expect(denied(text, 'slowlog|get')).toBe(1)
      expect(denied(text, 'latency|latest')).toBe(0)
      // One line per denied command, however many scrapes ran.
      await metrics(app)
      expect(lines.filter((l) => /may not run SLOWLOG LEN/.test(l))).toHaveLength(1)
      expect(lines.filter((l) => /may not run SLOWLOG GET/.test(l))).toHaveLength(1)
    } finally {
      await app.close()
    }
  })

  it('without INFO: not ready with that reason, /status says so instead of "did not answer", redis_up 0', async () => {
    const user = await createNarrowerUser(redis, 'no-info', 'pw-4', ['info'])
    const { app, lines } = await serviceAs(user.url)
    try {
      const body = await waitFor(
        async () => {
          const res = await app.inject('/health/ready')
          return res.statusCode === 503 && res.body.includes('INFO') ? res.json() : undefined
        },
        { what: 'not ready naming INFO' },
      )
      expect(body.reason).toBe('the Redis user may not run INFO (ACL NOPERM; add +info to the user)')
      const text = await metrics(app)
      expect(sample(text, 'redis_up')).toBe(0)
      expect(denied(text, 'info')).toBe(1)
      const status = (await app.inject('/status')).json()
      expect(status.available).toBe(false)
      expect(status.reasons).toContain('the Redis user may not run INFO (ACL NOPERM; add +info to the user)')
      expect(status.reasons.join(' ')).not.toContain('did not answer')
      expect(lines.filter((l) => /may not run INFO/.test(l))).toHaveLength(1)
      expect(lines.join('\n')).not.toContain('collection from Redis failed')
    } finally {
      await app.close()
    }
  })

  it('a denial ends when the user gets the permission: the gauge returns to 0 with one info line', async () => {
    const user = await createNarrowerUser(redis, 'fixed-later', 'pw-5', ['info'])
    const { app, lines } = await serviceAs(user.url)
    try {
      await waitFor(async () => denied(await metrics(app), 'info') === 1, { what: 'info denied' })
      await redis.cli('ACL', 'SETUSER', 'fixed-later', '+info')
      await waitFor(async () => (await app.inject('/health/ready')).statusCode === 200, {
        what: 'ready again',
      })
      const text = await metrics(app)
      expect(denied(text, 'info')).toBe(0)
      expect(sample(text, 'redis_up')).toBe(1)
      expect(lines.filter((l) => /may run INFO again/.test(l))).toHaveLength(1)
    } finally {
      await app.close()
    }
  })
})
