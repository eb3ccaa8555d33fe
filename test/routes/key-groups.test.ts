import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { appFor, sample, whenReady } from './support.js'

// Key groups through the whole service: the pool scans its own database, and every other database
// INFO keyspace lists gets its own named connection and scan, as redis_exporter covers them all.

const PASSWORD = 'key-groups-Secret-pw'
let redis: RedisServer
let app: FastifyInstance
let admin: Redis

async function fill(db: number, prefix: string, n: number): Promise<void> {
  const client = new Redis({ host: redis.host, port: redis.port, password: PASSWORD, db })
  const pipeline = client.pipeline()
  for (let i = 0; i < n; i++) pipeline.set(`${prefix}:${i}`, 'x')
  await pipeline.exec()
  client.disconnect()
}

const clientNames = async () =>
  String(await admin.call('CLIENT', 'LIST'))
    .split('\n')
    .map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? '')
    .filter(Boolean)

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD })
  admin = new Redis({ host: redis.host, port: redis.port, password: PASSWORD })
  await fill(0, 'user', 30)
  await fill(0, 'session', 5)
  await fill(3, 'user', 20)
  await fill(3, 'cart', 7)
  app = await appFor({ REDIS_URL: redis.url, KEY_GROUPS: 'user:*,session:*' })
  await whenReady(app)
})
afterAll(async () => {
  await app?.close()
  admin?.disconnect()
  await redis?.stop()
})

const metrics = async () => (await app.inject('/metrics')).body

describe('key groups in every database', () => {
  it('counts the groups of the URL database and of every other database with keys, labelled by db', async () => {
    const text = await waitFor(
      async () => {
        const body = await metrics()
        const scanned = (db: string) => body.includes(`redis_key_group_count{db="${db}"`)
        return scanned('db0') && scanned('db3') ? body : undefined
      },
      { timeoutMs: 10_000, what: 'key groups of db0 and db3 in /metrics' },
    )
    expect(sample(text, 'redis_key_group_count{db="db0",key_group="user:*"}')).toBe(30)
    expect(sample(text, 'redis_key_group_count{db="db0",key_group="session:*"}')).toBe(5)
    expect(sample(text, 'redis_key_group_count{db="db3",key_group="user:*"}')).toBe(20)
    expect(sample(text, 'redis_key_group_count{db="db3",key_group="unclassified"}')).toBe(7)
    expect(sample(text, 'redis_key_groups_sampled_fraction{db="db3"}')).toBe(1)
    // redis_exporter's single series: the passes' total time and the stalest pass's age.
    expect(text.match(/^redis_last_key_groups_scrape_duration_milliseconds /gm)).toHaveLength(1)
    expect(text.match(/^redis_key_groups_age_seconds /gm)).toHaveLength(1)
  })

  it('lists every database in /status key_groups', async () => {
    const groups = (await app.inject('/status')).json().key_groups as Array<{
      db: string
      group: string
      count: number
    }>
    // Both databases, each with both configured patterns (0 where none matches) and its rest.
    expect(groups.map(({ db, group, count }) => `${db} ${group} ${count}`).sort()).toEqual([
      'db0 session:* 5',
      'db0 user:* 30',
      'db3 session:* 0',
      'db3 unclassified 7',
      'db3 user:* 20',
    ])
  })

  it('scans another database through one connection named for it, which closes with the app', async () => {
    expect((await clientNames()).filter((n) => n.includes('keygroups'))).toEqual([
      'rpm:default:keygroups-db3',
    ])
    await app.close()
    await waitFor(async () => !(await clientNames()).some((n) => n.includes('keygroups')), {
      timeoutMs: 5_000,
      what: 'the key-group connection to close',
    })
  })
})
