/**
 * The redis-pool-monitor dashboard as code. `npm run generate:dashboard` writes it to
 * grafana/dashboards/redis-pool-monitor.json; test/stack/dashboard.test.ts checks the two agree.
 * Every panel and query names the provisioned datasource by uid: `${DS_...}` inputs do not resolve
 * under file provisioning.
 */

import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge'
import type * as cog from '@grafana/grafana-foundation-sdk/cog'
import { type DataSourceRef, ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common'
import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  MappingType,
  type Panel,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard'
import { PanelBuilder as GaugePanel } from '@grafana/grafana-foundation-sdk/gauge'
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus'
import { PanelBuilder as StatePanel } from '@grafana/grafana-foundation-sdk/statetimeline'
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries'

export const DASHBOARD_UID = 'redis-pool-monitor'
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: 'prometheus' }

/** Label matchers every query carries: the dashboard's job and instance variables. */
const SELECTOR = 'job="$job", instance=~"$instance"'

const query = (expr: string, legend: string, refId: string) =>
  new DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend).refId(refId)

const rate = (family: string, extra = '') => `rate(${family}{${SELECTOR}${extra}}[$__rate_interval])`

const quantile = (q: number) =>
  `histogram_quantile(${q}, sum by (pool, le) (${rate('redis_operation_duration_seconds_bucket')}))`

/** Gauges show the latest sample, not an average over the time range. */
const latest = () => new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false)

const thresholds = (...steps: Array<[number | null, string]>) =>
  new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })))

/** Each panel builder type shares these field options; the helper keeps every panel alike. */
interface Common<T> {
  title(title: string): T
  description(description: string): T
  datasource(ref: DataSourceRef): T
  unit(unit: string): T
  span(w: number): T
  height(h: number): T
  withTarget(target: cog.Builder<cog.Dataquery>): T
}

function panel<T extends Common<T>>(
  builder: T,
  {
    title,
    description,
    unit,
    w,
    h = 8,
  }: { title: string; description: string; unit: string; w: number; h?: number },
  ...targets: DataqueryBuilder[]
): T {
  let built = builder
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(w)
    .height(h)
  for (const target of targets) built = built.withTarget(target)
  return built
}

function poolPanels(): cog.Builder<Panel>[] {
  return [
    panel(
      new GaugePanel()
        .min(0)
        .max(100)
        .thresholds(thresholds([null, 'green'], [80, 'orange'], [90, 'red']))
        .showThresholdMarkers(true)
        .reduceOptions(latest()),
      {
        title: 'Pool utilization: now and between scrapes',
        description:
          'now: active / max connections at the scrape (short operations between scrapes read 0). ' +
          'between scrapes: rate of busy connection-seconds / max connections over the interval. ' +
          'RedisPoolHighUtilization fires when either is above 80 % for 5m, ' +
          'RedisPoolCriticalUtilization above 90 % for 2m.',
        unit: 'percent',
        w: 6,
      },
      query(`redis_pool_utilization_percent{${SELECTOR}}`, 'now {{instance}} {{pool}}', 'A'),
      query(
        `100 * ${rate('redis_pool_connection_busy_seconds_total')} / on (job, instance, pool) redis_pool_max_connections{${SELECTOR}}`,
        'between scrapes {{instance}} {{pool}}',
        'B',
      ),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Pool connections: max vs active',
        description: 'Connections the pool may hold, those carrying operations, and idle ones.',
        unit: 'short',
        w: 9,
      },
      query(`redis_pool_max_connections{${SELECTOR}}`, 'max {{pool}}', 'A'),
      query(`redis_pool_active_connections{${SELECTOR}}`, 'active {{pool}}', 'B'),
      query(`redis_pool_idle_connections{${SELECTOR}}`, 'idle {{pool}}', 'C'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Operations waiting for a connection',
        description:
          'Operations queued because every connection slot is taken; above 0 the pool is the bottleneck.',
        unit: 'short',
        w: 9,
      },
      query(`redis_pool_pending_acquires{${SELECTOR}}`, 'waiting {{pool}}', 'A'),
    ),
    panel(
      new StatePanel()
        .mappings([
          {
            type: MappingType.ValueToText,
            options: {
              '0': { text: 'closed', color: 'green', index: 0 },
              '1': { text: 'half-open', color: 'orange', index: 1 },
              '2': { text: 'open', color: 'red', index: 2 },
            },
          },
        ])
        .thresholds(thresholds([null, 'green'], [1, 'orange'], [2, 'red'])),
      {
        title: 'Circuit breaker state',
        description:
          'closed: calls go to Redis; open: calls fail at once with circuit_open; half-open: trial calls.',
        unit: 'none',
        w: 24,
        h: 5,
      },
      query(`redis_circuit_breaker_state{${SELECTOR}}`, '{{instance}} {{pool}}', 'A'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Operation latency p50 / p95 / p99',
        description: 'Quantiles of redis_operation_duration_seconds over every command of the pool.',
        unit: 's',
        w: 8,
      },
      query(quantile(0.5), 'p50 {{pool}}', 'A'),
      query(quantile(0.95), 'p95 {{pool}}', 'B'),
      query(quantile(0.99), 'p99 {{pool}}', 'C'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Operations per second',
        description: 'Commands, pipelines and transactions sent through the pool, by command.',
        unit: 'ops',
        w: 8,
      },
      query(`sum by (command) (${rate('redis_operation_duration_seconds_count')})`, '{{command}}', 'A'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Errors per second by type',
        description:
          'timeout and connection errors trip the breaker; reply errors (WRONGTYPE, ...) are the ' +
          "caller's; circuit_open and pool_exhausted are calls refused before reaching Redis.",
        unit: 'count:errors/s',
        w: 8,
      },
      query(`sum by (type) (${rate('redis_operation_errors_total')})`, '{{type}}', 'A'),
    ),
  ]
}

function serverPanels(): cog.Builder<Panel>[] {
  return [
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Memory used vs max',
        description:
          'used_memory against maxmemory (not drawn when maxmemory is 0, i.e. unlimited). ' +
          'RedisMemoryHigh fires above 75 %, RedisMemoryCritical above 90 %.',
        unit: 'bytes',
        w: 8,
      },
      query(`redis_memory_used_bytes{${SELECTOR}}`, 'used {{instance}}', 'A'),
      query(`redis_memory_max_bytes{${SELECTOR}} > 0`, 'max {{instance}}', 'B'),
    ),
    panel(
      new TimeseriesPanel().min(0).max(100),
      {
        title: 'Keyspace hit rate',
        description: 'hits / (hits + misses) of key lookups. RedisHitRateLow fires below 50 % with traffic.',
        unit: 'percent',
        w: 8,
      },
      query(
        `100 * ${rate('redis_keyspace_hits_total')} / (${rate('redis_keyspace_hits_total')} + ${rate('redis_keyspace_misses_total')})`,
        '{{instance}}',
        'A',
      ),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Clients',
        description: 'Client connections to Redis (every application, not only this pool) and blocked ones.',
        unit: 'short',
        w: 8,
      },
      query(`redis_connected_clients{${SELECTOR}}`, 'connected {{instance}}', 'A'),
      query(`redis_blocked_clients{${SELECTOR}}`, 'blocked {{instance}}', 'B'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Evictions and expirations',
        description: 'Keys removed because memory was full (evicted) or because their TTL ran out (expired).',
        unit: 'count:keys/s',
        w: 8,
      },
      query(rate('redis_evicted_keys_total'), 'evicted {{instance}}', 'A'),
      query(rate('redis_expired_keys_total'), 'expired {{instance}}', 'B'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Keys per database',
        description: 'Keys in each database, and how many of them carry a TTL.',
        unit: 'short',
        w: 8,
      },
      query(`redis_db_keys{${SELECTOR}}`, '{{db}}', 'A'),
      query(`redis_db_keys_expiring{${SELECTOR}}`, '{{db}} expiring', 'B'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Probe latency',
        description: 'Round trip of the latest PING probe, outside the pool queue.',
        unit: 'ms',
        w: 8,
      },
      query(`redis_connection_latency_ms{${SELECTOR}}`, '{{instance}} {{pool}}', 'A'),
    ),
    panel(
      new BarGaugePanel().min(0).reduceOptions(latest()),
      {
        title: 'Key groups by memory',
        description:
          'Memory of the KEY_GROUPS patterns (top 20), measured with MEMORY USAGE in the background.',
        unit: 'bytes',
        w: 24,
      },
      query(
        `sort_desc(topk(20, redis_key_group_memory_usage_bytes{${SELECTOR}}))`,
        '{{db}} {{key_group}}',
        'A',
      ).instant(),
    ),
  ]
}

/** The cache layer (createCache; the demo's workload): what only the client side can see. */
function cachePanels(): cog.Builder<Panel>[] {
  const lookups = (results: string) =>
    `sum by (pool, namespace) (${rate('redis_cache_requests_total', `, result=~"${results}"`)})`
  return [
    panel(
      new TimeseriesPanel().min(0).max(100),
      {
        title: 'Cache hit rate by namespace',
        description:
          'Lookups answered from the cache over all lookups, per namespace, as the application sees ' +
          'them (fallback hits included). No server-side exporter can split the keyspace hit rate by ' +
          'namespace; namespaces not configured in createCache are counted as "other".',
        unit: 'percent',
        w: 8,
      },
      query(
        `100 * ${lookups('hit|fallback_hit')} / ${lookups('hit|miss|fallback_hit|fallback_miss')}`,
        '{{pool}} {{namespace}}',
        'A',
      ),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Cache lookups per second by result',
        description:
          'hit and miss are answered by Redis; fallback_hit and fallback_miss by the in-memory ' +
          'fallback while Redis is unavailable; error is a call that threw (reply error, bad value).',
        unit: 'ops',
        w: 6,
      },
      query(`sum by (result) (${rate('redis_cache_requests_total')})`, '{{result}}', 'A'),
    ),
    panel(
      new StatePanel()
        .mappings([
          {
            type: MappingType.ValueToText,
            options: {
              '0': { text: 'Redis', color: 'green', index: 0 },
              '1': { text: 'fallback', color: 'orange', index: 1 },
            },
          },
        ])
        .thresholds(thresholds([null, 'green'], [1, 'orange'])),
      {
        title: 'Cache fallback state',
        description:
          'Redis: the cache reads and writes Redis. fallback: Redis is unavailable and the cache ' +
          'serves a bounded in-memory copy (RedisCacheFallbackActive fires after 1m).',
        unit: 'none',
        w: 5,
      },
      query(`redis_cache_fallback_active{${SELECTOR}}`, '{{instance}} {{pool}}', 'A'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Cache fallback entries',
        description:
          'Entries the in-memory fallback holds (bounded by fallback.maxEntries); 0 while Redis serves.',
        unit: 'short',
        w: 5,
      },
      query(`redis_cache_fallback_entries{${SELECTOR}}`, '{{instance}} {{pool}}', 'A'),
    ),
  ]
}

function clusterPanels(): cog.Builder<Panel>[] {
  return [
    panel(
      new StatePanel()
        .mappings([
          {
            type: MappingType.ValueToText,
            options: {
              '0': { text: 'fail', color: 'red', index: 0 },
              '1': { text: 'ok', color: 'green', index: 1 },
            },
          },
        ])
        .thresholds(thresholds([null, 'red'], [1, 'green'])),
      {
        title: 'Cluster state',
        description:
          'cluster_state of each node scraped (CLUSTER INFO): ok, or fail while a master without replica ' +
          'is down and the node refuses keyed commands (RedisClusterStateFail fires after 1m).',
        unit: 'none',
        w: 6,
      },
      query(`redis_cluster_state{${SELECTOR}}`, '{{instance}}', 'A'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Cluster slots',
        description:
          'Hash slots (of 16384) served by a healthy master (ok), by one this node cannot reach (pfail), ' +
          'and by one the cluster agrees is down (fail: RedisClusterSlotsFail).',
        unit: 'short',
        w: 6,
      },
      query(`redis_cluster_slots_ok{${SELECTOR}}`, 'ok {{instance}}', 'A'),
      query(`redis_cluster_slots_pfail{${SELECTOR}}`, 'pfail {{instance}}', 'B'),
      query(`redis_cluster_slots_fail{${SELECTOR}}`, 'fail {{instance}}', 'C'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Cluster nodes',
        description:
          'Nodes each node knows (masters and replicas), and masters serving slots (cluster size).',
        unit: 'short',
        w: 6,
      },
      query(`redis_cluster_known_nodes{${SELECTOR}}`, 'known {{instance}}', 'A'),
      query(`redis_cluster_size{${SELECTOR}}`, 'size {{instance}}', 'B'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Pool redirections per second',
        description:
          'MOVED and ASK replies the cluster pool followed: bursts during resharding or a failover, ' +
          'zero in a stable cluster (the slot map is kept current).',
        unit: 'ops',
        w: 6,
      },
      query(`sum by (pool, type) (${rate('redis_pool_redirections_total')})`, '{{pool}} {{type}}', 'A'),
    ),
  ]
}

/**
 * Replication and Sentinel. Pick the service's job for the master it follows (role, offset lag)
 * and the failovers it followed; pick the job /discover-nodes feeds (prometheus/examples/
 * redis-sentinel.yml) for every node of the replica set and the Sentinels (link status, quorum).
 */
function sentinelPanels(): cog.Builder<Panel>[] {
  return [
    panel(
      new TimeseriesPanel().min(0).max(1),
      {
        title: 'Replication role',
        description:
          'Role each scraped node reports (INFO role): 1 while it holds that role. After a failover the ' +
          'promoted replica turns master and the old master, once back, slave.',
        unit: 'none',
        w: 5,
      },
      query(
        `max by (instance, role) (redis_instance_info{${SELECTOR}, role=~"master|slave"})`,
        '{{instance}} {{role}}',
        'A',
      ),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Replication offset lag',
        description:
          "Bytes each replica's acknowledged offset trails its master's replication offset (INFO " +
          'replication on the master); a growing lag means the replica cannot keep up.',
        unit: 'bytes',
        w: 5,
      },
      query(
        `redis_master_repl_offset{${SELECTOR}} - on (job, instance) group_right redis_connected_slave_offset_bytes{${SELECTOR}}`,
        '{{slave_ip}}:{{slave_port}} behind {{instance}}',
        'A',
      ),
    ),
    panel(
      new TimeseriesPanel().min(0).max(1),
      {
        title: 'Replica link status',
        description:
          "Each replica's link to its master (master_link_status up = 1); 0 for a minute fires " +
          'RedisReplicationBroken.',
        unit: 'none',
        w: 5,
      },
      query(`redis_master_link_up{${SELECTOR}}`, '{{instance}} -> {{master_host}}:{{master_port}}', 'A'),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Sentinel quorum',
        description:
          'Sentinels up for each master as each Sentinel sees them, against the quorum configured; ' +
          'CKQUORUM failing (status 0) fires RedisSentinelQuorumLost.',
        unit: 'short',
        w: 5,
      },
      query(
        `redis_sentinel_master_ok_sentinels{${SELECTOR}}`,
        'ok sentinels {{master_name}} @ {{instance}}',
        'A',
      ),
      query(
        `max by (master_name) (redis_sentinel_master_setting_ckquorum{${SELECTOR}})`,
        'quorum {{master_name}}',
        'B',
      ),
      query(
        `redis_sentinel_master_ckquorum_status{${SELECTOR}}`,
        'ckquorum ok {{master_name}} @ {{instance}}',
        'C',
      ),
    ),
    panel(
      new TimeseriesPanel().min(0),
      {
        title: 'Failovers',
        description:
          'Failovers the pool followed (redis_pool_failovers_total: +switch-master or a newer config ' +
          'epoch) in each interval; any fires RedisFailover.',
        unit: 'short',
        w: 4,
      },
      query(
        `sum by (pool) (increase(redis_pool_failovers_total{${SELECTOR}}[$__rate_interval]))`,
        '{{pool}}',
        'A',
      ),
    ),
  ]
}

function variables() {
  return [
    new QueryVariableBuilder('job')
      .label('Job')
      .datasource(DATASOURCE)
      .query('label_values(redis_up, job)')
      .definition('label_values(redis_up, job)')
      .refresh(VariableRefresh.OnDashboardLoad)
      .sort(VariableSort.AlphabeticalAsc),
    new QueryVariableBuilder('instance')
      .label('Instance')
      .datasource(DATASOURCE)
      .query('label_values(redis_up{job="$job"}, instance)')
      .definition('label_values(redis_up{job="$job"}, instance)')
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      .allValue('.+'),
  ]
}

/** Builds the dashboard; a fresh object on every call, so generation is deterministic. */
export function buildDashboard(): Dashboard {
  const builder = new DashboardBuilder('Redis pool monitor')
    .uid(DASHBOARD_UID)
    .description(
      'Client-side pool, circuit breaker and operations of redis-pool-monitor, and the Redis it watches.',
    )
    .tags(['redis', 'redis-pool-monitor'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .variables(variables())
    .withRow(new RowBuilder('Pool (client side)'))
  for (const p of poolPanels()) builder.withPanel(p)
  builder.withRow(new RowBuilder('Redis server'))
  for (const p of serverPanels()) builder.withPanel(p)
  builder.withRow(new RowBuilder('Cache layer (client side)'))
  for (const p of cachePanels()) builder.withPanel(p)
  builder.withRow(new RowBuilder('Redis Cluster'))
  for (const p of clusterPanels()) builder.withPanel(p)
  builder.withRow(new RowBuilder('Replication and Sentinel'))
  for (const p of sentinelPanels()) builder.withPanel(p)
  const dashboard = builder.build()
  // Grafana wants ids unique within the dashboard; number them in layout order.
  for (const [index, p] of (dashboard.panels ?? []).entries()) p.id = index + 1
  return dashboard
}

/** The dashboard as the committed file holds it. */
export function dashboardJson(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`
}
