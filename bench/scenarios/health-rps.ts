// GET /health/live of the real service against a bare Fastify route, same machine, same run.
// - health_rps_ratio_vs_bare_fastify: mean req/s of ours / bare over interleaved rounds (target >= 0.9)
// Both servers run as child processes (autocannon stays in this one), one redis-server behind ours.
import { freePort, startRedis } from '../../test/helpers/redis-server.js'
import { waitForHttp } from '../lib/processes.js'
import { mergeResults } from '../lib/results.js'
import { launchBareFastify, launchService, serviceNodeFlags, serviceNodeVersion } from '../lib/service.js'
import { round } from '../lib/stats.js'

const ROUNDS = Number(process.env['BENCH_HEALTH_ROUNDS'] ?? 8)
const SECONDS = Number(process.env['BENCH_HEALTH_SECONDS'] ?? 3)
const CONNECTIONS = Number(process.env['BENCH_HEALTH_CONNECTIONS'] ?? 32)

interface Result {
  requests: { average: number }
  non2xx: number
  errors: number
}
// autocannon ships no type declarations; this is the one call shape used here.
const autocannon = (await import('autocannon' as string)).default as (options: {
  url: string
  connections?: number
  duration: number
}) => Promise<Result>

async function load(url: string): Promise<number> {
  const result = (await autocannon({ url, connections: CONNECTIONS, duration: SECONDS })) as Result
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.average
}

const redis = await startRedis()
const ourPort = await freePort()
const barePort = await freePort()
const ours = launchService({
  REDIS_URL: redis.url,
  HOST: '127.0.0.1',
  PORT: String(ourPort),
  LOG_LEVEL: 'warn',
})
// Bare Fastify runs with the same node flags, so the ratio is the service's own cost.
const bare = launchBareFastify(barePort)
const ourUrl = `http://127.0.0.1:${ourPort}/health/live`
const bareUrl = `http://127.0.0.1:${barePort}/health/live`
try {
  await Promise.all([waitForHttp(ourUrl), waitForHttp(bareUrl)])
  // Warm-up: JIT both servers before measuring.
  await Promise.all([autocannon({ url: ourUrl, duration: 1 }), autocannon({ url: bareUrl, duration: 1 })])
  const ourRps: number[] = []
  const bareRps: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate who goes first so a drifting machine affects both alike.
    if (i % 2 === 0) {
      ourRps.push(await load(ourUrl))
      bareRps.push(await load(bareUrl))
    } else {
      bareRps.push(await load(bareUrl))
      ourRps.push(await load(ourUrl))
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  const ratio = mean(ourRps) / mean(bareRps)
  const figures = {
    health_rps_ratio_vs_bare_fastify: round(ratio, 3),
    health_rps_detail: {
      rounds: ROUNDS,
      seconds_per_round: SECONDS,
      connections: CONNECTIONS,
      node_flags: serviceNodeFlags(),
      node: serviceNodeVersion(),
      ours_rps: ourRps.map((r) => Math.round(r)),
      bare_fastify_rps: bareRps.map((r) => Math.round(r)),
    },
  }
  mergeResults('health_rps', figures)
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
} finally {
  await Promise.all([ours.stop(), bare.stop()])
  await redis.stop()
}
