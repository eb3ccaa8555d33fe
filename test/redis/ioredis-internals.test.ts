import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Command, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { ROOT } from '../helpers/service-process.js'

const installed = (name: string) =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version
const declared = (name: string) =>
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
    .dependencies[name]

/** What the pool reads of an ioredis client that ioredis does not document. */
interface Internals {
  commandQueue: {
    length: number
    peekAt(i: number): { command: Command & { isSettled: boolean } } | undefined
  }
}

// The pool reads ioredis internals no API offers: `commandQueue` (replies the socket still owes, for
// the load of a connection and the timeout sweep), its entries' `command.isSettled` / `reject()`,
// and a runtime change of `options.commandTimeout` (exclusive leases). ioredis is pinned to an exact
// version for them; an upgrade must pass this file first.
describe('the ioredis internals the pool relies on', () => {
  let redis: RedisServer
  let client: Redis

  beforeAll(async () => {
    redis = await startRedis()
    client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true })
    await client.connect()
  })
  afterAll(async () => {
    redis.resume()
    client.disconnect()
    await redis.stop()
  })

  it('are read from the exact ioredis version package.json pins', () => {
    expect(declared('ioredis')).toMatch(/^\d+\.\d+\.\d+$/)
    expect(installed('ioredis')).toBe(declared('ioredis'))
  })

  it('commandQueue holds one unsettled entry per reply owed, rejectable by the pool, and drains on answers', async () => {
    const queue = (client as unknown as Internals).commandQueue
    expect(queue.length).toBe(0)
    redis.pause()
    const replies = [client.get('a'), client.get('b'), client.get('c')].map((p) =>
      p.then(
        (value) => ({ value }),
        (err: Error) => ({ error: err.message }),
      ),
    )
    try {
      await new Promise((r) => setTimeout(r, 50))
      expect(queue.length).toBe(3)
      const first = queue.peekAt(0)!.command
      expect(first.isSettled).toBe(false)
      first.reject(new Error('rejected by the sweep'))
      expect(first.isSettled).toBe(true)
      // A rejected entry stays queued until Redis answers: the pool keeps counting it as load.
      expect(queue.length).toBe(3)
    } finally {
      redis.resume()
    }
    expect(await Promise.all(replies)).toEqual([
      { error: 'rejected by the sweep' },
      { value: null },
      { value: null },
    ])
    expect(queue.length).toBe(0)
  })

  it('options.commandTimeout changed on a connected client applies to the next command', async () => {
    client.options.commandTimeout = 100
    redis.pause()
    try {
      await expect(client.get('k')).rejects.toThrow('Command timed out')
    } finally {
      redis.resume()
      client.options.commandTimeout = undefined
    }
    expect(await client.get('k')).toBe(null)
  })
})
