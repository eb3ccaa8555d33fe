import { Redis, type RedisOptions } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  classifyError,
  IOREDIS_CONNECTION_MESSAGES,
  IOREDIS_TIMEOUT_MESSAGE,
} from '../../src/monitor/classify.js'
import { freePort, type RedisServer, startRedis } from '../helpers/redis-server.js'

/** The error a call rejects with (the test fails if it resolves). */
async function rejection(call: Promise<unknown>): Promise<Error> {
  try {
    await call
  } catch (err) {
    return err as Error
  }
  throw new Error('the call succeeded; an error was expected')
}

// The errors classifyError recognises by message or class name, made to happen for real by the
// installed ioredis against a real redis-server: an upgrade that rewords or renames one fails here.
describe('ioredis errors the classification relies on', () => {
  let redis: RedisServer
  const clients: Redis[] = []
  const client = (options: RedisOptions) => {
    const c = new Redis({ host: '127.0.0.1', lazyConnect: true, ...options })
    c.on('error', () => {})
    clients.push(c)
    return c
  }

  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    for (const c of clients) c.disconnect()
    redis.resume()
    await redis.stop()
  })

  it(`a command past commandTimeout on a frozen Redis: "${IOREDIS_TIMEOUT_MESSAGE}", classified timeout`, async () => {
    const c = client({ port: redis.port, commandTimeout: 200 })
    await c.connect()
    redis.pause()
    try {
      const err = await rejection(c.get('k'))
      expect({ message: err.message, type: classifyError(err) }).toEqual({
        message: IOREDIS_TIMEOUT_MESSAGE,
        type: 'timeout',
      })
    } finally {
      redis.resume()
    }
  })

  it(`a command with the offline queue off and no socket: "${IOREDIS_CONNECTION_MESSAGES[0]}...", classified connection`, async () => {
    const c = client({ port: redis.port, enableOfflineQueue: false })
    const err = await rejection(c.get('k'))
    expect(err.message.startsWith(IOREDIS_CONNECTION_MESSAGES[0])).toBe(true)
    expect(classifyError(err)).toBe('connection')
  })

  it(`a command on a closed connection: "${IOREDIS_CONNECTION_MESSAGES[1]}.", classified connection`, async () => {
    const c = client({ port: redis.port })
    await c.connect()
    c.disconnect()
    const err = await rejection(c.get('k'))
    expect(err.message).toBe(`${IOREDIS_CONNECTION_MESSAGES[1]}.`)
    expect(classifyError(err)).toBe('connection')
  })

  it('a command that ran out of retries on a refused port: MaxRetriesPerRequestError, classified connection', async () => {
    const c = client({ port: await freePort(), maxRetriesPerRequest: 0, retryStrategy: () => 50 })
    c.connect().catch(() => {})
    const err = await rejection(c.get('k'))
    expect({ name: err.name, type: classifyError(err) }).toEqual({
      name: 'MaxRetriesPerRequestError',
      type: 'connection',
    })
  })

  it("a refused connection: the client's error event carries code ECONNREFUSED, classified connection", async () => {
    const c = client({ port: await freePort(), retryStrategy: () => null })
    const emitted = new Promise<Error>((resolve) => c.once('error', resolve))
    c.connect().catch(() => {})
    const err = await emitted
    expect({ code: (err as { code?: string }).code, type: classifyError(err) }).toEqual({
      code: 'ECONNREFUSED',
      type: 'connection',
    })
  })

  it('a Redis error reply: ReplyError, classified reply (WRONGTYPE) or connection (NOAUTH)', async () => {
    const c = client({ port: redis.port })
    await c.connect()
    await c.set('str', 'x')
    const wrongType = await rejection(c.lpush('str', 'y'))
    expect({ name: wrongType.name, type: classifyError(wrongType) }).toEqual({
      name: 'ReplyError',
      type: 'reply',
    })
    await redis.cli('CONFIG', 'SET', 'requirepass', 'pw')
    try {
      const noAuth = await rejection(client({ port: redis.port }).get('k'))
      expect({
        name: noAuth.name,
        prefix: noAuth.message.split(' ')[0],
        type: classifyError(noAuth),
      }).toEqual({
        name: 'ReplyError',
        prefix: 'NOAUTH',
        type: 'connection',
      })
    } finally {
      await c.config('SET', 'requirepass', '')
    }
  })
})
