// Issue 15: 200 /scrape targets scraped by a Prometheus-like loop, this service against one
// redis_exporter doing the same (its /scrape?target=), in the same run, on the same redis-servers.
// - Targets: BENCH_FLEET_SERVERS redis-servers (default 28); server 0 holds one target (the one that
//   gets frozen), the others eight each (db 0..7 as distinct targets), 200 in all.
// - The loop: every target once per BENCH_FLEET_INTERVAL_S (default 5 s), at evenly spread offsets as
//   Prometheus spreads them, each scrape on its own (a slow one never holds the next), with
//   X-Prometheus-Scrape-Timeout-Seconds equal to the interval and that timeout on the client.
// - Phases of BENCH_FLEET_SECONDS (default 20) each, alternating ours / theirs twice; then one phase
//   pairs of adjacent 10 s phases with server 0 running and frozen (SIGSTOP), order alternating:
//   the others' p99 in each half and the median frozen / running ratio. p50/p99 over every scrape
//   of the 199 other targets.
// - RSS: median of one reading a second of each process during its own phases.
// Published figures: bench/results/fleet.json (BENCH_RESULTS_FILE=bench/results/fleet.json npm run bench -- fleet).
import { freePort, type RedisServer, startRedis } from '../../test/helpers/redis-server.js'
import { launch, type Managed, rssMb, waitForHttp } from '../lib/processes.js'
import { mergeResults, RESULTS_FILE } from '../lib/results.js'
import { launchService, serviceNodeVersion } from '../lib/service.js'
import { percentile, round } from '../lib/stats.js'

const SERVERS = Number(process.env['BENCH_FLEET_SERVERS'] ?? 28)
const TARGETS = 200
const INTERVAL_S = Number(process.env['BENCH_FLEET_INTERVAL_S'] ?? 5)
const PHASE_S = Number(process.env['BENCH_FLEET_SECONDS'] ?? 20)
const FROZEN_PHASE_S = Number(process.env['BENCH_FLEET_FROZEN_SECONDS'] ?? 10)
const PAIRS = Number(process.env['BENCH_FLEET_PAIRS'] ?? 3)

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
): Promise<{ samples: Sample[]; rss: number[] }> {
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
  return { samples, rss }
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

  const ourPort = await freePort()
  const ours: Managed = launchService({
    REDIS_URL: `redis://127.0.0.1:${servers[1]!.port}`,
    HOST: '127.0.0.1',
    PORT: String(ourPort),
    LOG_LEVEL: 'warn',
    SCRAPE_TARGETS: '127.0.0.1:*',
  })
  const theirPort = await freePort()
  const theirs = launch('prometheus-redis-exporter', [
    `-redis.addr=redis://127.0.0.1:${servers[1]!.port}`,
    `-web.listen-address=127.0.0.1:${theirPort}`,
    '-log-format=json',
  ])
  await waitForHttp(`http://127.0.0.1:${ourPort}/health/live`)
  await waitForHttp(`http://127.0.0.1:${theirPort}/metrics`)
  const ourUrl = (i: number) => `http://127.0.0.1:${ourPort}/scrape?target=${encodeURIComponent(targets[i]!)}`
  const theirUrl = (i: number) =>
    `http://127.0.0.1:${theirPort}/scrape?target=${encodeURIComponent(`redis://${targets[i]!}`)}`

  // Warm both (our cache fills; their code paths warm up), then alternate.
  for (let i = 0; i < TARGETS; i++)
    await Promise.all([fetch(ourUrl(i)).then((r) => r.text()), fetch(theirUrl(i)).then((r) => r.text())])
  const runs = {
    ours: [] as Sample[],
    theirs: [] as Sample[],
    oursRss: [] as number[],
    theirsRss: [] as number[],
  }
  for (let round = 0; round < 2; round++) {
    const a = await phase(ourUrl, ours.child.pid!)
    runs.ours.push(...a.samples)
    runs.oursRss.push(...a.rss)
    const b = await phase(theirUrl, theirs.child.pid!)
    runs.theirs.push(...b.samples)
    runs.theirsRss.push(...b.rss)
    process.stdout.write(
      `round ${round + 1}: ours ${JSON.stringify(summary(a.samples))} theirs ${JSON.stringify(summary(b.samples))}\n`,
    )
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

  const o = summary(runs.ours)
  const t = summary(runs.theirs)
  const figures = {
    fleet_targets: TARGETS,
    fleet_redis_servers: SERVERS,
    fleet_interval_seconds: INTERVAL_S,
    fleet_phase_seconds: PHASE_S,
    fleet_scrape_p50_ratio_vs_redis_exporter: round(o.p50_ms / t.p50_ms),
    fleet_scrape_ms: { ours: o, redis_exporter: t },
    fleet_rss_mb: { ours: round(median(runs.oursRss), 1), redis_exporter: round(median(runs.theirsRss), 1) },
    fleet_frozen_target_phase_seconds: FROZEN_PHASE_S,
    fleet_frozen_target: { ours: effect(frozenOursPairs), redis_exporter: effect(frozenTheirsPairs) },
    fleet_service_node: serviceNodeVersion(),
  }
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
  mergeResults('fleet', figures)
  process.stdout.write(`written to ${RESULTS_FILE}\n`)

  await Promise.all([ours.stop(), theirs.stop()])
  await Promise.all(servers.map((s) => s.stop()))
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`)
  process.exit(1)
})
