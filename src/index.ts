// The library's public surface: a pool of ioredis connections with Prometheus metrics, probes and
// a circuit breaker, and a cache layer on it. The service (src/server.ts) is built on the same exports.

export {
  type Cache,
  type CacheKey,
  type CacheNamespaceOptions,
  type CacheOptions,
  createCache,
} from './cache/cache.js'
export { clusterCollector } from './collectors/cluster.js'
export {
  type ClusterInfo,
  type ClusterNodeEntry,
  parseClusterInfo,
  parseClusterNodes,
} from './collectors/cluster-parser.js'
export type {
  Collector,
  ReadContext,
  RedisCommander,
  Snapshot as ServerSnapshot,
  View as ServerView,
} from './collectors/collector.js'
export { createKeyGroupCollector, type KeyGroupCollector } from './collectors/key-group-collector.js'
export { type CollectResult, createScrape, type Scrape, type ScrapeOptions } from './collectors/scrape.js'
export { SERVER_COLLECTORS } from './collectors/server-collectors.js'
export {
  createServerStats,
  type ServerStats,
  type ServerStatsEvents,
  type StatusReport,
} from './collectors/server-stats.js'
export { ENV_VARS, type EnvVar } from './config/config.js'
export * from './errors.js'
export {
  createHistory,
  createMemoryHistory,
  createSqliteHistory,
  type HistorySample,
  type HistoryStore,
} from './history/index.js'
export { cacheMetrics } from './metrics/cache.js'
export { clusterInfoFamilies, clusterPoolMetrics } from './metrics/cluster.js'
export {
  infoFieldMetrics,
  infoSections,
  poolMetrics,
  serverMetrics,
  serviceMetrics,
} from './metrics/definitions.js'
export { BREAKER_DEFAULTS, BREAKER_STATE_CODE, type Breaker, createBreaker } from './monitor/breaker.js'
export { classifyError, redact } from './monitor/classify.js'
export { commandLabel, isBlocking } from './monitor/command-names.js'
export { createEventHub, type EventSource } from './monitor/events.js'
export { createPoolMonitor } from './monitor/pool-monitor.js'
export type {
  BreakerOptions,
  BreakerState,
  ClusterPoolOptions,
  PipelineResult,
  PoolMonitor,
  PoolMonitorEventMap,
  PoolMonitorEvents,
  PoolMonitorHealth,
  PoolMonitorOptions,
  PoolStats,
  ProbeResult,
  RedisArg,
  RedisCommand,
} from './monitor/types.js'
