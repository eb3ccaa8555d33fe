import { spawn } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, type RedisServer, startRedis } from '../helpers/redis-server.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'

// The service runs under a low `ulimit -n` set by a shell in between: each accepted HTTP connection
// holds a descriptor, and without a cap a flood of sockets used to exhaust them (under-pressure's
// memory sampler then threw EMFILE from a timer and the process died).

/** Opens `count` sockets to the port, each sending `request` (or nothing: idle). */
async function flood(port: number, count: number, request?: string) {
  const sockets: Socket[] = []
  let settled = 0
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.once('connect', () => {
      settled++
      if (request) socket.write(request)
    })
    socket.once('close', () => settled++)
    socket.on('data', () => {})
    sockets.push(socket)
  }
  await waitFor(() => settled >= count, { timeoutMs: 30_000, what: `${count} sockets to connect or close` })
  return {
    end() {
      for (const socket of sockets) socket.destroy()
    },
  }
}

/**
 * The same flood from a child node process under `ulimit -n 6000`: 5,000 sockets need more
 * descriptors than a test runner may have (1024 is a common soft limit), and the child raises its
 * own, so the test runs whatever the runner's limit is. `end()` kills it: the kernel closes them all.
 */
async function floodFromChild(port: number, count: number, request: string) {
  const script = `
    const net = require('node:net')
    const [port, count, request] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]]
    let settled = 0
    const done = () => { if (++settled === count) process.stdout.write('settled\\n') }
    for (let i = 0; i < count; i++) {
      const socket = net.connect(port, '127.0.0.1')
      socket.on('error', () => {})
      socket.once('connect', () => { socket.write(request); done() })
      socket.once('close', done)
      socket.on('data', () => {})
    }
    setInterval(() => {}, 60_000)`
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'ulimit -n 6000 && exec "$0" "$@"',
      process.execPath,
      '-e',
      script,
      String(port),
      String(count),
      request,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise((resolve) => child.once('close', resolve))
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the flood process exited ${child.exitCode}: ${err}`)
      return out.includes('settled')
    },
    { timeoutMs: 30_000, what: `${count} sockets to connect or close (${err})` },
  )
  return {
    async end() {
      child.kill('SIGKILL')
      await exited
    },
  }
}

async function timedGet(port: number, path: string) {
  const started = performance.now()
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(15_000) })
  const body = await res.text()
  return { status: res.status, body, ms: performance.now() - started }
}

const lines = (s: ServiceProcess) =>
  s
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown })

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
}, 30_000)
afterAll(async () => {
  await redis?.stop()
})

describe('under ulimit -n 1024 with the default MAX_CONNECTIONS', () => {
  let service: ServiceProcess
  let healthPort: number
  beforeAll(async () => {
    healthPort = await freePort()
    service = await runService({
      openFilesLimit: 1024,
      env: { REDIS_URL: redis.url, HEALTH_PORT: String(healthPort) },
    })
  }, 30_000)
  afterAll(async () => {
    await service?.stop()
  })

  it('caps HTTP connections at half the limit (512) and says so at start', () => {
    const ready = lines(service).find((l) => l.msg === 'redis-pool-monitor ready')
    expect(ready).toMatchObject({ maxConnections: 512, healthPort })
  })

  it('survives 5,000 connections asking for /metrics, answers HEALTH_PORT during it and /health/live within 1 s after', async () => {
    const attack = await floodFromChild(
      service.port,
      5_000,
      'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n',
    )
    try {
      const during = await timedGet(healthPort, '/health/live')
      expect(during.status).toBe(200)
      expect(JSON.parse(during.body)).toEqual({ status: 'ok' })
    } finally {
      await attack.end()
    }
    // The contract's own bound for the main port once the flood is over.
    const after = await timedGet(service.port, '/health/live')
    expect(after.status).toBe(200)
    expect(after.ms).toBeLessThan(1_000)
    expect((await timedGet(service.port, '/metrics')).body).toContain('redis_up 1')
    expect(service.child.exitCode).toBeNull()
    expect(lines(service).filter((l) => l.msg === 'out of file descriptors')).toEqual([])
  }, 60_000)

  it('holds 64 connections at most on HEALTH_PORT: a 65th is closed at accept, and it serves again once they go', async () => {
    const held = await flood(healthPort, 64)
    try {
      const extra = connect(healthPort, '127.0.0.1')
      let answered = false
      extra.on('error', () => {})
      extra.on('data', () => {
        answered = true
      })
      extra.once('connect', () => extra.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n'))
      await new Promise<void>((resolve) => extra.once('close', () => resolve()))
      expect(answered).toBe(false)
    } finally {
      held.end()
    }
    await waitFor(async () => (await timedGet(healthPort, '/health/live')).status === 200, {
      what: 'HEALTH_PORT serving again',
    })
  })

  it('serves only /health, /health/live and /health/ready on HEALTH_PORT', async () => {
    for (const path of ['/health', '/health/live', '/health/ready']) {
      expect((await timedGet(healthPort, path)).status, path).toBe(200)
    }
    for (const path of ['/metrics', '/status', '/status/history', '/', '/scrape?target=127.0.0.1:6379']) {
      const res = await timedGet(healthPort, path)
      expect(res.status, path).toBe(404)
      expect(JSON.parse(res.body), path).toMatchObject({ statusCode: 404, error: 'Not Found' })
    }
  })

  it('still stops cleanly (exit 0) on SIGTERM', async () => {
    expect(await service.stop()).toEqual({ code: 0, signal: null })
  })
})

describe('with MAX_CONNECTIONS set above what ulimit -n 256 allows', () => {
  let service: ServiceProcess
  beforeAll(async () => {
    service = await runService({
      openFilesLimit: 256,
      env: { REDIS_URL: redis.url, MAX_CONNECTIONS: '1000', MAX_EVENT_LOOP_DELAY_MS: '0' },
    })
  }, 30_000)
  afterAll(async () => {
    await service?.stop()
  })

  it('warns at start that the cap leaves too few descriptors', () => {
    expect(lines(service).find((l) => l.level === 40 && /MAX_CONNECTIONS/.test(l.msg))).toMatchObject({
      maxConnections: 1000,
      openFilesLimit: 256,
    })
  })

  it('catches EMFILE while descriptors run out, logs it once, and serves again once they are back', async () => {
    const idle = await flood(service.port, 400)
    try {
      // The memory sampler runs every second: it meets EMFILE while the sockets are held.
      await waitFor(() => lines(service).some((l) => l.msg === 'out of file descriptors'), {
        timeoutMs: 10_000,
        what: 'the EMFILE to be logged',
      })
    } finally {
      idle.end()
    }
    await waitFor(() => lines(service).some((l) => l.msg === 'file descriptors available again'), {
      timeoutMs: 10_000,
      what: 'the recovery to be logged',
    })
    expect(service.child.exitCode).toBeNull()
    expect((await timedGet(service.port, '/health/live')).status).toBe(200)
    expect(lines(service).filter((l) => l.msg === 'out of file descriptors')).toHaveLength(1)
    expect(await service.stop()).toEqual({ code: 0, signal: null })
  }, 60_000)
})
