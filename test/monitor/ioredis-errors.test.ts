import { Redis, type RedisOptions } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isNoPerm, permissionFor } from '../../src/collectors/command-denied.js'
import {
  CONNECTION_REPLY_CODES,
  classifyError,
  IOREDIS_CONNECTION_MESSAGES,
  IOREDIS_TIMEOUT_MESSAGE,
  toPublicError,
} from '../../src/monitor/classify.js'
import { isReplyError, redirectionOf, replyCode, replyText } from '../../src/redis/reply-error.js'
import { createAclUser } from '../helpers/acl.js'
import { type RedisCluster, startCluster } from '../helpers/cluster.js'
import { freePort, type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'

/** The error a call rejects with (the test fails if it resolves). */
async function rejection(call: Promise<unknown>): Promise<Error> {
  try {
    await call
  } catch (err) {
    return err as Error
  }
  throw new Error('the call succeeded; an error was expected')
}

// One redis-server for the file (DEBUG enabled, for LOADING); clients are dropped at the end.
let redis: RedisServer
const clients: Redis[] = []
const client = (options: RedisOptions) => {
  const c = new Redis({ host: '127.0.0.1', lazyConnect: true, ...options })
  c.on('error', () => {})
  clients.push(c)
  return c
}

beforeAll(async () => {
  redis = await startRedis({ args: ['--enable-debug-command', 'yes'] })
})
afterAll(async () => {
  for (const c of clients) c.disconnect()
  redis.resume()
  await redis.stop()
})

// The errors classifyError recognises by message or class name, made to happen for real by the
// installed ioredis against a real redis-server: an upgrade that rewords or renames one fails here.
describe('ioredis errors the classification relies on', () => {
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

/** The pool's coded form of a reply error, as a caller of the PoolMonitor receives it. */
const wrapped = (err: Error) =>
  toPublicError(err, classifyError(err), { command: 'get', timeoutMs: 1, pool: 'p', secrets: [] })

// Every reply code src/ acts on (src/redis/reply-error.ts reads it), made to happen by a real
// redis-server or cluster: what the code is, and what the service does with it.
describe('Redis error replies, read by their code', () => {
  it('an unknown (renamed or disabled) command: a ReplyError with code ERR, a reply; the pool keeps its text', async () => {
    const c = client({ port: redis.port })
    const err = await rejection(c.call('NO.SUCH.COMMAND'))
    expect({ reply: isReplyError(err), code: replyCode(err), type: classifyError(err) }).toEqual({
      reply: true,
      code: 'ERR',
      type: 'reply',
    })
    expect(err.message).toMatch(/^ERR unknown command/)
    expect(replyText(wrapped(err))).toBe(err.message)
  })

  it('WRONGPASS and NOAUTH: codes that classify as connection, alone with LOADING and MASTERDOWN', async () => {
    expect([...CONNECTION_REPLY_CODES].sort()).toEqual(['LOADING', 'MASTERDOWN', 'NOAUTH', 'WRONGPASS'])
    await redis.cli('CONFIG', 'SET', 'requirepass', 'pw')
    try {
      const noAuth = await rejection(client({ port: redis.port }).get('k'))
      const wrongPass = await rejection(
        client({ port: redis.port, password: 'not-pw', retryStrategy: () => null }).get('k'),
      )
      expect([noAuth, wrongPass].map((e) => [replyCode(e), classifyError(e)])).toEqual([
        ['NOAUTH', 'connection'],
        ['WRONGPASS', 'connection'],
      ])
    } finally {
      await redis.cli('-a', 'pw', '--no-auth-warning', 'CONFIG', 'SET', 'requirepass', '')
    }
  })

  it('LOADING while the dataset loads: classified connection', async () => {
    await redis.cli('DEBUG', 'POPULATE', '2000', 'loading')
    // 500 µs a key: about a second of loading, with clients answered meanwhile.
    await redis.cli('CONFIG', 'SET', 'key-load-delay', '500')
    await redis.cli('CONFIG', 'SET', 'loading-process-events-interval-bytes', '1024')
    const c = client({ port: redis.port, enableReadyCheck: false })
    await c.connect()
    const reload = redis.cli('DEBUG', 'RELOAD')
    try {
      const err = await waitFor(
        () =>
          c.get('loading:1').then(
            () => undefined,
            (e: Error) => e,
          ),
        {
          intervalMs: 5,
          what: 'a reply during DEBUG RELOAD',
        },
      )
      expect([replyCode(err), classifyError(err)]).toEqual(['LOADING', 'connection'])
    } finally {
      await reload
      await redis.cli('CONFIG', 'SET', 'key-load-delay', '0')
      await redis.cli('FLUSHALL')
    }
  })

  it('NOPERM for a command and for a key: isNoPerm, and the permission to add, from ioredis and through the pool', async () => {
    const user = await createAclUser(redis, {
      name: 'limited',
      password: 'pw',
      rules: ['+get', '~allowed:*'],
    })
    const c = client({ port: redis.port, username: user.name, password: user.password })
    const command = await rejection(c.set('allowed:k', 'v'))
    const key = await rejection(c.get('other:k'))
    for (const err of [command, wrapped(command)]) {
      expect([isNoPerm(err), permissionFor('set', err)]).toEqual([true, '+set'])
    }
    for (const err of [key, wrapped(key)]) {
      expect([isNoPerm(err), permissionFor('get', err)]).toEqual([true, '%R~*'])
    }
    expect(classifyError(command)).toBe('reply')
  })

  describe('a replica whose master is unreachable', () => {
    let replica: RedisServer
    beforeAll(async () => {
      replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(await freePort())] })
      // Set after start: with it, even the start-up PING is refused.
      await replica.cli('CONFIG', 'SET', 'replica-serve-stale-data', 'no')
    })
    afterAll(async () => {
      await replica?.stop()
    })

    it('a write: READONLY (the Sentinel pool redials that connection to the master), a reply', async () => {
      const err = await rejection(client({ port: replica.port }).set('k', 'v'))
      expect([replyCode(err), classifyError(err)]).toEqual(['READONLY', 'reply'])
    })

    it('a read with replica-serve-stale-data no: MASTERDOWN, classified connection', async () => {
      const err = await rejection(client({ port: replica.port }).get('k'))
      expect([replyCode(err), classifyError(err)]).toEqual(['MASTERDOWN', 'connection'])
    })
  })

  describe('a Redis Cluster node asked for keys it does not serve', () => {
    let cluster: RedisCluster
    beforeAll(async () => {
      cluster = await startCluster()
    }, 60_000)
    afterAll(async () => {
      await cluster?.stop()
    })

    /** A plain (non-cluster) connection to one node: redirections come back as replies. */
    const nodeClient = (node: { port: number }) => client({ port: node.port })
    const slotOf = async (key: string) => {
      const slot = await cluster.keySlot(key)
      return { slot, owner: await cluster.ownerOf(slot) }
    }
    const otherThan = (node: { port: number }) => cluster.masters.find((m) => m.port !== node.port)!

    it('MOVED <slot> <address> of the owner, read as a redirection; a reply', async () => {
      const { slot, owner } = await slotOf('moved-key')
      const err = await rejection(nodeClient(otherThan(owner)).get('moved-key'))
      expect(redirectionOf(err)).toEqual({ type: 'MOVED', slot, address: owner.address })
      expect(classifyError(err)).toBe('reply')
    })

    it('ASK <slot> <address> of the importing node while the slot migrates', async () => {
      const { slot, owner } = await slotOf('ask-key')
      const importing = otherThan(owner)
      await cluster.beginSlotMigration(slot, importing)
      const err = await rejection(nodeClient(owner).get('ask-key'))
      expect(redirectionOf(err)).toEqual({ type: 'ASK', slot, address: importing.address })
    })

    it('CROSSSLOT for keys of two slots (a lease refuses it as RPM_CROSS_SLOT); not a redirection', async () => {
      const a = await slotOf('cross-a')
      const b = await slotOf('cross-b')
      expect(a.slot).not.toBe(b.slot)
      const err = await rejection(nodeClient(a.owner).mget('cross-a', 'cross-b'))
      expect([replyCode(err), redirectionOf(err), classifyError(err)]).toEqual([
        'CROSSSLOT',
        undefined,
        'reply',
      ])
    })

    it('CLUSTERDOWN for a slot no node serves: a reply, never a connection failure', async () => {
      const { slot, owner } = await slotOf('down-key')
      await owner.cli('CLUSTER', 'DELSLOTS', String(slot))
      const err = await rejection(nodeClient(owner).get('down-key'))
      expect([replyCode(err), classifyError(err)]).toEqual(['CLUSTERDOWN', 'reply'])
    })
  })
})
