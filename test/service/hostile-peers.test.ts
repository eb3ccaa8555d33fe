import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { type RespPeer, resp, startRespPeer } from '../helpers/resp-peer.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'
import { sample } from '../routes/support.js'

// Peers that are not the Redis they claim to be, on real loopback sockets, against the real
// service process: bytes that are not RESP, replies that blow up a parser (nesting past the stack,
// an array of 10^11 elements), a reply that starts and never ends, and a server that speaks valid
// RESP with the wrong shapes (a broken proxy or a "compatible" server). None may end the process,
// hang a scrape past its budget, or put a NaN on /metrics.

/** The handshake ioredis and the pool send, answered as a Redis 5 would (RESP2, no HELLO). */
function handshake(command: string): string | undefined {
  if (command === 'hello') return resp.error("ERR unknown command 'HELLO'")
  if (command === 'ping') return resp.simple('PONG')
  if (command === 'client' || command === 'select' || command === 'auth' || command === 'readonly')
    return resp.simple('OK')
  return undefined
}

const garbage = () => startRespPeer(() => '\u0000\u00ffnot RESP at all\r\n')
const deepNesting = () => startRespPeer(() => '*1\r\n'.repeat(200_000))
const hugeArray = () => startRespPeer(() => '*99999999999\r\n')
const neverEnding = () => startRespPeer((args) => handshake(args[0]!.toLowerCase()) ?? '$100\r\nabc')

/**
 * Valid RESP, wrong shapes: INFO is a real redis-server's, every other command the collectors send
 * gets a reply of a type it does not expect.
 */
function wrongShapes(info: string) {
  return startRespPeer((args) => {
    const [command, sub] = [args[0]!.toLowerCase(), args[1]?.toLowerCase()]
    const known = handshake(command)
    if (known !== undefined) return known
    if (command === 'info') return resp.bulk(info)
    if (command === 'slowlog' && sub === 'len') return resp.bulk('many')
    if (command === 'slowlog') return resp.int(5)
    if (command === 'latency') return `*2\r\n${resp.int(1)}*1\r\n${resp.nil}`
    return `*3\r\n${resp.int(1)}${resp.nil}*0\r\n`
  })
}

/**
 * A real INFO ALL with values that are not numbers where numbers belong (memory, keyspace,
 * command and latency statistics): each such series is left out, never rendered as NaN.
 */
function unnumbered(info: string): string {
  return info
    .replace(/^used_memory:\d+/m, 'used_memory:lots')
    .replace(/^db0:.*$/m, 'db0:keys=many,expires=,avg_ttl=NaN')
    .replace(/^cmdstat_(\w+):.*$/gm, 'cmdstat_$1:calls=x,usec=Infinity,usec_per_call=,rejected_calls=-')
    .replace(/^latency_percentiles_usec_(\w+):.*$/gm, 'latency_percentiles_usec_$1:p50=abc,p99=,p99.9=1e999')
    .replace(/^errorstat_(\w+):.*$/gm, 'errorstat_$1:count=none')
}

const NOT_A_NUMBER = / (NaN|Nan|[+-]?Inf)$/im

/** Whether any sample of the family is in the exposition, labelled or not. */
const hasFamily = (text: string, name: string) => new RegExp(`^${name}[{ ]`, 'm').test(text)

let redis: RedisServer
let info: string
const peers: RespPeer[] = []
const services: ServiceProcess[] = []

beforeAll(async () => {
  redis = await startRedis()
  // Keys, an error and a few commands, so INFO has keyspace, errorstats and commandstats lines.
  await redis.cli('SET', 'user:1', 'a')
  await redis.cli('LPUSH', 'queue:1', 'a')
  await redis.cli('GET', 'queue:1').catch(() => undefined)
  info = unnumbered(await redis.cli('INFO', 'ALL'))
  expect(info).toMatch(/^db0:keys=many/m)
  expect(info).toMatch(/^cmdstat_set:calls=x/m)
  expect(info).toMatch(/^errorstat_WRONGTYPE:count=none/m)
}, 30_000)

afterAll(async () => {
  for (const s of services) await s.stop()
  for (const p of peers) await p.close()
  await redis?.stop()
})

async function peer(start: () => Promise<RespPeer>): Promise<RespPeer> {
  const p = await start()
  peers.push(p)
  return p
}

async function service(env: Record<string, string>): Promise<ServiceProcess> {
  const s = await runService({ env: { PROBE_INTERVAL_MS: '250', ...env } })
  services.push(s)
  return s
}

describe('/scrape of a target that is not Redis', () => {
  let s: ServiceProcess
  beforeAll(async () => {
    s = await service({ REDIS_URL: redis.url, SCRAPE_TARGETS: '127.0.0.1:*' })
  }, 30_000)

  it.each([
    ['bytes that are not RESP', garbage],
    ['arrays nested 200,000 deep (past the parser stack)', deepNesting],
    ['an array of 10^11 elements', hugeArray],
    ['a reply that starts and never ends', neverEnding],
  ])(
    'asked for a 2 s budget, answers 200 with redis_up 0 before a 10 s scrape timeout, for %s',
    async (_, start) => {
      const p = await peer(start)
      // Prometheus' default scrape timeout: a hang (redis_exporter's 15 s dial) fails here.
      const res = await fetch(`${s.baseUrl}/scrape?target=127.0.0.1:${p.port}`, {
        headers: { 'x-prometheus-scrape-timeout-seconds': '2' },
        signal: AbortSignal.timeout(10_000),
      })
      const body = await res.text()
      expect(res.status).toBe(200)
      expect(sample(body, 'redis_up')).toBe(0)
      expect(body).not.toMatch(NOT_A_NUMBER)
      expect((await s.get('/health/live')).status).toBe(200)
    },
  )

  it('keeps serving its own Redis on /metrics after all of them, with redis_up 1', async () => {
    const res = await s.get('/metrics')
    expect(res.status).toBe(200)
    expect(sample(res.body, 'redis_up')).toBe(1)
    expect(s.child.exitCode).toBeNull()
  })
})

describe('a Redis answering valid RESP with the wrong shapes and INFO values that are not numbers', () => {
  it('/scrape: redis_up 1 with INFO families, the malformed features skipped with one log line each, no NaN', async () => {
    const s = await service({ REDIS_URL: redis.url, SCRAPE_TARGETS: '127.0.0.1:*' })
    const p = await peer(() => wrongShapes(info))
    const target = `/scrape?target=127.0.0.1:${p.port}`
    const first = await s.get(target)
    const second = await s.get(target)
    for (const res of [first, second]) {
      expect(res.status).toBe(200)
      expect(sample(res.body, 'redis_up')).toBe(1)
      const uptime = sample(res.body, 'redis_uptime_in_seconds')
      expect(Number.isInteger(uptime) && uptime! >= 0).toBe(true)
      expect(res.body).not.toMatch(NOT_A_NUMBER)
      expect(hasFamily(res.body, 'redis_slowlog_length')).toBe(false)
      expect(hasFamily(res.body, 'redis_latency_spike_last')).toBe(false)
    }
    // The log lines come through a pipe, in no fixed order with the HTTP answers.
    const skipped = () =>
      s
        .stdout()
        .split('\n')
        .filter((l) => l.includes('gave an unexpected reply'))
        .map((l) => JSON.parse(l).command)
        .sort()
    await waitFor(() => skipped().length >= 2, { timeoutMs: 5_000, what: 'both warn lines' })
    expect(skipped()).toEqual(['LATENCY', 'SLOWLOG'])
  })

  it('as REDIS_URL: the pool is up, the key-group pass fails naming DBSIZE, /metrics has redis_up 1 and no NaN, /health/live 200', async () => {
    const p = await peer(() => wrongShapes(info))
    const s = await service({
      REDIS_URL: `redis://127.0.0.1:${p.port}`,
      KEY_GROUPS: 'user:*',
      KEY_GROUPS_INTERVAL_MS: '1000',
    })
    await waitFor(async () => (await s.get('/health/ready')).status === 200, {
      timeoutMs: 10_000,
      what: 'the pool to be ready against the wrong-shapes peer',
    })
    // The key-group pass meets DBSIZE answered with an array: it fails with the command named.
    await waitFor(() => s.stdout().includes('key-group pass failed'), {
      timeoutMs: 10_000,
      what: 'the key-group pass to fail',
    })
    const failed = s
      .stdout()
      .split('\n')
      .find((l) => l.includes('key-group pass failed'))
    expect(JSON.parse(failed!).err.code).toBe('RPM_UNEXPECTED_REPLY')
    expect(JSON.parse(failed!).err.message).toBe(
      'DBSIZE answered an array of 3 where an integer was expected',
    )
    const res = await s.get('/metrics')
    expect(res.status).toBe(200)
    expect(sample(res.body, 'redis_up')).toBe(1)
    expect(res.body).not.toMatch(NOT_A_NUMBER)
    expect((await s.get('/status')).status).toBe(200)
    expect((await s.get('/health/live')).status).toBe(200)
  })
})

describe('REDIS_URL pointing at a peer that is not Redis', () => {
  it.each([
    ['bytes that are not RESP', garbage],
    ['arrays nested 200,000 deep', deepNesting],
  ])('%s: the process stays up, /health/live 200, /metrics 200 with redis_up 0', async (_, start) => {
    const p = await peer(start)
    const s = await service({ REDIS_URL: `redis://127.0.0.1:${p.port}` })
    // Several probe rounds (250 ms) and reconnects against the peer.
    await waitFor(async () => p.received.length >= 20, { timeoutMs: 10_000, what: 'repeated attempts' })
    const res = await s.get('/metrics')
    expect(res.status).toBe(200)
    expect(sample(res.body, 'redis_up')).toBe(0)
    expect((await s.get('/health/live')).status).toBe(200)
    expect((await s.get('/health/ready')).status).toBe(503)
    expect(s.child.exitCode).toBeNull()
  })
})
