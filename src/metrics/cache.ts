/**
 * The cache layer's metric families (src/cache/): name, help text with its unit, labels.
 * Names are fixed by the public contract. `namespace` is bounded: only namespaces given to
 * createCache() appear; every other namespace is counted as `other`.
 */

/** Results of redis_cache_requests_total. */
export const CACHE_RESULTS = ['hit', 'miss', 'fallback_hit', 'fallback_miss', 'error'] as const
export type CacheResult = (typeof CACHE_RESULTS)[number]

/** Results of redis_cache_near_requests_total. */
export const NEAR_RESULTS = ['hit', 'miss'] as const

/** The `namespace` value of lookups in a namespace createCache() was not given. */
export const OTHER_NAMESPACE = 'other'

export const cacheMetrics = {
  requests: {
    name: 'redis_cache_requests_total',
    help:
      'Cache lookups by result: hit and miss answered by Redis, fallback_hit and fallback_miss ' +
      'answered by the in-memory fallback while Redis was unavailable, error for any cache call ' +
      'that threw (reply error, undecodable value) (count).',
    labelNames: ['pool', 'namespace', 'result'] as const,
  },
  fallbackActive: {
    name: 'redis_cache_fallback_active',
    help: 'Whether the cache serves from its in-memory fallback because Redis is unavailable: 1 yes, 0 no (boolean).',
    labelNames: ['pool'] as const,
  },
  fallbackEntries: {
    name: 'redis_cache_fallback_entries',
    help: 'Entries held by the in-memory fallback (count).',
    labelNames: ['pool'] as const,
  },
  nearRequests: {
    name: 'redis_cache_near_requests_total',
    help: 'Near-cache lookups by result: hit answered from the local copy, miss sent to Redis (count).',
    labelNames: ['pool', 'result'] as const,
  },
  nearInvalidations: {
    name: 'redis_cache_near_invalidations_total',
    help:
      'Keys Redis told the near cache to drop (CLIENT TRACKING invalidations; a flush or a lost ' +
      'invalidation connection counts once) (count).',
    labelNames: ['pool'] as const,
  },
} as const
