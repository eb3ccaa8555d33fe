// Issue 7: this service against oliver006/redis_exporter on the same Redis, in the same run.
// The service runs as the image runs it (the Dockerfile's CMD with its node flags; BENCH_NODE picks
// another node binary).
// - scrape_p50_ratio_vs_redis_exporter: warm /metrics p50 of ours / theirs, interleaved scrapes, the
//   service as deployed (its probes and server stats, no synthetic load inside it)
// - rss_mb: resident memory after BENCH_RSS_SECONDS (default 300) of scrapes plus the synthetic load
//   through the pool, the median of one reading a second over the last minute (rss_mb_max: the
//   largest); rss_mb_without_node_flags: the same service run without the image's flags;
//   rss_mb_bare_fastify: a bare Fastify app on the same node and flags, the floor under any of it
// - blackhole_scrape_seconds: Redis frozen (SIGSTOP), time to an answer with a 5 s scrape budget header
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, startRedis } from '../../test/helpers/redis-server.js'
import { barChartSvg } from '../lib/chart.js'
import { launch, rssMb, waitForHttp } from '../lib/processes.js'
import { mergeResults, RESULTS_FILE } from '../lib/results.js'
import { launchBareFastify, launchService, serviceNodeFlags, serviceNodeVersion } from '../lib/service.js'
import { percentile, round } from '../lib/stats.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SCRAPES = Number(process.env['BENCH_SCRAPES'] ?? 300)
// The report's chart; a run writing its figures elsewhere (BENCH_RESULTS_FILE) draws beside them.
const CHART_FILE = process.env['BENCH_RESULTS_FILE']
  ? RESULTS_FILE.replace(/(\.json)?$/, '.svg')
  : join(root, 'docs', 'benchmarks.svg')
const RSS_SECONDS = Number(process.env['BENCH_RSS_SECONDS'] ?? 300)
const RSS_WINDOW_SECONDS = 60
const BLACKHOLE_CAP_SECONDS = 30

async function scrape(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<number> {
  const start = performance.now()
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) })
  await res.arrayBuffer()
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`)
  return (performance.now() - start) / 1000
}

/** One scrape's outcome: seconds to a 200, or why there was none (never a made-up duration). */
type Answer = { ok: true; seconds: number } | { ok: false; seconds: number; failure: string }

async function timeToAnswer(url: string, headers: Record<string, string>): Promise<Answer> {
  const start = performance.now()
  const elapsed = () => (performance.now() - start) / 1000
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(BLACKHOLE_CAP_SECONDS * 1000) })
    await res.arrayBuffer()
    if (res.status !== 200) return { ok: false, seconds: elapsed(), failure: `HTTP ${res.status}` }
    return { ok: true, seconds: elapsed() }
  } catch (err) {
    const name = (err as Error).name
    const failure =
      name === 'TimeoutError'
        ? `no answer within ${BLACKHOLE_CAP_SECONDS} s`
        : `${name}: ${(err as Error).message}`
    return { ok: false, seconds: elapsed(), failure }
  }
}

/** The figure of an answer: its seconds when it succeeded, null (a failure, not a duration) otherwise. */
const answered = (a: Answer) => (a.ok ? round(a.seconds) : null)
const failure = (a: Answer) => (a.ok ? null : `${a.failure} after ${round(a.seconds)} s`)

const redis = await startRedis({ args: ['--enable-debug-command', 'yes'] })
try {
  // A realistic keyspace: several prefixes and two databases.
  for (const prefix of ['session', 'user', 'market', 'candles'])
    await redis.cli('DEBUG', 'POPULATE', '25000', prefix)
  await redis.cli('-n', '1', 'DEBUG', 'POPULATE', '10000', 'cache')

  /** The service as the image runs it (or without its node flags), listening on a free port. */
  async function startOurs(env: Record<string, string>, options: { plainNode?: boolean } = {}) {
    const port = await freePort()
    const service = launchService(
      { ...env, REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' },
      options,
    )
    const url = `http://127.0.0.1:${port}/metrics`
    await waitForHttp(url)
    return { service, url }
  }

  const theirPort = await freePort()
  const theirs = launch('prometheus-redis-exporter', [
    `-redis.addr=redis://127.0.0.1:${redis.port}`,
    `-web.listen-address=127.0.0.1:${theirPort}`,
  ])
  const theirUrl = `http://127.0.0.1:${theirPort}/metrics`
  await waitForHttp(theirUrl)

  // Scrape latency: the service as deployed (probes and server stats, no synthetic load in it).
  const scraped = await startOurs({})
  const ourUrl = scraped.url
  for (let i = 0; i < 20; i++) await Promise.all([scrape(ourUrl), scrape(theirUrl)])
  const ourTimes: number[] = []
  const theirTimes: number[] = []
  for (let i = 0; i < SCRAPES; i++) {
    // Alternate who goes first so neither always scrapes a just-warmed Redis.
    if (i % 2 === 0) {
      ourTimes.push(await scrape(ourUrl))
      theirTimes.push(await scrape(theirUrl))
    } else {
      theirTimes.push(await scrape(theirUrl))
      ourTimes.push(await scrape(ourUrl))
    }
  }
  const ourP50 = percentile(ourTimes, 50)
  const theirP50 = percentile(theirTimes, 50)
  await scraped.service.stop()

  // Memory: a fresh service with the synthetic workload running through its pool, scraped every
  // second beside redis_exporter, then the RSS of each. A second copy without the image's node
  // flags runs beside it, to show what the flags are worth.
  const loaded = await startOurs({ BENCH_POOL_LOAD: '1' })
  const plain = await startOurs({ BENCH_POOL_LOAD: '1' }, { plainNode: true })
  // The floor: bare Fastify on the same node and flags, probed every second, holds this much
  // before any Redis client, metric or collector is loaded.
  const barePort = await freePort()
  const bare = launchBareFastify(barePort)
  const bareUrl = `http://127.0.0.1:${barePort}/health/live`
  await waitForHttp(bareUrl)
  // One RSS reading lands wherever the heap happens to be between two collections (it moved by
  // about 6 MB between runs); the figure is the median of one reading a second over the final
  // RSS_WINDOW_SECONDS, with the largest reading beside it.
  const rssDeadline = Date.now() + RSS_SECONDS * 1000
  const windowStart = rssDeadline - Math.min(RSS_WINDOW_SECONDS, RSS_SECONDS) * 1000
  const readings = {
    ours: [] as number[],
    theirs: [] as number[],
    plain: [] as number[],
    bare: [] as number[],
  }
  while (Date.now() < rssDeadline) {
    await Promise.all([
      scrape(loaded.url),
      scrape(theirUrl),
      scrape(plain.url),
      scrape(bareUrl),
      new Promise((r) => setTimeout(r, 1000)),
    ])
    if (Date.now() >= windowStart) {
      readings.bare.push(rssMb(bare.child.pid!))
      readings.ours.push(rssMb(loaded.service.child.pid!))
      readings.theirs.push(rssMb(theirs.child.pid!))
      readings.plain.push(rssMb(plain.service.child.pid!))
    }
  }
  const ourRss = percentile(readings.ours, 50)
  const theirRss = percentile(readings.theirs, 50)
  const plainRss = percentile(readings.plain, 50)
  const bareRss = percentile(readings.bare, 50)
  await bare.stop()
  await plain.service.stop()

  // Blackhole: the first scrape after Redis freezes is the worst one.
  const budget = { 'X-Prometheus-Scrape-Timeout-Seconds': '5' }
  redis.pause()
  const [ourBlackhole, theirBlackhole] = await Promise.all([
    timeToAnswer(loaded.url, budget),
    timeToAnswer(theirUrl, budget),
  ])
  redis.resume()

  await Promise.all([loaded.service.stop(), theirs.stop()])

  const figures = {
    scrape_p50_ratio_vs_redis_exporter: round(ourP50 / theirP50),
    scrape_p50_ms: { ours: round(ourP50 * 1000), redis_exporter: round(theirP50 * 1000) },
    scrape_p99_ms: {
      ours: round(percentile(ourTimes, 99) * 1000),
      redis_exporter: round(percentile(theirTimes, 99) * 1000),
    },
    scrapes_each: SCRAPES,
    blackhole_scrape_seconds: answered(ourBlackhole),
    blackhole_scrape_seconds_redis_exporter: answered(theirBlackhole),
    blackhole_failure: failure(ourBlackhole),
    blackhole_failure_redis_exporter: failure(theirBlackhole),
    blackhole_cap_seconds: BLACKHOLE_CAP_SECONDS,
    rss_mb: round(ourRss, 1),
    rss_mb_max: round(Math.max(...readings.ours), 1),
    rss_mb_redis_exporter: round(theirRss, 1),
    rss_mb_redis_exporter_max: round(Math.max(...readings.theirs), 1),
    rss_mb_without_node_flags: round(plainRss, 1),
    rss_mb_bare_fastify: round(bareRss, 1),
    service_node_flags: serviceNodeFlags(),
    service_node: serviceNodeVersion(),
    rss_after_seconds: RSS_SECONDS,
    rss_median_of_last_seconds: Math.min(RSS_WINDOW_SECONDS, RSS_SECONDS),
  }
  mergeResults('exporter_compare', figures)
  console.table({
    'scrape p50 (ms)': figures.scrape_p50_ms,
    'scrape p99 (ms)': figures.scrape_p99_ms,
    'frozen Redis, 5 s budget (s)': {
      ours: figures.blackhole_scrape_seconds ?? figures.blackhole_failure,
      redis_exporter:
        figures.blackhole_scrape_seconds_redis_exporter ?? figures.blackhole_failure_redis_exporter,
    },
    'RSS (MB)': { ours: figures.rss_mb, redis_exporter: figures.rss_mb_redis_exporter },
  })
  console.log(`RSS of bare Fastify on the same node and flags: ${figures.rss_mb_bare_fastify} MB`)
  console.log(
    `RSS without the image's node flags (${figures.service_node_flags.join(' ')}): ${figures.rss_mb_without_node_flags} MB`,
  )
  writeFileSync(
    CHART_FILE,
    barChartSvg(
      'redis-pool-monitor vs redis_exporter (lower is better)',
      ['redis-pool-monitor', 'redis_exporter'],
      [
        {
          label: 'scrape p50 (ms)',
          values: [figures.scrape_p50_ms.ours, figures.scrape_p50_ms.redis_exporter],
        },
        {
          label: 'scrape p99 (ms)',
          values: [figures.scrape_p99_ms.ours, figures.scrape_p99_ms.redis_exporter],
        },
        // A failed scrape has no duration to draw: its bar sits at the cap, the table says it failed.
        {
          label: 'frozen Redis scrape (s; no answer drawn at the cap)',
          values: [ourBlackhole, theirBlackhole].map((a) => (a.ok ? a.seconds : BLACKHOLE_CAP_SECONDS)),
        },
        { label: 'RSS (MB)', values: [ourRss, theirRss] },
      ],
      '',
    ),
  )
} finally {
  await redis.stop()
}
