// Preloaded into the service by bench/scenarios/fleet.ts (node --import): the pause of every
// garbage collection, from perf_hooks' 'gc' entries, as running totals and a cumulative histogram
// written to BENCH_GC_FILE twice a second (a few hundred bytes), so the scenario can put each
// phase's GC time beside its scrape latencies. Not part of the service.
import { writeFileSync } from 'node:fs'
import { constants, PerformanceObserver } from 'node:perf_hooks'

const file = process.env.BENCH_GC_FILE
export const BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100]

if (file) {
  const totals = {
    collections: 0,
    pause_ms: 0,
    major: 0,
    major_pause_ms: 0,
    // pauses_at_most_ms[i]: collections whose pause was <= BUCKETS_MS[i]; the rest were longer.
    buckets_ms: BUCKETS_MS,
    pauses_at_most_ms: BUCKETS_MS.map(() => 0),
  }
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      totals.collections++
      totals.pause_ms += entry.duration
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        totals.major++
        totals.major_pause_ms += entry.duration
      }
      BUCKETS_MS.forEach((limit, i) => {
        if (entry.duration <= limit) totals.pauses_at_most_ms[i]++
      })
    }
  }).observe({ entryTypes: ['gc'] })
  setInterval(() => writeFileSync(file, JSON.stringify(totals)), 500).unref()
}
