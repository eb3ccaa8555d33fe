import { Agent, get as httpGet } from 'node:http'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HEALTH_LISTENER_MAX_CONNECTIONS } from '../../src/process/health-listener.js'
import { freePort, type RedisServer, startRedis } from '../helpers/redis-server.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'

// Clients that take a connection slot and never send a whole request: sockets opened and left
// silent, and sockets dripping one header line every 2 s (slowloris). Without a request timeout
// they held every MAX_CONNECTIONS slot for good and /metrics stayed unreachable. Each must be
// answered 408 and closed once REQUEST_TIMEOUT_MS (10 s) passes without a whole request.

const MAX_CONNECTIONS = 32

interface Held {
  readonly socket: Socket
  /** The status line the service answered with, if any. */
  answer?: string
  closed: boolean
}

/** Opens a socket that never sends a whole request: silent, or dripping a header line every 2 s. */
async function holdSlot(port: number, drip: boolean): Promise<Held> {
  const socket = connect(port, '127.0.0.1')
  const held: Held = { socket, closed: false }
  socket.on('error', () => {})
  socket.on('data', (d: Buffer) => {
    held.answer ??= d.toString('latin1').split('\r\n')[0]
  })
  let timer: NodeJS.Timeout | undefined
  socket.on('close', () => {
    held.closed = true
    clearInterval(timer)
  })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  if (drip) {
    socket.write('GET /metrics HTTP/1.1\r\n')
    timer = setInterval(() => socket.write('X-Slow: 1\r\n'), 2_000)
  }
  return held
}

/**
 * The status of a GET over a connection of its own (never one kept alive from before), 0 when it
 * cannot be had; the body is read and the connection closed, so it holds no slot afterwards.
 */
const reachable = (url: string) =>
  new Promise<number>((resolve) => {
    const req = httpGet(url, { agent: false, headers: { connection: 'close' }, timeout: 2_000 }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    })
    req.once('timeout', () => req.destroy())
    req.once('error', () => resolve(0))
  })

/** GET over a keep-alive agent: the status and the socket it went over. */
function keptAlive(agent: Agent, url: string): Promise<{ status?: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent }, (res) => {
      res.resume()
      res.once('end', () => resolve({ status: res.statusCode, socket: req.socket as Socket }))
    })
    req.once('error', reject)
  })
}

let redis: RedisServer
let service: ServiceProcess
let healthPort: number
const holders: Held[] = []
// A scraper's keep-alive connection, opened before the tests and idle through all of them.
const scraper = new Agent({ keepAlive: true, maxSockets: 1 })
let scraperSocket: Socket

beforeAll(async () => {
  redis = await startRedis()
  healthPort = await freePort()
  service = await runService({
    env: { REDIS_URL: redis.url, MAX_CONNECTIONS: String(MAX_CONNECTIONS), HEALTH_PORT: String(healthPort) },
  })
  scraperSocket = (await keptAlive(scraper, `${service.baseUrl}/metrics`)).socket
}, 30_000)
afterAll(async () => {
  scraper.destroy()
  for (const h of holders) h.socket.destroy()
  await service?.stop()
  await redis?.stop()
})

describe('connections that never send a whole request', () => {
  /**
   * Takes every slot of a listener (and 4 sockets more, which it closes at accept, unanswered)
   * with silent and dripping sockets; checks that each socket holding a slot is answered 408 and
   * closed, and that `path` is answered 200 there again.
   */
  async function holdEverySlot(port: number, slots: number, path: string) {
    const held = await Promise.all(Array.from({ length: slots + 4 }, (_, i) => holdSlot(port, i % 2 === 1)))
    holders.push(...held)
    await waitFor(async () => (await reachable(`http://127.0.0.1:${port}${path}`)) === 0, {
      timeoutMs: 5_000,
      what: 'the listener to be full',
    })
    await waitFor(() => held.every((h) => h.closed), {
      timeoutMs: 30_000,
      what: 'every held socket to close',
    })
    const answers = held.map((h) => h.answer ?? 'closed unanswered')
    const timedOut = answers.filter((a) => a === 'HTTP/1.1 408 Request Timeout').length
    // Every slot, less one for each connection the test's own fetches may still keep alive there.
    expect(timedOut).toBeLessThanOrEqual(slots)
    expect(timedOut).toBeGreaterThanOrEqual(slots - 2)
    expect(answers.filter((a) => a === 'closed unanswered')).toHaveLength(held.length - timedOut)
    expect(await reachable(`http://127.0.0.1:${port}${path}`)).toBe(200)
  }

  it('on the main port (MAX_CONNECTIONS): each socket holding a slot is answered 408 and closed, and /metrics is served again', async () => {
    await holdEverySlot(service.port, MAX_CONNECTIONS, '/metrics')
  }, 45_000)

  it('on HEALTH_PORT: the same, and /health/live is answered there again', async () => {
    await holdEverySlot(healthPort, HEALTH_LISTENER_MAX_CONNECTIONS, '/health/live')
  }, 45_000)

  it('leaves an idle keep-alive connection alone: idle through both tests (over 20 s), it serves the next scrape', async () => {
    const next = await keptAlive(scraper, `${service.baseUrl}/metrics`)
    expect(next.status).toBe(200)
    expect(next.socket).toBe(scraperSocket)
  })
})
