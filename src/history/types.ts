export type BreakerStateName = 'closed' | 'half_open' | 'open'

/**
 * One status sample, as `GET /status/history` lists it. The first keys are the ones the in-memory
 * history always had; `total_keys` and `fallback_in_use` complete the `redis_metrics` columns.
 */
export interface HistorySample {
  /** ISO 8601, UTC, millisecond precision. */
  timestamp: string
  available: boolean
  used_memory_bytes: number | null
  memory_usage_percent: number | null
  hit_rate_percent: number | null
  ops_per_sec: number | null
  connected_clients: number | null
  latency_ms: number | null
  pool_utilization_percent: number | null
  circuit_breaker_state: BreakerStateName | null
  total_keys: number | null
  /** A cache layer in the same process serves from its in-memory fallback. */
  fallback_in_use: boolean
}

/**
 * What a store keeps besides the listed keys: the server's lifetime hit and miss counters, so the
 * hit rate over the window can be computed again after a restart.
 */
export interface StoredSample extends HistorySample {
  keyspace_hits: number | null
  keyspace_misses: number | null
}

/** The listed keys of a stored sample: the lifetime counters stay inside the store. */
export const listed = ({ keyspace_hits: _h, keyspace_misses: _m, ...sample }: StoredSample): HistorySample =>
  sample

export interface HistoryQuery {
  /** Epoch ms; samples at or after it. */
  sinceMs?: number
  /** The newest `limit` of the matching samples. */
  limit?: number
}

/** Where status samples live: the in-memory ring or an SQLite file, behind one interface. */
export interface HistoryStore {
  readonly kind: 'memory' | 'sqlite'
  /** Keeps one sample. Never throws: a store that cannot write says so in its log and metric. */
  append(sample: StoredSample): void
  /** Matching samples, oldest first (the newest `limit` of them when a limit is given). */
  query(query: HistoryQuery): StoredSample[]
  close(): Promise<void>
}
