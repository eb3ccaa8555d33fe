/**
 * Sentinel families, one line each, under redis_exporter 1.88's names and labels (exporter.go's
 * description map, sentinels.go): the INFO `# Sentinel` fields, the per-master `masterN:` lines of
 * INFO, and what `SENTINEL MASTERS / SENTINELS / SLAVES / CKQUORUM` answer per master. Present
 * only when the scraped target is a Sentinel.
 */

export interface SentinelFamily {
  name: string
  help: string
  labelNames: readonly string[]
}

const MASTER = ['master_name', 'master_address'] as const

/** INFO `# Sentinel` fields copied through as gauges (the field name after `redis_`). */
export const sentinelInfoFields = [
  { field: 'sentinel_masters', help: 'The number of masters this sentinel is watching (count).' },
  { field: 'sentinel_tilt', help: 'Sentinel is in TILT mode (1 yes, 0 no).' },
  { field: 'sentinel_running_scripts', help: 'Number of scripts in execution right now (count).' },
  { field: 'sentinel_scripts_queue_length', help: 'Queue of user scripts to execute (count).' },
  { field: 'sentinel_simulate_failure_flags', help: 'Failures simulations (bit flags, 0 none).' },
] as const

export const sentinelMetrics = {
  masterStatus: {
    name: 'redis_sentinel_master_status',
    help: 'Master status on Sentinel (1 when master_status is ok, else 0).',
    labelNames: [...MASTER, 'master_status'],
  },
  masterSlaves: {
    name: 'redis_sentinel_master_slaves',
    help: 'The number of slaves of the master (count).',
    labelNames: MASTER,
  },
  masterSentinels: {
    name: 'redis_sentinel_master_sentinels',
    help: 'The number of sentinels monitoring this master, this one included (count).',
    labelNames: MASTER,
  },
  masterOkSlaves: {
    name: 'redis_sentinel_master_ok_slaves',
    help: 'The number of okay slaves of the master: neither s_down nor o_down (count).',
    labelNames: MASTER,
  },
  masterOkSentinels: {
    name: 'redis_sentinel_master_ok_sentinels',
    help: 'The number of okay sentinels monitoring this master, this one included (count).',
    labelNames: MASTER,
  },
  masterCkquorumStatus: {
    name: 'redis_sentinel_master_ckquorum_status',
    help: 'Master ckquorum status: 1 when SENTINEL CKQUORUM says quorum and failover authorization can be reached, else 0 (message: its reply).',
    labelNames: ['master_name', 'message'],
  },
  masterSettingCkquorum: {
    name: 'redis_sentinel_master_setting_ckquorum',
    help: 'Show the current ckquorum config for each master (Sentinels needed to agree, count).',
    labelNames: MASTER,
  },
  masterSettingFailoverTimeout: {
    name: 'redis_sentinel_master_setting_failover_timeout',
    help: 'Show the current failover-timeout config for each master (milliseconds).',
    labelNames: MASTER,
  },
  masterSettingParallelSyncs: {
    name: 'redis_sentinel_master_setting_parallel_syncs',
    help: 'Show the current parallel-syncs config for each master (replicas at a time, count).',
    labelNames: MASTER,
  },
  masterSettingDownAfterMilliseconds: {
    name: 'redis_sentinel_master_setting_down_after_milliseconds',
    help: 'Show the current down-after-milliseconds config for each master (milliseconds).',
    labelNames: MASTER,
  },
  masterConfigEpoch: {
    name: 'redis_sentinel_master_config_epoch',
    help: 'The config epoch of the master: it grows by one with each failover (epoch number).',
    labelNames: MASTER,
  },
  masterLastOkPingReply: {
    name: 'redis_sentinel_master_last_ok_ping_reply_seconds',
    help: 'Time since the master last answered a PING with a valid reply (seconds).',
    labelNames: MASTER,
  },
} as const satisfies Record<string, SentinelFamily>

/** Client side: the pool following the master the Sentinels name. */
export const sentinelPoolMetrics = {
  failovers: {
    name: 'redis_pool_failovers_total',
    help: 'Times the pool moved to a new master the Sentinels named (+switch-master or a changed address, count).',
    labelNames: ['pool'] as const,
  },
} as const
