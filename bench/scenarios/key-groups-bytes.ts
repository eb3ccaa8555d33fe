// Keys as bytes (issue 16): a key-group pass SCANs with Buffer replies so a key that is not valid
// UTF-8 keeps its bytes for MEMORY USAGE and its label. What that costs, side by side in one run on
// the same redis-server: an exact pass through the PoolMonitor with callBuffer (what ships) against
// the same PoolMonitor with string replies only (the path before; wrong for non-UTF-8 keys).
// Published figures: bench/results/key-groups-bytes.json
// (BENCH_RESULTS_FILE=bench/results/key-groups-bytes.json npm run bench -- key-groups-bytes).
import pino from 'pino'
import { Registry } from 'prom-client'
import type { RedisCommander } from '../../src/collectors/collector.js'
import { createKeyGroupScanner } from '../../src/collectors/key-groups.js'
import { createPoolMonitor } from '../../src/monitor/pool-monitor.js'
import { startRedis } from '../../test/helpers/redis-server.js'
import { mergeResults } from '../lib/results.js'
import { percentile, round } from '../lib/stats.js'

const KEYS = { market: 60_000, candles: 40_000 }
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7)
const silent = pino({ level: 'silent' })
const median = (values: number[]) => percentile(values, 50)

const redis = await startRedis({ args: ['--enable-debug-command', 'yes'] })
const monitor = createPoolMonitor({
  redis: { host: redis.host, port: redis.port },
  registry: new Registry(),
  logger: silent,
  probeIntervalMs: 0,
})
try {
  for (const [prefix, n] of Object.entries(KEYS)) await redis.cli('DEBUG', 'POPULATE', String(n), prefix)
  // Every pooled connection up (a pass spreads over them; without an offline queue a command on
  // one still connecting fails): one warm-up pass, retried until it succeeds, not measured.
  for (let attempt = 0; ; attempt++) {
    const warmUp = createKeyGroupScanner(monitor, silent, { patterns: ['market:*'] })
    const ok = await warmUp.runPass().then(
      () => true,
      () => false,
    )
    warmUp.close()
    if (ok) break
    if (attempt === 50) throw new Error('the pool never came up')
    await new Promise((r) => setTimeout(r, 100))
  }
  // The same pool without callBuffer: the scanner falls back to UTF-8 string replies.
  const strings: RedisCommander = {
    call: (command, ...args) => monitor.call(command, ...args),
    pipeline: (commands) => monitor.pipeline(commands),
  }
  const sides = { bytes: monitor as RedisCommander, strings }
  const ms: Record<keyof typeof sides, number[]> = { bytes: [], strings: [] }
  const options = { patterns: ['market:*', 'candles:*'], auto: true }
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate who goes first, so a noisy neighbour hits both alike.
    const order = round % 2 === 0 ? (['bytes', 'strings'] as const) : (['strings', 'bytes'] as const)
    for (const side of order) {
      const scanner = createKeyGroupScanner(sides[side], silent, options)
      const started = performance.now()
      const result = await scanner.runPass()
      ms[side].push(performance.now() - started)
      scanner.close()
      if (result.sampledFraction !== 1) throw new Error(`${side}: the pass was not exact`)
    }
  }
  const figures = {
    key_groups_bytes: {
      keys: Object.values(KEYS).reduce((a, b) => a + b, 0),
      rounds: ROUNDS,
      exact_pass_ms_median: {
        buffer_replies: round(median(ms.bytes)),
        string_replies: round(median(ms.strings)),
      },
      ratio_buffer_over_string: round(median(ms.bytes) / median(ms.strings), 2),
    },
  }
  mergeResults('key_groups_bytes', figures)
  console.log(JSON.stringify(figures, null, 2))
} finally {
  await monitor.close()
  await redis.stop()
}
