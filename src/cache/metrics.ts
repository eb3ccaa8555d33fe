import { Counter, type Gauge, type Registry } from 'prom-client'
import {
  CACHE_RESULTS,
  type CacheResult,
  cacheMetrics,
  NEAR_RESULTS,
  OTHER_NAMESPACE,
} from '../metrics/cache.js'
import { poolGauge } from '../metrics/pool-gauge.js'

/** What a cache exposes to the gauges' scrape-time collect(). */
export interface CacheSource {
  readonly pool: string
  fallbackActive(): boolean
  fallbackEntries(): number
}

/** Pre-bound counters of one cache: the hot path never builds a label object. */
export interface CacheCounters {
  /** Per namespace label (configured names and `other`), one increment function per result. */
  requests: Map<string, Record<CacheResult, () => void>>
  nearHit(): void
  nearMiss(): void
  nearInvalidated(count: number): void
  detach(): void
}

/** One cache's counts since the last scrape, flushed into the counters by collect(). */
interface Tally {
  pool: string
  /** Label sets of `requests`, in the order of `requests` below. */
  requestLabels: Array<{ pool: string; namespace: string; result: CacheResult }>
  requests: Float64Array
  near: Float64Array
  invalidations: number
}

interface CacheFamilies {
  requests: Counter<'pool' | 'namespace' | 'result'>
  nearRequests: Counter<'pool' | 'result'>
  nearInvalidations: Counter<'pool'>
  sources: Map<string, CacheSource>
  tallies: Map<string, Tally>
  gauges: Gauge<'pool'>[]
}

/**
 * One set of families per registry (a registry refuses a second metric of the same name), shared
 * by every cache on it; each cache is a `pool` label value, like the pool monitor's families.
 * Counters are plain numbers on the hot path (a near-cache hit takes a few microseconds, and
 * prom-client hashes the label set on every inc()) and are added to the families at scrape time.
 */
const families = new WeakMap<Registry, CacheFamilies>()

function flushRequests(tally: Tally, counter: Counter<'pool' | 'namespace' | 'result'>): void {
  for (let i = 0; i < tally.requests.length; i++) {
    const delta = tally.requests[i]!
    if (delta === 0) continue
    tally.requests[i] = 0
    counter.inc(tally.requestLabels[i]!, delta)
  }
}

function flushNear(tally: Tally, requests: Counter<'pool' | 'result'>, invalidations: Counter<'pool'>): void {
  for (const [i, result] of NEAR_RESULTS.entries()) {
    const delta = tally.near[i]!
    if (delta === 0) continue
    tally.near[i] = 0
    requests.inc({ pool: tally.pool, result }, delta)
  }
  if (tally.invalidations > 0) {
    invalidations.inc({ pool: tally.pool }, tally.invalidations)
    tally.invalidations = 0
  }
}

function familiesOf(registry: Registry): CacheFamilies {
  const existing = families.get(registry)
  if (existing) return existing
  const registers = [registry]
  const sources = new Map<string, CacheSource>()
  const tallies = new Map<string, Tally>()
  const pointInTime = (
    def: { name: string; help: string; labelNames: readonly ['pool'] },
    read: (source: CacheSource) => number,
  ) => poolGauge({ def, registers, sources: () => sources.values(), pool: (s) => s.pool, read })
  // Near requests and invalidations are flushed together, whichever the registry collects first.
  const nearRequests: Counter<'pool' | 'result'> = new Counter({
    ...cacheMetrics.nearRequests,
    registers,
    collect() {
      for (const tally of tallies.values()) flushNear(tally, this, nearInvalidations)
    },
  })
  const nearInvalidations: Counter<'pool'> = new Counter({
    ...cacheMetrics.nearInvalidations,
    registers,
    collect() {
      for (const tally of tallies.values()) flushNear(tally, nearRequests, this)
    },
  })
  const created: CacheFamilies = {
    sources,
    tallies,
    requests: new Counter({
      ...cacheMetrics.requests,
      registers,
      collect() {
        for (const tally of tallies.values()) flushRequests(tally, this)
      },
    }),
    nearRequests,
    nearInvalidations,
    gauges: [
      pointInTime(cacheMetrics.fallbackActive, (s) => (s.fallbackActive() ? 1 : 0)),
      pointInTime(cacheMetrics.fallbackEntries, (s) => s.fallbackEntries()),
    ],
  }
  families.set(registry, created)
  return created
}

/**
 * Registers one cache's series, zeroed so rate() has a series before the first lookup. The
 * namespace label takes only `namespaces` plus `other`: callers inventing namespaces cannot grow
 * the series count.
 */
export function attachCacheMetrics(
  registry: Registry,
  source: CacheSource,
  namespaces: readonly string[],
  near: boolean,
): CacheCounters {
  const f = familiesOf(registry)
  if (f.sources.has(source.pool)) {
    throw new Error(`a cache for pool ${source.pool} is already registered on this registry`)
  }
  f.sources.set(source.pool, source)
  const pool = source.pool
  const labels = [...new Set([...namespaces, OTHER_NAMESPACE])]
  const tally: Tally = {
    pool,
    requestLabels: labels.flatMap((namespace) =>
      CACHE_RESULTS.map((result) => ({ pool, namespace, result })),
    ),
    requests: new Float64Array(labels.length * CACHE_RESULTS.length),
    near: new Float64Array(NEAR_RESULTS.length),
    invalidations: 0,
  }
  f.tallies.set(pool, tally)
  const requests = new Map<string, Record<CacheResult, () => void>>()
  for (const [n, namespace] of labels.entries()) {
    const bound = {} as Record<CacheResult, () => void>
    for (const [r, result] of CACHE_RESULTS.entries()) {
      f.requests.inc({ pool, namespace, result }, 0)
      const at = n * CACHE_RESULTS.length + r
      bound[result] = () => {
        tally.requests[at]!++
      }
    }
    requests.set(namespace, bound)
  }
  if (near) {
    for (const result of NEAR_RESULTS) f.nearRequests.inc({ pool, result }, 0)
    f.nearInvalidations.inc({ pool }, 0)
  }
  return {
    requests,
    nearHit: () => {
      tally.near[0]!++
    },
    nearMiss: () => {
      tally.near[1]!++
    },
    nearInvalidated: (count) => {
      tally.invalidations += count
    },
    detach() {
      f.sources.delete(pool)
      f.tallies.delete(pool)
      for (const gauge of f.gauges) gauge.remove({ pool })
      for (const namespace of labels) {
        for (const result of CACHE_RESULTS) f.requests.remove({ pool, namespace, result })
      }
      for (const result of NEAR_RESULTS) f.nearRequests.remove({ pool, result })
      f.nearInvalidations.remove({ pool })
    },
  }
}
