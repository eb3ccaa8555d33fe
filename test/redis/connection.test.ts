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
