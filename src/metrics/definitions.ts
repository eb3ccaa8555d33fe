/**
 * Every metric family of redis-pool-monitor: name, help text (with its unit), type and labels.
 * Other modules create prom-client metrics from these entries and never spell a name themselves.
 * Names are fixed by CONTRACT.md; server-side names follow oliver006/redis_exporter.
 */

/** Redis round trips sit between ~100 µs (loopback) and seconds (a stalled server). */
export const OPERATION_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const

/** Waiting for a pool slot is usually zero; anything above a second is an incident. */
export const ACQUIRE_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const

export const HTTP_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

export const poolMetrics = {
  maxConnections: {
    name: 'redis_pool_max_connections',
    help: 'Connections the pool may hold (count).',
    labelNames: ['pool'] as const,
  },
  activeConnections: {
    name: 'redis_pool_active_connections',
    help: 'Connections currently carrying at least one operation or held by an exclusive lease (count).',
    labelNames: ['pool'] as const,
  },
  idleConnections: {
    name: 'redis_pool_idle_connections',
    help: 'Open connections carrying no operation (count).',
    labelNames: ['pool'] as const,
  },
  pendingAcquires: {
    name: 'redis_pool_pending_acquires',
    help: 'Operations waiting for a free connection slot (count).',
    labelNames: ['pool'] as const,
  },
  utilizationPercent: {
    name: 'redis_pool_utilization_percent',
    help: 'Active connections divided by max connections (percent, 0 to 100).',
    labelNames: ['pool'] as const,
  },
  acquireDuration: {
    name: 'redis_pool_acquire_duration_seconds',
    help: 'Time an operation waited for a pooled connection (seconds).',
    labelNames: ['pool'] as const,
    buckets: ACQUIRE_BUCKETS_SECONDS,
  },
  operationDuration: {
    name: 'redis_operation_duration_seconds',
    help: 'Duration of Redis commands, pipelines and transactions sent through the pool (seconds).',
    labelNames: ['pool', 'command', 'status'] as const,
    buckets: OPERATION_BUCKETS_SECONDS,
  },
  operationErrors: {
    name: 'redis_operation_errors_total',
    help: 'Failed Redis operations by error type (count).',
    labelNames: ['pool', 'type'] as const,
  },
  connectionLatency: {
    name: 'redis_connection_latency_ms',
    help: 'Round trip of the latest PING probe (milliseconds).',
    labelNames: ['pool'] as const,
  },
  breakerState: {
    name: 'redis_circuit_breaker_state',
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open (state code).',
    labelNames: ['pool'] as const,
  },
  breakerTransitions: {
    name: 'redis_circuit_breaker_transitions_total',
    help: 'Circuit breaker state changes (count).',
    labelNames: ['pool', 'from', 'to'] as const,
  },
} as const

export const serviceMetrics = {
  scrapeDuration: {
    name: 'redis_monitor_scrape_duration_seconds',
    help: 'Time the latest collection from Redis took (seconds).',
    labelNames: [] as const,
  },
  lastScrapeError: {
    name: 'redis_monitor_last_scrape_error',
    help: 'Whether the latest collection from Redis failed: 1 failed, 0 succeeded (boolean).',
    labelNames: [] as const,
  },
  httpRequestDuration: {
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests served by redis-pool-monitor (seconds).',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS_SECONDS,
  },
} as const

// --- server side (collectors/): owned by the server-stats collector, names from redis_exporter ---
