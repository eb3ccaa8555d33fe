import { Counter, Gauge, type Registry } from 'prom-client'
import {
  CACHE_RESULTS,
  type CacheResult,
  cacheMetrics,
  NEAR_RESULTS,
  OTHER_NAMESPACE,
} from '../metrics/cache.js'

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

interface CacheFamilies {
  requests: Counter<'pool' | 'namespace' | 'result'>
  nearRequests: Counter<'pool' | 'result'>
  nearInvalidations: Counter<'pool'>
  sources: Map<string, CacheSource>
  gauges: Gauge<'pool'>[]
}

/**
 * One set of families per registry (a registry refuses a second metric of the same name), shared
 * by every cache on it; each cache is a `pool` label value, like the pool monitor's families.
 */
const families = new WeakMap<Registry, CacheFamilies>()

function familiesOf(registry: Registry): CacheFamilies {
  const existing = families.get(registry)
  if (existing) return existing
  const registers = [registry]
  const sources = new Map<string, CacheSource>()
  const pointInTime = (
    def: { name: string; help: string; labelNames: readonly ['pool'] },
    read: (source: CacheSource) => number,
  ) =>
    new Gauge({
      name: def.name,
      help: def.help,
      labelNames: def.labelNames,
      registers,
      collect() {
        for (const source of sources.values()) this.set({ pool: source.pool }, read(source))
      },
    })
  const created: CacheFamilies = {
    sources,
    requests: new Counter({ ...cacheMetrics.requests, registers }),
    nearRequests: new Counter({ ...cacheMetrics.nearRequests, registers }),
    nearInvalidations: new Counter({ ...cacheMetrics.nearInvalidations, registers }),
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
  const requests = new Map<string, Record<CacheResult, () => void>>()
  for (const namespace of labels) {
    const bound = {} as Record<CacheResult, () => void>
    for (const result of CACHE_RESULTS) {
      const child = f.requests.labels({ pool, namespace, result })
      child.inc(0)
      bound[result] = () => child.inc()
    }
    requests.set(namespace, bound)
  }
  const nearHit = f.nearRequests.labels({ pool, result: 'hit' })
  const nearMiss = f.nearRequests.labels({ pool, result: 'miss' })
  const invalidations = f.nearInvalidations.labels({ pool })
  if (near) {
    nearHit.inc(0)
    nearMiss.inc(0)
    invalidations.inc(0)
  }
  return {
    requests,
    nearHit: () => nearHit.inc(),
    nearMiss: () => nearMiss.inc(),
    nearInvalidated: (count) => invalidations.inc(count),
    detach() {
      f.sources.delete(pool)
      for (const gauge of f.gauges) gauge.remove({ pool })
      for (const namespace of labels) {
        for (const result of CACHE_RESULTS) f.requests.remove({ pool, namespace, result })
      }
      for (const result of NEAR_RESULTS) f.nearRequests.remove({ pool, result })
      f.nearInvalidations.remove({ pool })
    },
  }
}
