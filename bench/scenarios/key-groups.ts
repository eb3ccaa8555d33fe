// Issue 4: key distribution on 1M keys, this collector against redis_exporter --check-key-groups,
// on the same redis-server in the same run: time to a complete answer and the longest Redis stall
// each caused (from the slow log, which records every command slower than 1 ms).
import { Redis } from 'ioredis'
import pino from 'pino'
import { createKeyGroupScanner } from '../../src/collectors/key-groups.js'
import { freePort, startRedis } from '../../test/helpers/redis-server.js'
import { launch, waitForHttp } from '../lib/processes.js'
import { mergeResults } from '../lib/results.js'
import { round } from '../lib/stats.js'

const GROUPS = { market: 600_000, candles: 300_000, session: 100_000 }
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)

const redis = await startRedis({
  args: ['--enable-debug-command', 'yes', '--slowlog-log-slower-than', '1000', '--slowlog-max-len', '100000'],
})
const client = new Redis({ host: redis.host, port: redis.port })

/** Longest slow-log entry (ms) since the last reset, 0 when nothing took over 1 ms. */
async function longestStallMs(): Promise<number> {
  const entries = (await client.call('SLOWLOG', 'GET', '-1')) as unknown[][]
  return entries.reduce((max, e) => Math.max(max, Number(e[2]) / 1000), 0)
}

try {
  for (const [prefix, n] of Object.entries(GROUPS)) await redis.cli('DEBUG', 'POPULATE', String(n), prefix)
  const truth = Object.values(GROUPS).reduce((a, b) => a + b, 0)

  const port = await freePort()
  const exporter = launch('prometheus-redis-exporter', [
    `-redis.addr=redis://127.0.0.1:${redis.port}`,
    `-web.listen-address=127.0.0.1:${port}`,
    `-check-key-groups=${Object.keys(GROUPS)
      .map((p) => `^(${p}):`)
      .join(',')}`,
    '-redis-only-metrics',
  ])
  await waitForHttp(`http://127.0.0.1:${port}/health`)

  const ours: Array<{ seconds: number; stallMs: number; error: number }> = []
  const theirs: Array<{ seconds: number; stallMs: number }> = []
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    await client.call('SLOWLOG', 'RESET')
    const scanner = createKeyGroupScanner(client, pino({ level: 'silent' }), {
      patterns: Object.keys(GROUPS).map((p) => `${p}:*`),
    })
    const result = await scanner.runPass()
    scanner.close()
    const counted = result.groups.reduce((n, g) => n + g.count, 0)
    ours.push({
      seconds: result.durationMs / 1000,
      stallMs: await longestStallMs(),
      error: Math.abs(counted - truth) / truth,
    })

    await client.call('SLOWLOG', 'RESET')
    const started = performance.now()
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(600_000) })
    const text = await res.text()
    if (!text.includes('redis_key_group_count')) throw new Error('redis_exporter returned no key groups')
    theirs.push({ seconds: (performance.now() - started) / 1000, stallMs: await longestStallMs() })
  }
  await exporter.stop()

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const ourSeconds = median(ours.map((r) => r.seconds))
  const theirSeconds = median(theirs.map((r) => r.seconds))
  const figures = {
    key_groups_speedup_vs_redis_exporter: round(theirSeconds / ourSeconds, 2),
    key_groups_detail: {
      keys: truth,
      rounds: ROUNDS,
      seconds_to_answer: { ours: round(ourSeconds), redis_exporter: round(theirSeconds) },
      longest_redis_stall_ms: {
        ours: round(Math.max(...ours.map((r) => r.stallMs))),
        redis_exporter: round(Math.max(...theirs.map((r) => r.stallMs))),
      },
      our_count_error_percent: round(Math.max(...ours.map((r) => r.error)) * 100, 2),
    },
  }
  mergeResults('key_groups', figures)
  console.table(figures.key_groups_detail)
  console.log('key_groups_speedup_vs_redis_exporter', figures.key_groups_speedup_vs_redis_exporter)
} finally {
  client.disconnect()
  await redis.stop()
}
