/**
 * Every metric family of redis-pool-monitor: name, help text (with its unit), type and labels.
 * Other modules create prom-client metrics from these entries and never spell a name themselves.
 * Names are fixed (users' dashboards and alerts depend on them); server-side names follow
 * oliver006/redis_exporter.
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
  connectionRefusals: {
    name: 'redis_pool_connection_refusals_total',
    help: 'Pool connections Redis refused because maxclients was reached (count).',
    labelNames: ['pool'] as const,
  },
  connectionBusySeconds: {
    name: 'redis_pool_connection_busy_seconds_total',
    help: 'Connection-seconds spent with at least one operation in flight or leased, counted up to the scrape; rate() over max connections is the utilization between scrapes (seconds).',
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

type Convert = 'usecToSeconds' | 'okToOne'
/** [INFO field, family name, type, help, conversion of the value (e.g. microseconds to seconds, `ok` to 1)] */
type InfoRow = readonly [
  field: string,
  name: string,
  type: 'gauge' | 'counter',
  help: string,
  convert?: Convert,
]

export interface InfoFamily {
  /** INFO field the value is copied from. */
  readonly field: string
  readonly name: string
  readonly help: string
  readonly type: 'gauge' | 'counter'
  readonly convert?: Convert
}

// One table per INFO section, one line per field, as redis_exporter's field-to-name maps are.
// redis_exporter reads redis_config_maxclients / redis_config_maxmemory from CONFIG GET, which
// managed Redis blocks; INFO has the same values, so they are copied from INFO here.

// biome-ignore format: one line per INFO field
const server: readonly InfoRow[] = [
  ['uptime_in_seconds', 'redis_uptime_in_seconds', 'gauge', 'Time since the Redis server started (seconds).'],
  ['io_threads_active', 'redis_io_threads_active', 'gauge', 'Whether I/O threads are active (boolean).'],
  ['configured_hz', 'redis_configured_hz', 'gauge', 'Configured server frequency (hertz).'],
  ['hz', 'redis_hz', 'gauge', 'Current server frequency (hertz).'],
  ['process_id', 'redis_process_id', 'gauge', 'Process id of the Redis server (id).'],
]

// biome-ignore format: one line per INFO field
const clients: readonly InfoRow[] = [
  ['connected_clients', 'redis_connected_clients', 'gauge', 'Client connections, replicas excluded (count).'],
  ['blocked_clients', 'redis_blocked_clients', 'gauge', 'Clients waiting in a blocking command (count).'],
  ['tracking_clients', 'redis_tracking_clients', 'gauge', 'Clients using client-side caching tracking (count).'],
  ['maxclients', 'redis_max_clients', 'gauge', 'Configured maximum number of clients (count).'],
  ['maxclients', 'redis_config_maxclients', 'gauge', 'Configured maximum number of clients, from INFO (count).'],
  ['client_recent_max_input_buffer', 'redis_client_recent_max_input_buffer_bytes', 'gauge', 'Biggest client input buffer lately (bytes).'],
  ['client_recent_max_output_buffer', 'redis_client_recent_max_output_buffer_bytes', 'gauge', 'Biggest client output buffer lately (bytes).'],
  ['clients_in_timeout_table', 'redis_clients_in_timeout_table', 'gauge', 'Clients in the timeout table (count).'],
]

// biome-ignore format: one line per INFO field
const memory: readonly InfoRow[] = [
  ['maxmemory', 'redis_config_maxmemory', 'gauge', 'Configured maxmemory, from INFO; 0 when unlimited (bytes).'],
  ['used_memory', 'redis_memory_used_bytes', 'gauge', 'Memory allocated by Redis (bytes).'],
  ['used_memory_rss', 'redis_memory_used_rss_bytes', 'gauge', 'Resident memory of the Redis process (bytes).'],
  ['used_memory_peak', 'redis_memory_used_peak_bytes', 'gauge', 'Peak memory allocated by Redis (bytes).'],
  ['used_memory_lua', 'redis_memory_used_lua_bytes', 'gauge', 'Memory used by the Lua engine (bytes).'],
  ['used_memory_scripts', 'redis_memory_used_scripts_bytes', 'gauge', 'Memory used by cached scripts (bytes).'],
  ['used_memory_overhead', 'redis_memory_used_overhead_bytes', 'gauge', 'Memory spent on server overhead (bytes).'],
  ['used_memory_dataset', 'redis_memory_used_dataset_bytes', 'gauge', 'Memory used by the dataset (bytes).'],
  ['used_memory_startup', 'redis_memory_used_startup_bytes', 'gauge', 'Memory used at startup (bytes).'],
  ['maxmemory', 'redis_memory_max_bytes', 'gauge', 'Configured maxmemory, 0 when unlimited (bytes).'],
  ['total_system_memory', 'redis_total_system_memory_bytes', 'gauge', 'Memory of the host Redis runs on, as Redis sees it (bytes).'],
  ['mem_fragmentation_ratio', 'redis_mem_fragmentation_ratio', 'gauge', 'RSS divided by used memory (ratio).'],
  ['mem_fragmentation_bytes', 'redis_mem_fragmentation_bytes', 'gauge', 'RSS minus used memory (bytes).'],
  ['active_defrag_running', 'redis_active_defrag_running', 'gauge', 'Whether active defragmentation runs (boolean).'],
  ['lazyfree_pending_objects', 'redis_lazyfree_pending_objects', 'gauge', 'Objects waiting to be freed (count).'],
  ['number_of_cached_scripts', 'redis_number_of_cached_scripts', 'gauge', 'Cached Lua scripts (count).'],
  ['allocator_allocated', 'redis_allocator_allocated_bytes', 'gauge', 'Memory allocated by the allocator (bytes).'],
  ['allocator_active', 'redis_allocator_active_bytes', 'gauge', 'Memory in active allocator pages (bytes).'],
  ['allocator_resident', 'redis_allocator_resident_bytes', 'gauge', 'Memory resident in the allocator (bytes).'],
  ['allocator_frag_ratio', 'redis_allocator_frag_ratio', 'gauge', 'Allocator fragmentation, active over allocated (ratio).'],
  ['allocator_frag_bytes', 'redis_allocator_frag_bytes', 'gauge', 'Allocator fragmentation (bytes).'],
  ['allocator_rss_ratio', 'redis_allocator_rss_ratio', 'gauge', 'Allocator resident over active (ratio).'],
  ['allocator_rss_bytes', 'redis_allocator_rss_bytes', 'gauge', 'Allocator resident minus active (bytes).'],
  ['used_memory_vm_eval', 'redis_memory_used_vm_eval_bytes', 'gauge', 'Memory used by the Lua eval engine (bytes).'],
  ['used_memory_scripts_eval', 'redis_memory_used_scripts_eval_bytes', 'gauge', 'Memory used by eval scripts (bytes).'],
  ['used_memory_vm_functions', 'redis_memory_used_vm_functions_bytes', 'gauge', 'Memory used by the functions engine (bytes).'],
  ['used_memory_functions', 'redis_memory_used_functions_bytes', 'gauge', 'Memory used by functions (bytes).'],
  ['used_memory_vm_total', 'redis_memory_used_vm_total', 'gauge', 'Memory used by all script engines (bytes).'],
  ['number_of_functions', 'redis_number_of_functions', 'gauge', 'Loaded functions (count).'],
  ['number_of_libraries', 'redis_number_of_libraries', 'gauge', 'Loaded function libraries (count).'],
  ['mem_clients_slaves', 'redis_mem_clients_slaves', 'gauge', 'Memory used by replica client buffers (bytes).'],
  ['mem_clients_normal', 'redis_mem_clients_normal', 'gauge', 'Memory used by normal client buffers (bytes).'],
  ['mem_aof_buffer', 'redis_mem_aof_buffer_bytes', 'gauge', 'Memory used by the AOF buffer (bytes).'],
  ['mem_replication_backlog', 'redis_mem_replication_backlog_bytes', 'gauge', 'Memory used by the replication backlog (bytes).'],
  ['mem_total_replication_buffers', 'redis_mem_total_replication_buffers_bytes', 'gauge', 'Memory used by replication buffers (bytes).'],
  ['mem_not_counted_for_evict', 'redis_mem_not_counted_for_eviction_bytes', 'gauge', 'Memory not counted for eviction (bytes).'],
  ['lazyfreed_objects', 'redis_lazyfreed_objects', 'gauge', 'Objects freed lazily since start (count).'],
]

// biome-ignore format: one line per INFO field
const persistence: readonly InfoRow[] = [
  ['rdb_changes_since_last_save', 'redis_rdb_changes_since_last_save', 'gauge', 'Writes since the last RDB save (count).'],
  ['rdb_bgsave_in_progress', 'redis_rdb_bgsave_in_progress', 'gauge', 'Whether a BGSAVE runs (boolean).'],
  ['rdb_last_save_time', 'redis_rdb_last_save_timestamp_seconds', 'gauge', 'Time of the last successful RDB save (unix seconds).'],
  ['rdb_last_bgsave_status', 'redis_rdb_last_bgsave_status', 'gauge', 'Whether the last BGSAVE succeeded (boolean).', 'okToOne'],
  ['rdb_last_bgsave_time_sec', 'redis_rdb_last_bgsave_duration_sec', 'gauge', 'Duration of the last BGSAVE (seconds).'],
  ['aof_enabled', 'redis_aof_enabled', 'gauge', 'Whether AOF persistence is on (boolean).'],
  ['aof_rewrite_in_progress', 'redis_aof_rewrite_in_progress', 'gauge', 'Whether an AOF rewrite runs (boolean).'],
  ['aof_last_bgrewrite_status', 'redis_aof_last_bgrewrite_status', 'gauge', 'Whether the last AOF rewrite succeeded (boolean).', 'okToOne'],
  ['loading', 'redis_loading_dump_file', 'gauge', 'Whether the server is loading a dump file (boolean).'],
  ['async_loading', 'redis_async_loading', 'gauge', 'Whether a replica loads a dump asynchronously (boolean).'],
  ['rdb_current_bgsave_time_sec', 'redis_rdb_current_bgsave_duration_sec', 'gauge', 'Duration of the running BGSAVE, -1 when none (seconds).'],
  ['rdb_saves', 'redis_rdb_saves_total', 'counter', 'RDB saves since start (count).'],
  ['rdb_last_cow_size', 'redis_rdb_last_cow_size_bytes', 'gauge', 'Copy-on-write memory of the last RDB save (bytes).'],
  ['rdb_last_load_keys_expired', 'redis_rdb_last_load_expired_keys', 'gauge', 'Expired keys skipped by the last RDB load (count).'],
  ['rdb_last_load_keys_loaded', 'redis_rdb_last_load_loaded_keys', 'gauge', 'Keys loaded by the last RDB load (count).'],
  ['aof_rewrite_scheduled', 'redis_aof_rewrite_scheduled', 'gauge', 'Whether an AOF rewrite is scheduled (boolean).'],
  ['aof_last_rewrite_time_sec', 'redis_aof_last_rewrite_duration_sec', 'gauge', 'Duration of the last AOF rewrite (seconds).'],
  ['aof_current_rewrite_time_sec', 'redis_aof_current_rewrite_duration_sec', 'gauge', 'Duration of the running AOF rewrite, -1 when none (seconds).'],
  ['aof_last_cow_size', 'redis_aof_last_cow_size_bytes', 'gauge', 'Copy-on-write memory of the last AOF rewrite (bytes).'],
  ['aof_current_size', 'redis_aof_current_size_bytes', 'gauge', 'Current AOF size (bytes).'],
  ['aof_base_size', 'redis_aof_base_size_bytes', 'gauge', 'AOF size at the last rewrite (bytes).'],
  ['aof_pending_rewrite', 'redis_aof_pending_rewrite', 'gauge', 'Whether an AOF rewrite waits for a BGSAVE (boolean).'],
  ['aof_buffer_length', 'redis_aof_buffer_length', 'gauge', 'AOF buffer length (bytes).'],
  ['aof_pending_bio_fsync', 'redis_aof_pending_bio_fsync', 'gauge', 'fsync jobs waiting in the background queue (count).'],
  ['aof_delayed_fsync', 'redis_aof_delayed_fsync', 'gauge', 'Delayed AOF fsyncs (count).'],
  ['aof_last_write_status', 'redis_aof_last_write_status', 'gauge', 'Whether the last AOF write succeeded (boolean).', 'okToOne'],
  ['module_fork_in_progress', 'redis_module_fork_in_progress', 'gauge', 'Whether a module fork runs (boolean).'],
  ['module_fork_last_cow_size', 'redis_module_fork_last_cow_size', 'gauge', 'Copy-on-write memory of the last module fork (bytes).'],
]

// biome-ignore format: one line per INFO field
const stats: readonly InfoRow[] = [
  ['total_connections_received', 'redis_connections_received_total', 'counter', 'Connections accepted by the server (count).'],
  ['total_commands_processed', 'redis_commands_processed_total', 'counter', 'Commands processed by the server (count).'],
  ['rejected_connections', 'redis_rejected_connections_total', 'counter', 'Connections rejected because of maxclients (count).'],
  ['total_net_input_bytes', 'redis_net_input_bytes_total', 'counter', 'Bytes read from the network (bytes).'],
  ['total_net_output_bytes', 'redis_net_output_bytes_total', 'counter', 'Bytes written to the network (bytes).'],
  ['keyspace_hits', 'redis_keyspace_hits_total', 'counter', 'Successful key lookups (count).'],
  ['keyspace_misses', 'redis_keyspace_misses_total', 'counter', 'Failed key lookups (count).'],
  ['evicted_keys', 'redis_evicted_keys_total', 'counter', 'Keys evicted because of maxmemory (count).'],
  ['expired_keys', 'redis_expired_keys_total', 'counter', 'Keys expired by TTL (count).'],
  ['total_error_replies', 'redis_total_error_replies', 'counter', 'Error replies sent to clients (count).'],
  ['pubsub_channels', 'redis_pubsub_channels', 'gauge', 'Pub/sub channels with subscribers (count).'],
  ['pubsub_patterns', 'redis_pubsub_patterns', 'gauge', 'Pub/sub patterns with subscribers (count).'],
  ['latest_fork_usec', 'redis_latest_fork_seconds', 'gauge', 'Duration of the latest fork (seconds).', 'usecToSeconds'],
  ['expired_stale_perc', 'redis_expired_stale_percentage', 'gauge', 'Estimated share of expired keys not yet reclaimed (percent).'],
  ['expired_time_cap_reached_count', 'redis_expired_time_cap_reached_total', 'counter', 'Active expire cycles stopped by their time cap (count).'],
  ['expire_cycle_cpu_milliseconds', 'redis_expire_cycle_cpu_time_ms_total', 'counter', 'CPU spent on active expiry (milliseconds).'],
  ['evicted_clients', 'redis_evicted_clients_total', 'counter', 'Clients evicted because of maxmemory-clients (count).'],
  ['total_eviction_exceeded_time', 'redis_eviction_exceeded_time_ms_total', 'counter', 'Time used memory was above maxmemory (milliseconds).'],
  ['current_eviction_exceeded_time', 'redis_current_eviction_exceeded_time_ms', 'gauge', 'Time used memory has been above maxmemory, now (milliseconds).'],
  ['active_defrag_hits', 'redis_defrag_hits', 'gauge', 'Values moved by active defragmentation (count).'],
  ['active_defrag_misses', 'redis_defrag_misses', 'gauge', 'Values active defragmentation skipped (count).'],
  ['active_defrag_key_hits', 'redis_defrag_key_hits', 'gauge', 'Keys actively defragmented (count).'],
  ['active_defrag_key_misses', 'redis_defrag_key_misses', 'gauge', 'Keys active defragmentation skipped (count).'],
  ['total_net_repl_input_bytes', 'redis_net_repl_input_bytes_total', 'counter', 'Bytes read for replication (bytes).'],
  ['total_net_repl_output_bytes', 'redis_net_repl_output_bytes_total', 'counter', 'Bytes written for replication (bytes).'],
  ['unexpected_error_replies', 'redis_unexpected_error_replies', 'counter', 'Unexpected error replies, e.g. from AOF load or replication (count).'],
  ['dump_payload_sanitizations', 'redis_dump_payload_sanitizations', 'counter', 'Deep sanitizations of DUMP payloads (count).'],
  ['total_reads_processed', 'redis_total_reads_processed', 'counter', 'Read events processed (count).'],
  ['total_writes_processed', 'redis_total_writes_processed', 'counter', 'Write events processed (count).'],
  ['io_threaded_reads_processed', 'redis_io_threaded_reads_processed', 'counter', 'Read events processed by I/O threads (count).'],
  ['io_threaded_writes_processed', 'redis_io_threaded_writes_processed', 'counter', 'Write events processed by I/O threads (count).'],
  ['acl_access_denied_auth', 'redis_acl_access_denied_auth_total', 'counter', 'Authentication failures (count).'],
  ['acl_access_denied_cmd', 'redis_acl_access_denied_cmd_total', 'counter', 'Commands denied by ACL (count).'],
  ['acl_access_denied_key', 'redis_acl_access_denied_key_total', 'counter', 'Key accesses denied by ACL (count).'],
  ['acl_access_denied_channel', 'redis_acl_access_denied_channel_total', 'counter', 'Channel accesses denied by ACL (count).'],
  ['pubsubshard_channels', 'redis_pubsubshard_channels', 'gauge', 'Shard pub/sub channels with subscribers (count).'],
  ['tracking_total_keys', 'redis_tracking_total_keys', 'gauge', 'Keys tracked for client-side caching (count).'],
  ['tracking_total_items', 'redis_tracking_total_items', 'gauge', 'Items tracked for client-side caching (count).'],
  ['tracking_total_prefixes', 'redis_tracking_total_prefixes', 'gauge', 'Prefixes tracked for client-side caching (count).'],
  ['slave_expires_tracked_keys', 'redis_slave_expires_tracked_keys', 'gauge', 'Keys a writable replica tracks for expiry (count).'],
  ['sync_full', 'redis_replica_resyncs_full', 'gauge', 'Full resynchronisations with replicas (count).'],
  ['sync_partial_ok', 'redis_replica_partial_resync_accepted', 'gauge', 'Partial resynchronisations accepted (count).'],
  ['sync_partial_err', 'redis_replica_partial_resync_denied', 'gauge', 'Partial resynchronisations denied (count).'],
  ['migrate_cached_sockets', 'redis_migrate_cached_sockets_total', 'gauge', 'Sockets cached for MIGRATE (count).'],
]

// biome-ignore format: one line per INFO field
const replication: readonly InfoRow[] = [
  ['connected_slaves', 'redis_connected_slaves', 'gauge', 'Connected replicas (count).'],
  ['master_repl_offset', 'redis_master_repl_offset', 'gauge', 'Replication offset of this server (bytes).'],
  ['repl_backlog_active', 'redis_repl_backlog_is_active', 'gauge', 'Whether the replication backlog is on (boolean).'],
  ['repl_backlog_size', 'redis_replication_backlog_bytes', 'gauge', 'Size of the replication backlog (bytes).'],
  ['repl_backlog_first_byte_offset', 'redis_repl_backlog_first_byte_offset', 'gauge', 'Replication offset of the first backlog byte (bytes).'],
  ['repl_backlog_histlen', 'redis_repl_backlog_history_bytes', 'gauge', 'Data in the replication backlog (bytes).'],
  ['second_repl_offset', 'redis_second_repl_offset', 'gauge', 'Offset up to which the previous replication id is accepted (bytes).'],
  ['slave_priority', 'redis_slave_priority', 'gauge', 'Replica priority for failover (number).'],
]

// biome-ignore format: one line per INFO field
const cpu: readonly InfoRow[] = [
  ['used_cpu_sys', 'redis_cpu_sys_seconds_total', 'counter', 'System CPU used by Redis (seconds).'],
  ['used_cpu_user', 'redis_cpu_user_seconds_total', 'counter', 'User CPU used by Redis (seconds).'],
  ['used_cpu_sys_children', 'redis_cpu_sys_children_seconds_total', 'counter', 'System CPU used by background processes (seconds).'],
  ['used_cpu_user_children', 'redis_cpu_user_children_seconds_total', 'counter', 'User CPU used by background processes (seconds).'],
  ['used_cpu_sys_main_thread', 'redis_cpu_sys_main_thread_seconds_total', 'counter', 'System CPU used by the main thread (seconds).'],
  ['used_cpu_user_main_thread', 'redis_cpu_user_main_thread_seconds_total', 'counter', 'User CPU used by the main thread (seconds).'],
]

/** The INFO field tables by the section their fields come from (`# Server`, `# Clients`, ...). */
export const infoSections = { server, clients, memory, persistence, stats, replication, cpu } as const

/** Families copied from one INFO field each, under redis_exporter's names. */
export const infoFieldMetrics: readonly InfoFamily[] = Object.values(infoSections).flatMap((rows) =>
  rows.map(([field, name, type, help, convert]) =>
    convert ? { field, name, type, help, convert } : { field, name, type, help },
  ),
)

/** INFO fields copied as labels of redis_instance_info, as redis_exporter does. */
export const INSTANCE_INFO_LABELS = [
  'redis_version',
  'redis_build_id',
  'redis_mode',
  'os',
  'role',
  'maxmemory_policy',
  'tcp_port',
  'run_id',
  'process_id',
  'master_replid',
] as const

export const serverMetrics = {
  up: {
    name: 'redis_up',
    help: 'Whether the latest collection from Redis succeeded: 1 up, 0 down (boolean).',
  },
  instanceInfo: {
    name: 'redis_instance_info',
    help: 'Information about the Redis instance, always 1 (info).',
    labelNames: INSTANCE_INFO_LABELS,
  },
  startTime: { name: 'redis_start_time_seconds', help: 'Time the Redis server started (unix seconds).' },
  masterLinkUp: {
    name: 'redis_master_link_up',
    help: 'Whether a replica is connected to its master: 1 up, 0 down (boolean).',
    labelNames: ['master_host', 'master_port'] as const,
  },
  masterLastIo: {
    name: 'redis_master_last_io_seconds_ago',
    help: 'Time since the last interaction with the master, on a replica (seconds).',
    labelNames: ['master_host', 'master_port'] as const,
  },
  masterSyncInProgress: {
    name: 'redis_master_sync_in_progress',
    help: 'Whether a replica is syncing from its master (boolean).',
    labelNames: ['master_host', 'master_port'] as const,
  },
  slaveReplOffset: {
    name: 'redis_slave_repl_offset',
    help: 'Replication offset of a replica (bytes).',
    labelNames: ['master_host', 'master_port'] as const,
  },
  slaveInfo: {
    name: 'redis_slave_info',
    help: 'Information about a replica and its master, always 1 (info).',
    labelNames: ['master_host', 'master_port', 'read_only'] as const,
  },
  connectedSlaveOffset: {
    name: 'redis_connected_slave_offset_bytes',
    help: 'Replication offset acknowledged by each connected replica (bytes).',
    labelNames: ['slave_ip', 'slave_port', 'slave_state'] as const,
  },
  connectedSlaveLag: {
    name: 'redis_connected_slave_lag_seconds',
    help: 'Time since each connected replica last acknowledged (seconds).',
    labelNames: ['slave_ip', 'slave_port', 'slave_state'] as const,
  },
  dbKeys: { name: 'redis_db_keys', help: 'Keys in the database (count).', labelNames: ['db'] as const },
  dbKeysExpiring: {
    name: 'redis_db_keys_expiring',
    help: 'Keys with a TTL in the database (count).',
    labelNames: ['db'] as const,
  },
  dbAvgTtl: {
    name: 'redis_db_avg_ttl_seconds',
    help: 'Average TTL of the keys with a TTL in the database (seconds).',
    labelNames: ['db'] as const,
  },
  commandCalls: {
    name: 'redis_commands_total',
    help: 'Calls per command, from INFO commandstats (count).',
    labelNames: ['cmd'] as const,
  },
  commandDuration: {
    name: 'redis_commands_duration_seconds_total',
    help: 'Time spent per command, from INFO commandstats (seconds).',
    labelNames: ['cmd'] as const,
  },
  commandRejected: {
    name: 'redis_commands_rejected_calls_total',
    help: 'Rejected calls per command (count).',
    labelNames: ['cmd'] as const,
  },
  commandFailed: {
    name: 'redis_commands_failed_calls_total',
    help: 'Failed calls per command (count).',
    labelNames: ['cmd'] as const,
  },
  errors: {
    name: 'redis_errors_total',
    help: 'Error replies by error prefix (count).',
    labelNames: ['err'] as const,
  },
  latencyPercentiles: {
    name: 'redis_latency_percentiles_usec',
    help: 'Per-command latency percentiles from INFO latencystats (microseconds).',
    labelNames: ['cmd'] as const,
  },
  latencySpikeLast: {
    name: 'redis_latency_spike_last',
    help: 'When the latest spike of each LATENCY event happened (unix seconds).',
    labelNames: ['event_name'] as const,
  },
  latencySpikeDuration: {
    name: 'redis_latency_spike_duration_seconds',
    help: 'Duration of the latest spike of each LATENCY event (seconds).',
    labelNames: ['event_name'] as const,
  },
  slowlogLength: { name: 'redis_slowlog_length', help: 'Entries in the slow log (count).' },
  slowlogLastId: { name: 'redis_slowlog_last_id', help: 'Id of the newest slow log entry (id).' },
  lastSlowExecution: {
    name: 'redis_last_slow_execution_duration_seconds',
    help: 'Duration of the newest slow log entry (seconds).',
  },
  keyGroupCount: {
    name: 'redis_key_group_count',
    help: 'Keys in the key group; an estimate when the sampled fraction is below 1 (count).',
    labelNames: ['db', 'key_group'] as const,
  },
  keyGroupMemory: {
    name: 'redis_key_group_memory_usage_bytes',
    help: 'Memory used by the keys of the key group, from MEMORY USAGE; an estimate when sampled (bytes).',
    labelNames: ['db', 'key_group'] as const,
  },
  distinctKeyGroups: {
    name: 'redis_number_of_distinct_key_groups',
    help: 'Distinct key groups found by the latest pass, before folding into overflow (count).',
    labelNames: ['db'] as const,
  },
  keyGroupsDuration: {
    name: 'redis_last_key_groups_scrape_duration_milliseconds',
    help: 'Duration of the latest complete key-group pass (milliseconds).',
  },
  keyGroupsSampledFraction: {
    name: 'redis_key_groups_sampled_fraction',
    help: 'Fraction of the keyspace the latest key-group pass scanned: 1 exact, below 1 an estimate (ratio).',
    labelNames: ['db'] as const,
  },
  keyGroupsAge: {
    name: 'redis_key_groups_age_seconds',
    help: 'Time since the latest complete key-group pass ended (seconds).',
  },
  memoryPurges: {
    name: 'redis_monitor_memory_purges_total',
    help: 'MEMORY PURGE runs triggered by AUTO_MEMORY_PURGE, by result (count).',
    labelNames: ['result'] as const,
  },
} as const
