import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CommandIo } from '../../src/views/commands.js'
import { statusCommand } from '../../src/views/commands.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { ENTRY, ROOT } from '../helpers/service-process.js'
import { baseEnv, runView } from './support.js'

const PASSWORD = 'status-view-secret-7f3a'

let redis: RedisServer
let client: Redis
let dir: string

beforeAll(async () => {
  redis = await startRedis()
  client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 0 })
  await client.connect()
  // A password-protected user on the same server: the secret must never show in any output.
  await redis.cli('ACL', 'SETUSER', 'viewer', 'on', `>${PASSWORD}`, '~*', '&*', '+@all')
  dir = mkdtempSync(join(tmpdir(), 'rpm-status-'))
})

afterAll(async () => {
  client?.disconnect()
  await redis?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** A terminal-like stream that records what is written to it. */
function fakeTty(columns = 100): NodeJS.WriteStream & { text(): string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { text(): string }
  let written = ''
  stream.on('data', (chunk: Buffer) => {
    written += chunk.toString('utf8')
  })
  Object.assign(stream, { isTTY: true, columns, rows: 40, text: () => written })
  return stream
}

// The probe's round trip on a loaded 2-core machine can pass the 50 ms latency warning; these tests
// are about other verdicts, so latency only counts when Redis takes seconds to answer.
const RELAXED_LATENCY = ['--status-latency-warning-ms', '2000', '--status-latency-critical-ms', '2500']
const status = (...args: string[]) =>
  runView(['status', '--redis-url', redis.url, ...RELAXED_LATENCY, ...args])

describe('redis-pool-monitor status against a healthy Redis', () => {
  it('prints version, uptime, clients, memory, hit rate, ops/s, keys, latency and OK, and exits 0', async () => {
    await client.set('user:1', 'alice')
    await client.set('user:2', 'bob')
    const result = await status()
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const out = result.stdout
    expect(out).toContain(`redis-pool-monitor status  redis://127.0.0.1:${redis.port}/0`)
    expect(out).toMatch(/^Status\s+OK$/m)
    expect(out).toMatch(/^Redis\s+\d+\.\d+\.\d+, up \d+/m)
    expect(out).toMatch(/^Clients\s+\d+ connected$/m)
    expect(out).toMatch(/^Memory\s+[\d.]+ (KiB|MiB) used \(no maxmemory set\)$/m)
    expect(out).toMatch(/^Hit rate\s+n\/a/m)
    expect(out).toMatch(/^Ops\/s\s+\d+$/m)
    expect(out).toMatch(/^Keys\s+2$/m)
    expect(out).toMatch(/^Latency\s+[\d.]+ ms \(PING\)$/m)
    // Not a terminal: no colour codes in a pipe or a file.
    expect(out).not.toContain('\u001b[')
  })

  it('prints the same snapshot as one JSON object with --json', async () => {
    const uptime = async () => Number(/uptime_in_seconds:(\d+)/.exec(await client.info('server'))?.[1])
    const upBefore = await uptime()
    const result = await status('--json')
    const upAfter = await uptime()
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({
      redis: `redis://127.0.0.1:${redis.port}/0`,
      exit_code: 0,
      available: true,
      status: 'OK',
      reasons: [],
      memory_usage_percent: null,
      hit_rate_percent: null,
      total_keys: 2,
      circuit_breaker_state: 'closed',
      max_memory_bytes: 0,
    })
    expect(report.redis_version).toMatch(/^\d+\.\d+\.\d+$/)
    expect(report.uptime_seconds).toBeGreaterThanOrEqual(upBefore)
    expect(report.uptime_seconds).toBeLessThanOrEqual(upAfter)
    // This test's client and the command's own connection (others may still be closing).
    expect(report.connected_clients).toBeGreaterThanOrEqual(2)
    expect(report.used_memory_bytes).toBeGreaterThan(0)
    expect(report.ops_per_sec).toBeGreaterThanOrEqual(0)
    expect(report.latency_ms).toBeGreaterThan(0)
    expect(result.stdout.trim().split('\n')).toHaveLength(1)
  })

  it('lists key groups with their counts and MEMORY USAGE sums when KEY_GROUPS is set', async () => {
    await client.set('session:1', 'x')
    const result = await status('--key-groups', 'user:*,session:*')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^Key groups\s+\d+/m)
    expect(result.stdout).toMatch(/^\s+user:\*\s+2 keys\s+[\d.]+ (B|KiB)/m)
    expect(result.stdout).toMatch(/^\s+session:\*\s+1 keys/m)
    const json = JSON.parse((await status('--json', '--key-groups', 'user:*,session:*')).stdout)
    const memory = async (...keys: string[]) => {
      let sum = 0
      for (const key of keys) sum += Number(await client.call('MEMORY', 'USAGE', key))
      return sum
    }
    expect(json.key_groups).toEqual([
      { db: 'db0', group: 'user:*', count: 2, memory_bytes: await memory('user:1', 'user:2') },
      { db: 'db0', group: 'session:*', count: 1, memory_bytes: await memory('session:1') },
    ])
  })

  it('labels the key groups of a URL with a database path by that database, as serve does', async () => {
    const db3 = new Redis({ host: redis.host, port: redis.port, db: 3, maxRetriesPerRequest: 0 })
    await db3.set('cart:1', 'x')
    await db3.set('cart:2', 'x')
    const cartBytes =
      Number(await db3.call('MEMORY', 'USAGE', 'cart:1')) +
      Number(await db3.call('MEMORY', 'USAGE', 'cart:2'))
    db3.disconnect()
    const result = await runView([
      'status',
      '--json',
      '--redis-url',
      `${redis.url}/3`,
      '--key-groups',
      'cart:*',
    ])
    expect(JSON.parse(result.stdout).key_groups).toEqual([
      { db: 'db3', group: 'cart:*', count: 2, memory_bytes: cartBytes },
    ])
  })

  it('colours the status word on a terminal, and not with NO_COLOR', async () => {
    const tty = fakeTty()
    const io = { stdout: tty, stderr: fakeTty(), stdin: process.stdin } as unknown as CommandIo
    expect(await statusCommand(['--redis-url', redis.url, ...RELAXED_LATENCY], {}, io)).toBe(0)
    expect(tty.text()).toContain('\u001b[32mOK\u001b[0m')
    expect(tty.text()).toMatch(/^Hit rate/m)

    const plain = fakeTty()
    const plainIo = { stdout: plain, stderr: fakeTty(), stdin: process.stdin } as unknown as CommandIo
    expect(
      await statusCommand(['--redis-url', redis.url, ...RELAXED_LATENCY], { NO_COLOR: '1' }, plainIo),
    ).toBe(0)
    expect(plain.text()).not.toContain('\u001b[')
  })
})

describe('redis-pool-monitor status exit codes', () => {
  it('exits 1 (WARNING) with the reason when the hit rate is between the warning and critical thresholds', async () => {
    await client.call('CONFIG', 'RESETSTAT')
    await client.set('hit', 'yes')
    // 45 hits and 55 misses: 45 % is under the 50 % warning line and over the 40 % critical one.
    const lookups = [
      ...Array.from({ length: 45 }, () => client.get('hit')),
      ...Array.from({ length: 55 }, (_, i) => client.get(`miss:${i}`)),
    ]
    await Promise.all(lookups)
    const result = await status()
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^Status\s+WARNING$/m)
    expect(result.stdout).toContain('  - hit rate 45% < 50%')
    expect(result.stdout).toMatch(/^Hit rate\s+\[[█░]+\] 45\.0%$/m)
    const json = JSON.parse((await status('--json')).stdout)
    expect(json).toMatchObject({ status: 'WARNING', exit_code: 1, hit_rate_percent: 45 })
  })

  it('exits 2 (CRITICAL) on memory when a small maxmemory is filled with data', async () => {
    await client.call('CONFIG', 'RESETSTAT')
    const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1])
    try {
      // A few MiB above what an empty server uses, no eviction: writes fill it until OOM.
      await client.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
      await client.call('CONFIG', 'SET', 'maxmemory', String(used + 4 * 1024 * 1024))
      const value = 'x'.repeat(64 * 1024)
      let oom = false
      for (let i = 0; i < 1_000 && !oom; i++) {
        await client.set(`fill:${i}`, value).catch((err: Error) => {
          if (/OOM/.test(err.message)) oom = true
          else throw err
        })
      }
      expect(oom).toBe(true)

      const result = await status()
      expect(result.code).toBe(2)
      expect(result.stdout).toMatch(/^Status\s+CRITICAL$/m)
      // The memory threshold is what tripped (90 % of maxmemory by default), nothing else.
      expect(result.stdout).toMatch(/^ {2}- memory [\d.]+% of maxmemory >= 90%$/m)
      expect(result.stdout).not.toMatch(/hit rate [\d.]+% </)
      expect(result.stdout).toMatch(/^Memory\s+\[█+░*\] (9\d|1\d\d)\.\d%\s+[\d.]+ MiB of [\d.]+ MiB$/m)
      const json = JSON.parse((await status('--json')).stdout)
      expect(json.status).toBe('CRITICAL')
      expect(json.exit_code).toBe(2)
      expect(json.memory_usage_percent).toBeGreaterThanOrEqual(90)
      expect(json.reasons).toEqual([`memory ${json.memory_usage_percent}% of maxmemory >= 90%`])
    } finally {
      await client.flushall()
      await client.call('CONFIG', 'SET', 'maxmemory', '0')
    }
  })

  it('never prints the password, from the URL or from REDIS_PASSWORD_FILE, right or wrong', async () => {
    const url = `redis://viewer:${PASSWORD}@127.0.0.1:${redis.port}`
    const good = await runView(['status', '--json', '--redis-url', url])
    expect(good.code).toBe(0)
    expect(JSON.parse(good.stdout).redis).toBe(`redis://127.0.0.1:${redis.port}/0`)

    const file = join(dir, 'password')
    writeFileSync(file, `${PASSWORD}\n`)
    const fromFile = await runView(['status'], {
      REDIS_URL: `redis://viewer@127.0.0.1:${redis.port}`,
      REDIS_PASSWORD_FILE: file,
    })
    expect(fromFile.code).toBe(0)

    const wrong = await runView([
      'status',
      '--redis-url',
      `redis://viewer:${PASSWORD}x@127.0.0.1:${redis.port}`,
    ])
    expect(wrong.code).toBe(3)
    expect(wrong.stdout).toMatch(/^Status\s+UNREACHABLE$/m)

    const typo = await runView(['status', `--redis-urll=redis://:${PASSWORD}@127.0.0.1:${redis.port}`])
    expect(typo.code).toBe(3)
    expect(typo.stderr).toBe('redis-pool-monitor status: unknown flag --redis-urll (see --help)\n')

    for (const run of [good, fromFile, wrong, typo]) {
      expect(run.stdout + run.stderr).not.toContain(PASSWORD)
    }
  })

  it('exits 3 with one line on stderr for a bad flag value or a bad setting', async () => {
    const interval = await status('--interval', 'soon')
    expect(interval.code).toBe(3)
    expect(interval.stderr).toBe(
      'redis-pool-monitor status: --interval expects a number of seconds from 0.2 to 3600\n',
    )
    const url = await runView(['status', '--redis-url', 'http://example'])
    expect(url.code).toBe(3)
    expect(url.stderr).toMatch(/^redis-pool-monitor status: invalid configuration: REDIS_URL expects .*\n$/)
  })

  it('prints a snapshot every --interval with --watch (at least two before SIGINT), then exits 0 with the last code', async () => {
    const child = spawn(
      process.execPath,
      [
        ENTRY,
        'status',
        '--watch',
        '--json',
        '--interval',
        '0.5',
        '--redis-url',
        redis.url,
        // As in status(): the verdict under test is OK, not the loaded machine's probe latency.
        ...RELAXED_LATENCY,
      ],
      { cwd: ROOT, env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
    const deadline = Date.now() + 15_000
    while (out.split('\n').filter(Boolean).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
    }
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    const lines = out.split('\n').filter(Boolean)
    expect(lines.length).toBeGreaterThanOrEqual(2)
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ status: 'OK', exit_code: 0 })
  })

  it('exits 3 within a few seconds when Redis is frozen (SIGSTOP)', async () => {
    redis.pause()
    try {
      const result = await status('--timeout', '2')
      expect(result.code).toBe(3)
      expect(result.stdout).toMatch(/^Status\s+UNREACHABLE$/m)
      expect(result.elapsedMs).toBeLessThan(10_000)
    } finally {
      redis.resume()
    }
  })

  it('exits 3 within a few seconds when Redis is down, in text and in JSON', async () => {
    client.disconnect()
    await redis.kill()
    const text = await status()
    expect(text.code).toBe(3)
    expect(text.stdout).toMatch(/^Status\s+UNREACHABLE$/m)
    expect(text.stdout).toMatch(/ECONNREFUSED|connection/)
    expect(text.elapsedMs).toBeLessThan(10_000)

    const json = await status('--json')
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stdout)).toMatchObject({ available: false, exit_code: 3, status: 'CRITICAL' })
    expect(JSON.parse(json.stdout).error).toMatch(/connect/i)
  })
})
