// Issue 18: what HISTORY_FILE costs.
// - metrics_p50_ratio_history_on: warm /metrics p50 of the service writing history to an SQLite file
//   at the default interval (5 s) / the same service keeping history in memory (today's default),
//   scrapes interleaved in one run for BENCH_HISTORY_SECONDS (default 120); target <= 1.02
// - metrics_p50_ratio_off_vs_off: two identical memory-only services, the noise floor of the ratios
// - metrics_p50_ratio_history_100ms: the same with a sample every 100 ms (50 times the default), an
//   upper bound on what the writes could cost the request path
// - file size per day at the default interval, and after 7 days with the default retention (steady
//   state), from a file written the way the service writes it; commit_us: event-loop time per sample
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, startRedis } from '../../test/helpers/redis-server.js'
import { waitForHttp } from '../lib/processes.js'
import { mergeResults, RESULTS_FILE } from '../lib/results.js'
import { launchService, serviceNode, serviceNodeVersion } from '../lib/service.js'
import { percentile, round } from '../lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const SECONDS = Number(process.env['BENCH_HISTORY_SECONDS'] ?? 120)
const DEFAULT_INTERVAL_MS = 5000
const RETENTION_DAYS = 7

const node = serviceNode()
const probe = spawnSync(node, ['-e', "process.exit(process.getBuiltinModule?.('node:sqlite') ? 0 : 1)"])
if (probe.status !== 0) {
  const reason = `${serviceNodeVersion()} has no node:sqlite; run with BENCH_NODE=<a Node 22.13+ or 24 binary>`
  process.stdout.write(`history: skipped, ${reason}\n`)
  mergeResults('history', { history_skipped: reason })
  process.exit(0)
}

async function scrape(url: string): Promise<number> {
  const start = performance.now()
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) })
  await res.arrayBuffer()
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`)
  return (performance.now() - start) / 1000
}

const dir = mkdtempSync(join(tmpdir(), 'rpm-bench-history-'))
const redis = await startRedis({ args: ['--enable-debug-command', 'yes'] })
try {
  await redis.cli('DEBUG', 'POPULATE', '50000', 'session')

  async function start(env: Record<string, string>) {
    const port = await freePort()
    const service = launchService({
      ...env,
      REDIS_URL: redis.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    })
    const url = `http://127.0.0.1:${port}/metrics`
    await waitForHttp(url)
    return { service, url, base: `http://127.0.0.1:${port}` }
  }
  const files = { on: join(dir, 'default.db'), fast: join(dir, 'fast.db') }
  const off = await start({})
  // A second identical memory-only service: off2 / off is this machine's noise floor for the ratios.
  const off2 = await start({})
  const on = await start({ HISTORY_FILE: files.on })
  const fast = await start({ HISTORY_FILE: files.fast, STATUS_HISTORY_INTERVAL_MS: '100' })
  const sides = [off, off2, on, fast]
  for (let i = 0; i < 30; i++) for (const s of sides) await scrape(s.url)

  const times = sides.map(() => [] as number[])
  const deadline = Date.now() + SECONDS * 1000
  // Rotate who goes first so no side always meets a just-warmed Redis.
  for (let round_ = 0; Date.now() < deadline; round_++) {
    for (let k = 0; k < sides.length; k++) {
      const i = (round_ + k) % sides.length
      times[i]!.push(await scrape(sides[i]!.url))
    }
  }
  const [offP50, off2P50, onP50, fastP50] = times.map((t) => percentile(t, 50)) as [
    number,
    number,
    number,
    number,
  ]
  const rowsOf = async (base: string) =>
    ((await (await fetch(`${base}/status/history?since=1d`)).json()) as unknown[]).length
  const rows = { on: await rowsOf(on.base), fast: await rowsOf(fast.base) }
  for (const s of sides) await s.service.stop()
  const bytes = (f: string) => statSync(f).size

  // File size per day: a simulated week at the default interval and retention, written as the
  // service writes (one commit per sample), on the service's node.
  const week = spawnSync(
    node,
    [
      '--import',
      'tsx',
      join(here, '..', 'lib', 'history-size.ts'),
      join(dir, 'week.db'),
      String(DEFAULT_INTERVAL_MS),
      String(RETENTION_DAYS + 1),
      String(RETENTION_DAYS * 86_400_000),
    ],
    { encoding: 'utf8', timeout: 10 * 60_000 },
  )
  if (week.status !== 0) throw new Error(`history-size failed: ${week.stderr}`)
  const size = JSON.parse(week.stdout) as Record<string, number>

  const figures = {
    history_node: serviceNodeVersion(),
    history_scrapes_per_side: times[0]!.length,
    history_metrics_p50_ms_off: round(offP50 * 1000),
    history_metrics_p50_ms_on: round(onP50 * 1000),
    history_metrics_p50_ms_100ms: round(fastP50 * 1000),
    metrics_p50_ratio_history_on: round(onP50 / offP50),
    metrics_p50_ratio_off_vs_off: round(off2P50 / offP50),
    metrics_p50_ratio_history_100ms: round(fastP50 / offP50),
    history_rows_written_default: rows.on,
    history_rows_written_100ms: rows.fast,
    history_bytes_per_row_100ms: round(bytes(files.fast) / rows.fast, 1),
    history_samples_per_day: size['samples_per_day'],
    history_bytes_per_row: round(size['bytes_at_end']! / size['rows_at_end']!, 1),
    history_mb_per_day: round(
      ((size['bytes_at_end']! / size['rows_at_end']!) * size['samples_per_day']!) / 2 ** 20,
      2,
    ),
    history_mb_after_one_day_with_wal: round(size['bytes_after_one_day_with_wal']! / 2 ** 20, 2),
    history_mb_at_retention: round(size['bytes_at_end']! / 2 ** 20, 2),
    history_rows_at_retention: size['rows_at_end'],
    history_commit_us_p50: round(size['commit_us_p50']!, 1),
    history_commit_us_p99: round(size['commit_us_p99']!, 1),
  }
  mergeResults('history', figures)
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\nresults: ${RESULTS_FILE}\n`)
} finally {
  await redis.stop()
  rmSync(dir, { recursive: true, force: true })
}
