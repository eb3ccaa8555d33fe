import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from './redis-server.js'

describe('test helper: startRedis', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis({ password: 'helper-secret' })
  })
  afterAll(async () => {
    await redis.stop()
  })

  it('starts a password-protected redis-server that answers redis-cli', async () => {
    expect((await redis.cli('PING')).trim()).toBe('PONG')
    expect(redis.url).toBe(`redis://:helper-secret@127.0.0.1:${redis.port}`)
  })

  it('restarts on the same port after a SIGKILL', async () => {
    const before = redis.pid
    await redis.kill()
    await expect(redis.cli('PING')).rejects.toThrow()
    await redis.restart()
    expect(redis.pid).not.toBe(before)
    expect((await redis.cli('PING')).trim()).toBe('PONG')
  })
})
