import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createConnection } from '../../src/redis/connection.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'

let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

describe('createConnection', () => {
  it('survives a second error on one socket (a failed TLS handshake followed by the peer alert)', async () => {
    const client = createConnection({ redis: { host: redis.host, port: redis.port }, pool: 't', index: 0 })
    const reported: string[] = []
    client.on('error', (err: Error) => reported.push(err.message))
    try {
      await waitFor(() => client.status === 'ready', { what: 'the connection to be ready' })
      const socket = client.stream
      // Without a lasting listener, EventEmitter throws the second error: in a socket's event
      // handler, that is an uncaught exception that ends the process.
      expect(() => {
        socket.emit('error', new Error('certificate check failed'))
        socket.emit('error', new Error('tlsv1 alert decode error'))
      }).not.toThrow()
      expect(reported).toContain('certificate check failed')
    } finally {
      client.disconnect()
    }
  })

  it('guards the new socket after a reconnect too', async () => {
    const client = createConnection({ redis: { host: redis.host, port: redis.port }, pool: 't', index: 1 })
    client.on('error', () => {})
    try {
      await waitFor(() => client.status === 'ready', { what: 'the connection to be ready' })
      const first = client.stream
      await redis.cli('CLIENT', 'KILL', 'TYPE', 'normal')
      await waitFor(() => client.status === 'ready' && client.stream !== first, { what: 'a reconnect' })
      const second = client.stream
      expect(() => {
        second.emit('error', new Error('one'))
        second.emit('error', new Error('two'))
      }).not.toThrow()
    } finally {
      client.disconnect()
    }
  })
})

describe('a peer answering with one huge bulk reply', () => {
  it('closes the connection once a reply passes MAX_REPLY_BYTES, long before the peer finishes', async () => {
    const { createServer } = await import('node:net')
    const { MAX_REPLY_BYTES } = await import('../../src/redis/connection.js')
    const size = 4 * MAX_REPLY_BYTES
    const chunk = Buffer.alloc(1024 * 1024, 'a')
    let written = 0
    const errors: string[] = []
    const clients: Array<{ disconnect(): void }> = []
    const closed = new Promise<number>((resolve) => {
      const peer = createServer((socket) => {
        socket.on('error', () => {})
        socket.once('close', () => {
          resolve(written)
          peer.close()
        })
        // Whatever ioredis asks first (CLIENT SETNAME, INFO for the ready check), one answer:
        // a bulk string four times the limit.
        socket.once('data', () => {
          socket.write(`$${size}\r\n`)
          const pump = () => {
            while (written < size && !socket.destroyed) {
              written += chunk.length
              if (!socket.write(chunk)) return void socket.once('drain', pump)
            }
          }
          pump()
        })
      })
      peer.listen(0, '127.0.0.1', () => {
        const port = (peer.address() as { port: number }).port
        const client = createConnection({
          redis: { host: '127.0.0.1', port },
          pool: 'hostile',
          index: 0,
        })
        client.on('error', (err: Error) => errors.push(err.message))
        clients.push(client)
      })
    })
    try {
      const sent = await closed
      // The socket closed with the limit reached: at most the limit plus what sat in socket buffers.
      expect(sent).toBeLessThan(size / 2)
      expect(errors.some((m) => m.includes(`a reply exceeded ${MAX_REPLY_BYTES} bytes`))).toBe(true)
    } finally {
      for (const client of clients) client.disconnect()
    }
  }, 30_000)
})
