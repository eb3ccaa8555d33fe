import { Redis } from 'ioredis'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeKey, keyLabel } from '../../src/collectors/key-bytes.js'
import { createKeyGroupScanner } from '../../src/collectors/key-groups.js'
import { createServerStats } from '../../src/collectors/server-stats.js'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import type { PoolMonitor } from '../../src/monitor/types.js'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { histogramCount } from '../monitor/support.js'

const silent = pino({ level: 'silent' })
const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))))

describe('decodeKey and keyLabel', () => {
  it('leave valid UTF-8 (Korean included) exactly as UTF-8 decoding does', () => {
    const key = bytes('사용자:42:세션')
    expect(decodeKey(key)).toBe('사용자:42:세션')
    expect(keyLabel(decodeKey(key))).toBe('사용자:42:세션')
  })

  it('keep every invalid byte distinct and write it \\xNN in the label, valid sequences around it intact', () => {
    // 0xed 0x95 is '한' (ed 95 9c) cut short; 0xff and 0xfe never occur in UTF-8.
    const decoded = [bytes([0xff], ':1'), bytes([0xfe], ':1'), bytes('키', [0xed, 0x95], '값')].map(decodeKey)
    expect(new Set(decoded).size).toBe(3)
    expect(decoded.map(keyLabel)).toEqual(['\\xff:1', '\\xfe:1', '키\\xed\\x95값'])
  })
})

describe('key groups of keys that are not valid UTF-8, against a real redis-server', () => {
  let redis: RedisServer
  let client: Redis
  let monitor: PoolMonitor
  let registry: Registry
  /** MEMORY USAGE of each key, asked with its own bytes. */
  const memoryOf = async (keys: Buffer[]) => {
    let sum = 0
    for (const key of keys) sum += Number(await client.call('MEMORY', 'USAGE', key))
    return sum
  }
  const range = (n: number, key: (i: number) => Buffer) => Array.from({ length: n }, (_, i) => key(i))
  // 30 keys `bin:\xff\xfe<i>`, 12 `\xff:<i>` and 7 `\xfe:<i>` (one U+FFFD group before the fix),
  // 20 Korean keys `사용자:<i>` and 5 `세션:<i>`.
  const binKeys = range(30, (i) => bytes('bin:', [0xff, 0xfe], String(i)))
  const ffKeys = range(12, (i) => bytes([0xff], `:${i}`))
  const feKeys = range(7, (i) => bytes([0xfe], `:${i}`))
  const userKeys = range(20, (i) => bytes(`사용자:${i}`))
  const sessionKeys = range(5, (i) => bytes(`세션:${i}`))

  beforeAll(async () => {
    redis = await startRedis()
    client = new Redis({ port: redis.port, host: redis.host, maxRetriesPerRequest: 1 })
    registry = new Registry()
    monitor = createPoolMonitor({
      redis: { host: redis.host, port: redis.port },
      registry,
      logger: silent,
      size: 2,
      probeIntervalMs: 0,
    })
    for (const key of [...binKeys, ...ffKeys, ...feKeys, ...userKeys, ...sessionKeys])
      await client.set(key, Buffer.alloc(200, 0xab))
  })
  afterAll(async () => {
    await monitor.close()
    client.disconnect()
    await redis.stop()
  })

  it('PoolMonitor.callBuffer answers bulk replies byte for byte, timed under the command like call()', async () => {
    const before = await histogramCount(registry, 'redis_operation_duration_seconds', { command: 'scan' })
    const [cursor, keys] = (await monitor.callBuffer('SCAN', '0', 'MATCH', 'bin:*', 'COUNT', 1000)) as [
      Buffer,
      Buffer[],
    ]
    expect(Buffer.isBuffer(cursor)).toBe(true)
    // One SCAN call may stop early on a larger table; this one holds 74 keys, all in one pass.
    expect(String(cursor)).toBe('0')
    expect(keys.map((k) => k.toString('hex')).sort()).toEqual(binKeys.map((k) => k.toString('hex')).sort())
    expect(await monitor.callBuffer('GET', binKeys[0]!)).toEqual(Buffer.alloc(200, 0xab))
    expect(await histogramCount(registry, 'redis_operation_duration_seconds', { command: 'scan' })).toBe(
      before + 1,
    )
    await expect(monitor.callBuffer('INCR', binKeys[0]!)).rejects.toMatchObject({ code: 'RPM_REPLY' })
  })

  it('through the PoolMonitor: exact counts, memory from MEMORY USAGE of the raw bytes, labels escaped', async () => {
    const scanner = createKeyGroupScanner(monitor, silent, {
      patterns: ['bin:*', '사용자:*'],
      auto: true,
    })
    const { groups, sampledFraction } = await scanner.runPass()
    scanner.close()
    expect(sampledFraction).toBe(1)
    const sorted = [...groups].sort((a, b) => a.group.localeCompare(b.group))
    expect(sorted).toEqual(
      [
        { group: 'bin:*', count: 30, memoryBytes: await memoryOf(binKeys) },
        { group: '사용자:*', count: 20, memoryBytes: await memoryOf(userKeys) },
        { group: '세션:*', count: 5, memoryBytes: await memoryOf(sessionKeys) },
        { group: '\\xfe:*', count: 7, memoryBytes: await memoryOf(feKeys) },
        { group: '\\xff:*', count: 12, memoryBytes: await memoryOf(ffKeys) },
      ].sort((a, b) => a.group.localeCompare(b.group)),
    )
    for (const g of groups) expect(g.memoryBytes, g.group).toBeGreaterThan(0)
  })

  it('exposes the escaped groups in redis_key_group_* as valid UTF-8 labels, no U+FFFD anywhere', async () => {
    const metrics = new Registry()
    const stats = createServerStats({
      redis: monitor,
      registry: metrics,
      logger: silent,
      keyGroups: { patterns: ['bin:*'], auto: true, intervalMs: 60_000 },
    })
    stats.start()
    try {
      const deadline = Date.now() + 10_000
      while (!/redis_key_group_count\{/.test(await metrics.metrics()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50))
      const count = (await metrics.getSingleMetric('redis_key_group_count')!.get()).values
      const memory = (await metrics.getSingleMetric('redis_key_group_memory_usage_bytes')!.get()).values
      const of = (values: typeof count, group: string) =>
        values.find((v) => v.labels['key_group'] === group)?.value
      expect(of(count, '\\xff:*')).toBe(12)
      expect(of(count, '\\xfe:*')).toBe(7)
      expect(of(count, 'bin:*')).toBe(30)
      expect(of(count, '사용자:*')).toBe(20)
      expect(of(memory, '\\xff:*')).toBe(await memoryOf(ffKeys))
      expect(of(memory, 'bin:*')).toBe(await memoryOf(binKeys))
      const text = await metrics.metrics()
      expect(text).not.toContain('\ufffd')
      // The exposition format escapes the label's backslash once more.
      expect(text).toContain('redis_key_group_count{db="db0",key_group="\\\\xff:*"} 12')
      expect(text).toContain('redis_key_group_count{db="db0",key_group="사용자:*"} 20')
    } finally {
      await stats.close()
    }
  })
})
