// Issue 15: 200 /scrape targets scraped by a Prometheus-like loop, this service against one
// redis_exporter doing the same (its /scrape?target=), in the same run, on the same redis-servers.
// - Targets: BENCH_FLEET_SERVERS redis-servers (default 28); server 0 holds one target (the one that
//   gets frozen), the others eight each (db 0..7 as distinct targets), 200 in all.
// - The loop: every target once per BENCH_FLEET_INTERVAL_S (default 5 s), at evenly spread offsets as
//   Prometheus spreads them, each scrape on its own (a slow one never holds the next), with
//   X-Prometheus-Scrape-Timeout-Seconds equal to the interval and that timeout on the client.
// - BENCH_FLEET_ROUNDS (default 2) rounds of one BENCH_FLEET_SECONDS (default 20) phase per side,
//   the order rotating each round; then, for ours and theirs, BENCH_FLEET_PAIRS (default 3) pairs of
//   adjacent 10 s phases with server 0 running and frozen (SIGSTOP), order alternating: the others'
//   p99 in each half and the median frozen / running ratio. p50/p99 over every scrape of the 199
//   other targets.
// - RSS: median of one reading a second of each process during its own phases.
// - GC: the service runs with fleet-gc-observer.mjs preloaded (perf_hooks 'gc' entries); each phase
//   gets its collections, their summed pause and how many paused longer than 10 and 50 ms.
// - BENCH_FLEET_BASELINE=<directory of another build of the service, bin/ dist/ node_modules/>
//   adds that build as a third side in the same rounds (say, the commit before a change), so old
//   and new code are compared in one run on the same targets: ratios new / old.
//   BENCH_FLEET_BASELINE_LABEL names it in the results (say, its commit); the path is not recorded.
// Published figures: bench/results/fleet.json (BENCH_RESULTS_FILE=bench/results/fleet.json npm run bench -- fleet).
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { imageCommand } from '../../test/helpers/image-command.js'
import { freePort, type RedisServer, startRedis } from '../../test/helpers/redis-server.js'
import { ROOT } from '../../test/helpers/service-process.js'
import { launch, type Managed, rssMb, waitForHttp } from '../lib/processes.js'
import { mergeResults, RESULTS_FILE } from '../lib/results.js'
import { serviceNode, serviceNodeVersion } from '../lib/service.js'
import { percentile, round } from '../lib/stats.js'

const SERVERS = Number(process.env['BENCH_FLEET_SERVERS'] ?? 28)
const TARGETS = 200
const INTERVAL_S = Number(process.env['BENCH_FLEET_INTERVAL_S'] ?? 5)
const PHASE_S = Number(process.env['BENCH_FLEET_SECONDS'] ?? 20)
const FROZEN_PHASE_S = Number(process.env['BENCH_FLEET_FROZEN_SECONDS'] ?? 10)
const PAIRS = Number(process.env['BENCH_FLEET_PAIRS'] ?? 3)
const ROUNDS = Number(process.env['BENCH_FLEET_ROUNDS'] ?? 2)
const BASELINE = process.env['BENCH_FLEET_BASELINE']
const GC_OBSERVER = fileURLToPath(new URL('./fleet-gc-observer.mjs', import.meta.url))

/** Totals fleet-gc-observer.mjs writes; a phase's figures are the difference of two readings. */
interface GcTotals {
  collections: number
  pause_ms: number
  major: number
  major_pause_ms: number
  buckets_ms: number[]
  pauses_at_most_ms: number[]
}
const readGc = (file: string): GcTotals | undefined =>
  existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as GcTotals) : undefined
/** The GC of one phase: what happened between the readings `before` and `after`. */
function gcBetween(before: GcTotals | undefined, after: GcTotals | undefined, seconds: number) {
  if (!before || !after) return undefined
  const over = (limit: number) => {
    const i = after.buckets_ms.indexOf(limit)
    const collections = after.collections - before.collections
    return collections - ((after.pauses_at_most_ms[i] ?? 0) - (before.pauses_at_most_ms[i] ?? 0))
  }
  return {
    collections: after.collections - before.collections,
    pause_ms: after.pause_ms - before.pause_ms,
    major: after.major - before.major,
    pauses_over_10_ms: over(10),
    pauses_over_50_ms: over(50),
    seconds,
  }
}
type PhaseGc = NonNullable<ReturnType<typeof gcBetween>>
const gcSummary = (phases: PhaseGc[]) => {
  const sum = (k: keyof PhaseGc) => phases.reduce((a, p) => a + p[k], 0)
  const seconds = sum('seconds')
  return {
    collections_per_second: round(sum('collections') / seconds, 1),
    pause_ms_per_second: round(sum('pause_ms') / seconds, 1),
    major_collections: sum('major'),
    pauses_over_10_ms: sum('pauses_over_10_ms'),
    pauses_over_50_ms: sum('pauses_over_50_ms'),
  }
}

/** A build of the service as the image runs it (bench/lib/service.ts), from `root`, with the GC observer preloaded. */
function launchObserved(root: string, env: NodeJS.ProcessEnv, gcFile: string): Managed {
  rmSync(gcFile, { force: true })
  const { nodeFlags, entry, args } = imageCommand()
  return launch(serviceNode(), [...nodeFlags, `--import=${GC_OBSERVER}`, join(root, entry), ...args], {
    ...env,
    BENCH_GC_FILE: gcFile,
  })
}

interface Sample {
  target: number
  seconds: number
  ok: boolean
}

/** One phase of the Prometheus-like loop against `scrapeUrl(target)`; every scrape's outcome. */
async function phase(
  scrapeUrl: (i: number) => string,
  pid: number,
  seconds = PHASE_S,
  gcFile?: string,
): Promise<{ samples: Sample[]; rss: number[]; gc?: PhaseGc | undefined }> {
  const gcBefore = gcFile ? readGc(gcFile) : undefined
  const samples: Sample[] = []
  const rss: number[] = []
  const inFlight = new Set<Promise<void>>()
  const started = performance.now()
  const rssTimer = setInterval(() => rss.push(rssMb(pid)), 1000)
  const slot = (INTERVAL_S * 1000) / TARGETS
  let n = 0
  while (performance.now() - started < seconds * 1000) {
    const target = n % TARGETS
    const due = started + n * slot
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    n++
    const t0 = performance.now()
    const p = fetch(scrapeUrl(target), {
      headers: { 'x-prometheus-scrape-timeout-seconds': String(INTERVAL_S), accept: 'text/plain' },
      signal: AbortSignal.timeout(INTERVAL_S * 1000),
    })
      .then(async (res) => {
        const body = await res.text()
        samples.push({
          target,
          seconds: (performance.now() - t0) / 1000,
          ok: res.status === 200 && body.includes('redis_up'),
        })
      })
      .catch(() => {
        samples.push({ target, seconds: (performance.now() - t0) / 1000, ok: false })
      })
      .finally(() => inFlight.delete(p))
    inFlight.add(p)
  }
  await Promise.all(inFlight)
  clearInterval(rssTimer)
  if (!gcFile) return { samples, rss }
  // The observer writes twice a second: wait for a reading that covers the whole phase.
  await new Promise((r) => setTimeout(r, 600))
  return { samples, rss, gc: gcBetween(gcBefore, readGc(gcFile), (performance.now() - started) / 1000) }
}

const ms = (s: number) => round(s * 1000, 2)
const summary = (samples: Sample[]) => {
  const others = samples.filter((s) => s.target !== 0)
  const seconds = others.map((s) => s.seconds)
  return {
    scrapes: others.length,
    failed: others.filter((s) => !s.ok).length,
    p50_ms: ms(percentile(seconds, 50)),
    p99_ms: ms(percentile(seconds, 99)),
  }
}
const median = (values: number[]) => percentile(values, 50)

async function main() {
  const servers: RedisServer[] = []
  for (let i = 0; i < SERVERS; i++) servers.push(await startRedis())
  // Target 0 alone on server 0; then eight databases per server.
  const targets = [`127.0.0.1:${servers[0]!.port}/0`]
  for (let s = 1; targets.length < TARGETS; s++) {
    const server = servers[s]
    if (!server) throw new Error(`not enough servers for ${TARGETS} targets`)
    for (let db = 0; db < 8 && targets.length < TARGETS; db++) targets.push(`127.0.0.1:${server.port}/${db}`)
  }
  for (const server of servers) await server.cli('SET', 'fleet:key', 'v')

  const serviceEnv = (port: number) => ({
    REDIS_URL: `redis://127.0.0.1:${servers[1]!.port}`,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    SCRAPE_TARGETS: '127.0.0.1:*',
  })
  const ourPort = await freePort()
  const ourGc = join(tmpdir(), `rpm-fleet-gc-ours-${process.pid}.json`)
  const ours = launchObserved(ROOT, serviceEnv(ourPort), ourGc)
  const baselinePort = await freePort()
  const baselineGc = join(tmpdir(), `rpm-fleet-gc-baseline-${process.pid}.json`)
  const baseline = BASELINE ? launchObserved(BASELINE, serviceEnv(baselinePort), baselineGc) : undefined
  const theirPort = await freePort()
  const theirs = launch('prometheus-redis-exporter', [
    `-redis.addr=redis://127.0.0.1:${servers[1]!.port}`,
    `-web.listen-address=127.0.0.1:${theirPort}`,
    '-log-format=json',
  ])
  await waitForHttp(`http://127.0.0.1:${ourPort}/health/live`)
  if (baseline) await waitForHttp(`http://127.0.0.1:${baselinePort}/health/live`)
  await waitForHttp(`http://127.0.0.1:${theirPort}/metrics`)
  const serviceUrl = (port: number) => (i: number) =>
    `http://127.0.0.1:${port}/scrape?target=${encodeURIComponent(targets[i]!)}`
  const ourUrl = serviceUrl(ourPort)
  const baselineUrl = serviceUrl(baselinePort)
  const theirUrl = (i: number) =>
    `http://127.0.0.1:${theirPort}/scrape?target=${encodeURIComponent(`redis://${targets[i]!}`)}`

  // Warm every side (our caches fill; their code paths warm up), then rounds in rotating order.
  for (let i = 0; i < TARGETS; i++)
    await Promise.all(
      [ourUrl, theirUrl, ...(baseline ? [baselineUrl] : [])].map((url) =>
        fetch(url(i)).then((r) => r.text()),
      ),
    )
  type Side = 'ours' | 'baseline' | 'theirs'
  const sides: Record<Side, { url: (i: number) => string; pid: number; gcFile?: string } | undefined> = {
    ours: { url: ourUrl, pid: ours.child.pid!, gcFile: ourGc },
    baseline: baseline ? { url: baselineUrl, pid: baseline.child.pid!, gcFile: baselineGc } : undefined,
    theirs: { url: theirUrl, pid: theirs.child.pid! },
  }
  const order = (Object.keys(sides) as Side[]).filter((side) => sides[side] !== undefined)
  const runs = Object.fromEntries(
    order.map((side) => [side, { samples: [] as Sample[], rss: [] as number[], gc: [] as PhaseGc[] }]),
  ) as Record<Side, { samples: Sample[]; rss: number[]; gc: PhaseGc[] }>
  // Each round's p99 per side: one stalled phase (this machine has them) decides a pooled p99, so
  // the median over rounds of each round's ratio sits beside it.
  const roundP99: Array<Partial<Record<Side, number>>> = []
  for (let round = 0; round < ROUNDS; round++) {
    const line: string[] = []
    const p99s: Partial<Record<Side, number>> = {}
    roundP99.push(p99s)
    for (let k = 0; k < order.length; k++) {
      const side = order[(k + round) % order.length]!
      const { url, pid, gcFile } = sides[side]!
      const result = await phase(url, pid, PHASE_S, gcFile)
      runs[side].samples.push(...result.samples)
      runs[side].rss.push(...result.rss)
      if (result.gc) runs[side].gc.push(result.gc)
      p99s[side] = summary(result.samples).p99_ms
      line.push(`${side} ${JSON.stringify({ ...summary(result.samples), gc: result.gc })}`)
    }
    process.stdout.write(`round ${round + 1}: ${line.join(' ')}\n`)
  }

  // The frozen target's effect: for each side, PAIRS pairs of adjacent phases with server 0 running
  // and frozen (the order alternates), so both halves of a pair see the same machine load; the
  // others' p99 of each half, and the median over pairs of frozen / running.
  const pairs = async (url: (i: number) => string, pid: number) => {
    const out: Array<{ running: Sample[]; frozen: Sample[] }> = []
    for (let k = 0; k < PAIRS; k++) {
      const order = k % 2 === 0 ? ['running', 'frozen'] : ['frozen', 'running']
      const pair = { running: [] as Sample[], frozen: [] as Sample[] }
      for (const state of order) {
        if (state === 'frozen') servers[0]!.pause()
        pair[state as 'running' | 'frozen'] = (await phase(url, pid, FROZEN_PHASE_S)).samples
        if (state === 'frozen') servers[0]!.resume()
      }
      out.push(pair)
    }
    return out
  }
  const frozenOursPairs = await pairs(ourUrl, ours.child.pid!)
  const frozenTheirsPairs = await pairs(theirUrl, theirs.child.pid!)
  const frozenTarget = (samples: Sample[]) => {
    const own = samples.filter((s) => s.target === 0)
    return {
      scrapes: own.length,
      answered_200_with_redis_up: own.filter((s) => s.ok).length,
      p50_ms: ms(median(own.map((s) => s.seconds))),
    }
  }
  const effect = (list: Array<{ running: Sample[]; frozen: Sample[] }>) => {
    const perPair = list.map(({ running, frozen }) => ({
      running: summary(running),
      frozen: summary(frozen),
    }))
    return {
      pairs: perPair.map((p) => ({
        running_p99_ms: p.running.p99_ms,
        frozen_p99_ms: p.frozen.p99_ms,
        failed_others: p.frozen.failed,
      })),
      median_p99_ratio_frozen_vs_running: round(
        median(perPair.map((p) => p.frozen.p99_ms / p.running.p99_ms)),
      ),
      frozen_target: frozenTarget(list.flatMap((p) => p.frozen)),
    }
  }

  const medianRoundRatio = (a: Side, b: Side) =>
    round(median(roundP99.map((r) => (r[a] ?? Number.NaN) / (r[b] ?? Number.NaN))))
  const o = summary(runs.ours.samples)
  const t = summary(runs.theirs.samples)
  const oursRss = round(median(runs.ours.rss), 1)
  const theirsRss = round(median(runs.theirs.rss), 1)
  const b = runs.baseline ? summary(runs.baseline.samples) : undefined
  const baselineRss = runs.baseline ? round(median(runs.baseline.rss), 1) : undefined
  const figures = {
    fleet_targets: TARGETS,
    fleet_redis_servers: SERVERS,
    fleet_interval_seconds: INTERVAL_S,
    fleet_phase_seconds: PHASE_S,
    fleet_rounds: ROUNDS,
    fleet_scrape_p50_ratio_vs_redis_exporter: round(o.p50_ms / t.p50_ms),
    fleet_scrape_p99_ratio_vs_redis_exporter: round(o.p99_ms / t.p99_ms),
    fleet_scrape_p99_ratio_vs_redis_exporter_median_of_rounds: medianRoundRatio('ours', 'theirs'),
    fleet_rss_ratio_vs_redis_exporter: round(oursRss / theirsRss),
    fleet_scrape_ms: { ours: o, redis_exporter: t, ...(b ? { baseline: b } : {}) },
    fleet_rss_mb: {
      ours: oursRss,
      redis_exporter: theirsRss,
      ...(baselineRss !== undefined ? { baseline: baselineRss } : {}),
    },
    fleet_gc: {
      ours: gcSummary(runs.ours.gc),
      ...(runs.baseline ? { baseline: gcSummary(runs.baseline.gc) } : {}),
    },
    ...(b && baselineRss !== undefined
      ? {
          fleet_baseline: process.env['BENCH_FLEET_BASELINE_LABEL'] || 'another build',
          fleet_vs_baseline: {
            p50_ratio: round(o.p50_ms / b.p50_ms),
            p99_ratio: round(o.p99_ms / b.p99_ms),
            p99_ratio_median_of_rounds: medianRoundRatio('ours', 'baseline'),
            rss_ratio: round(oursRss / baselineRss),
            baseline_p99_ratio_vs_redis_exporter: round(b.p99_ms / t.p99_ms),
            baseline_p99_ratio_vs_redis_exporter_median_of_rounds: medianRoundRatio('baseline', 'theirs'),
            baseline_rss_ratio_vs_redis_exporter: round(baselineRss / theirsRss),
          },
        }
      : {}),
    fleet_frozen_target_phase_seconds: FROZEN_PHASE_S,
    fleet_frozen_target: { ours: effect(frozenOursPairs), redis_exporter: effect(frozenTheirsPairs) },
    fleet_service_node: serviceNodeVersion(),
  }
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
  mergeResults('fleet', figures)
  process.stdout.write(`written to ${RESULTS_FILE}\n`)

  await Promise.all([ours.stop(), theirs.stop(), baseline?.stop()])
  rmSync(ourGc, { force: true })
  rmSync(baselineGc, { force: true })
  await Promise.all(servers.map((s) => s.stop()))
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`)
  process.exit(1)
})
