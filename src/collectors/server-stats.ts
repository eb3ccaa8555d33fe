import type { Logger } from 'pino'
import { Counter, Gauge, type Registry } from 'prom-client'
import { ScrapeTimeoutError } from '../errors.js'
import {
  INSTANCE_INFO_LABELS,
  infoFieldMetrics,
  serverMetrics,
  serviceMetrics,
} from '../metrics/definitions.js'
import { registerSnapshotFamily, type Sample } from '../metrics/snapshot-family.js'
import { infoNumber, type ParsedInfo, parseInfo } from './info-parser.js'
import {
  createKeyGroupScanner,
  type KeyGroupOptions,
  type KeyGroupResult,
  type KeyGroupScanner,
} from './key-groups.js'
import {
  DEFAULT_THRESHOLDS,
  hitRatePercent,
  judge,
  memoryUsagePercent,
  type StatusLevel,
  type StatusThresholds,
} from './status.js'

export interface RedisCommander {
  call(command: string, ...args: (string | number | Buffer)[]): Promise<unknown>
  /**
   * Optional: sends the commands back to back as one operation (the PoolMonitor has it). Key groups
   * use it for MEMORY USAGE so a batch takes one pool slot instead of hundreds.
   */
  pipeline?(commands: [string, ...(string | number | Buffer)[]][]): unknown
}

type BreakerState = 'closed' | 'half_open' | 'open'

/** A connection to one database, for its key-group scan; closed with the server stats. */
export interface DatabaseConnection {
  redis: RedisCommander
  /** Resolves once the connection can take commands; its scan starts then. */
  ready: Promise<void>
  close(): Promise<void>
}

/** Databases beyond the first whose key groups are scanned at most (Redis' default has 16). */
const MAX_SCANNED_DATABASES = 16

/** What the pool monitor knows that INFO does not, for /status and history. */
export interface ClientContext {
  latencyMs: number | undefined
  breaker: BreakerState
  poolUtilizationPercent: number | undefined
}

export interface ServerStatsOptions {
  /** Where commands go; the service passes its PoolMonitor. */
  redis: RedisCommander
  registry: Registry
  logger: Logger
  /** Key distribution; off when there are no patterns and auto is off. */
  keyGroups?: KeyGroupOptions
  /**
   * Opens a connection to another database of the same Redis, so key groups cover every database
   * INFO keyspace lists (as redis_exporter's do); without it they cover `keyGroups.db` only.
   */
  openDatabase?: (db: number) => DatabaseConnection
  thresholds?: Partial<StatusThresholds>
  /** Samples kept for /status/history. @default 100 */
  historySize?: number
  /** How often a history sample (a collection) is taken in the background. @default 5000 */
  historyIntervalMs?: number
  /** Budget of a background collection. @default 2000 */
  backgroundTimeoutMs?: number
  /** MEMORY PURGE when memory is critical, at most once per interval. @default disabled */
  autoMemoryPurge?: { enabled: boolean; minIntervalMs: number }
  /** The pool monitor's view, for history samples. */
  context?: () => ClientContext
  now?: () => number
}

export interface HistorySample {
  timestamp: string
  available: boolean
  used_memory_bytes: number | null
  memory_usage_percent: number | null
  hit_rate_percent: number | null
  ops_per_sec: number | null
  connected_clients: number | null
  latency_ms: number | null
  pool_utilization_percent: number | null
  circuit_breaker_state: BreakerState | null
}

export interface StatusReport {
  available: boolean
  status: StatusLevel
  reasons: string[]
  memory_usage_percent: number | null
  hit_rate_percent: number | null
  total_keys: number
  latency_ms: number | null
  circuit_breaker_state: BreakerState
  redis_version: string | null
  uptime_seconds: number | null
  connected_clients: number | null
  used_memory_bytes: number | null
  max_memory_bytes: number | null
  ops_per_sec: number | null
  key_groups: Array<{ db: string; group: string; count: number; memory_bytes: number }>
  key_groups_sampled_fraction: number | null
  sampled_at: string | null
}

export interface ServerStats {
  collect(options: { timeoutMs: number }): Promise<{ ok: boolean; durationMs: number; error?: string }>
  status(input: { latencyMs: number | undefined; breaker: BreakerState }): StatusReport
  history(): HistorySample[]
  start(): void
  close(): Promise<void>
}

interface Slowlog {
  length: number
  lastId: number
  lastDurationSeconds: number
}

interface LatencySpike {
  event: string
  lastUnixSeconds: number
  durationSeconds: number
}

interface Snapshot {
  info: ParsedInfo
  slowlog: Slowlog | undefined
  latency: LatencySpike[] | undefined
  at: number
}

/** Admin commands managed Redis may rename or refuse; INFO is the only command collection needs. */
type OptionalCommand = 'SLOWLOG' | 'LATENCY'

/** ioredis' ReplyError and the pool's RPM_REPLY: Redis answered, with an error. */
function isReplyError(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string }
  return (
    e?.code === 'RPM_REPLY' ||
    e?.name === 'ReplyError' ||
    /unknown command|unknown subcommand|NOPERM|disabled/i.test(String(e?.message ?? err))
  )
}

/**
 * redis_latency_percentiles_usec{cmd} as redis_exporter shows it: a summary whose quantiles come
 * from INFO latencystats and whose count and sum come from INFO commandstats.
 */
function registerLatencySummary(registry: Registry, read: () => ParsedInfo | undefined): void {
  const { name, help } = serverMetrics.latencyPercentiles
  const metric = {
    name,
    help,
    type: 'summary' as const,
    aggregator: 'sum' as const,
    get() {
      const info = read()
      const values: Array<{ value: number; labels: Record<string, string>; metricName?: string }> = []
      for (const [cmd, quantiles] of Object.entries(info?.latencyPercentiles ?? {})) {
        const stats = info?.commandStats[cmd]
        if (!stats) continue
        for (const [quantile, value] of Object.entries(quantiles))
          values.push({ value, labels: { cmd, quantile } })
        values.push({ metricName: `${name}_sum`, value: stats.usec, labels: { cmd } })
        values.push({ metricName: `${name}_count`, value: stats.calls, labels: { cmd } })
      }
      return Promise.resolve({ name, help, type: 'summary', values, aggregator: 'sum' })
    },
    reset() {},
  }
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
}

function convert(
  value: string | undefined,
  how: 'usecToSeconds' | 'okToOne' | undefined,
): number | undefined {
  if (value === undefined) return undefined
  if (how === 'okToOne') return value === 'ok' ? 1 : 0
  const n = Number(value)
  if (!Number.isFinite(n)) return undefined
  return how === 'usecToSeconds' ? n / 1e6 : n
}

/**
 * Server-side statistics of the monitored Redis under redis_exporter's names. INFO is read fresh
 * at scrape time, raced against the scrape budget: the values are never older than the scrape,
 * and a frozen Redis costs the scrape its budget, not a hang (redis_up 0 and no stale values).
 * Key groups run in the background and are served from their cached latest pass.
 */
export function createServerStats(options: ServerStatsOptions): ServerStats {
  const { redis, registry, logger } = options
  const now = options.now ?? Date.now
  const thresholds: StatusThresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds }
  const historySize = options.historySize ?? 100
  const historyIntervalMs = options.historyIntervalMs ?? 5000
  const backgroundTimeoutMs = options.backgroundTimeoutMs ?? 2000
  const purge = options.autoMemoryPurge ?? { enabled: false, minIntervalMs: 300_000 }

  let snapshot: Snapshot | undefined
  let up = false
  let lastFailure: string | undefined
  let inFlight: Promise<Snapshot> | undefined
  const unsupported = new Set<string>()
  const history: Array<HistorySample & { hits: number; misses: number }> = []
  let historyTimer: NodeJS.Timeout | undefined
  let lastPurgeAt = Number.NEGATIVE_INFINITY
  let closed = false

  // Key groups: one scanner per database, the first on the commander's own database; the others
  // open as INFO keyspace shows keys in them (when openDatabase is given).
  const keyGroupOptions =
    options.keyGroups && (options.keyGroups.patterns.length > 0 || options.keyGroups.auto)
      ? options.keyGroups
      : undefined
  const scanners = new Map<number, { scanner: KeyGroupScanner; connection?: DatabaseConnection }>()
  if (keyGroupOptions) {
    scanners.set(keyGroupOptions.db ?? 0, {
      scanner: createKeyGroupScanner(redis, logger, keyGroupOptions, now),
    })
  }
  let started = false
  const latestGroups = () =>
    [...scanners.values()].flatMap(({ scanner }) => {
      const latest = scanner.latest()
      return latest ? [latest] : []
    })

  /** Starts a scanner for each database INFO keyspace shows with keys and no scanner yet. */
  function coverDatabases(info: ParsedInfo) {
    if (!keyGroupOptions || !options.openDatabase || closed) return
    for (const [name, entry] of Object.entries(info.keyspace)) {
      const db = Number(name.slice(2))
      if (entry.keys === 0 || scanners.has(db) || scanners.size > MAX_SCANNED_DATABASES) continue
      const connection = options.openDatabase(db)
      const scanner = createKeyGroupScanner(
        connection.redis,
        logger.child({ db: name }),
        { ...keyGroupOptions, db },
        now,
      )
      scanners.set(db, { scanner, connection })
      if (started) startScanner(scanner, connection)
    }
  }

  function startScanner(scanner: KeyGroupScanner, connection?: DatabaseConnection) {
    if (!connection) return scanner.start()
    connection.ready.then(
      () => {
        if (!closed) scanner.start()
      },
      () => {},
    )
  }

  // --- metric families -------------------------------------------------------------------------
  const registers = [registry]
  const scrapeDuration = new Gauge({ ...serviceMetrics.scrapeDuration, registers })
  const lastScrapeError = new Gauge({ ...serviceMetrics.lastScrapeError, registers })
  const purges = new Counter({ ...serverMetrics.memoryPurges, registers })
  for (const result of ['ok', 'error']) purges.inc({ result }, 0)

  const gauge = (def: { name: string; help: string }, read: () => readonly Sample[]) =>
    registerSnapshotFamily(registry, { ...def, type: 'gauge' }, read)
  const counter = (def: { name: string; help: string }, read: () => readonly Sample[]) =>
    registerSnapshotFamily(registry, { ...def, type: 'counter' }, read)
  const fromInfo = (read: (info: ParsedInfo) => Sample[]) => () => (snapshot && up ? read(snapshot.info) : [])
  const one = (value: number | undefined): Sample[] => (value === undefined ? [] : [{ value }])

  gauge(serverMetrics.up, () => [{ value: up ? 1 : 0 }])
  for (const def of infoFieldMetrics) {
    registerSnapshotFamily(
      registry,
      def,
      fromInfo((info) => one(convert(info.fields[def.field], def.convert))),
    )
  }
  gauge(
    serverMetrics.instanceInfo,
    fromInfo((info) => [
      { value: 1, labels: Object.fromEntries(INSTANCE_INFO_LABELS.map((l) => [l, info.fields[l] ?? ''])) },
    ]),
  )
  gauge(
    serverMetrics.startTime,
    fromInfo((info) => {
      const serverTimeUsec = infoNumber(info, 'server_time_usec')
      const uptime = infoNumber(info, 'uptime_in_seconds')
      return serverTimeUsec === undefined || uptime === undefined
        ? []
        : [{ value: Math.round(serverTimeUsec / 1e6 - uptime) }]
    }),
  )
  // Replica side: only present on a replica, labelled with its master like redis_exporter does.
  const masterLabels = (info: ParsedInfo) => ({
    master_host: info.fields['master_host'] ?? '',
    master_port: info.fields['master_port'] ?? '',
  })
  const onReplica = (field: string, value: (raw: string) => number) =>
    fromInfo((info) => {
      const raw = info.fields[field]
      return raw === undefined ? [] : [{ value: value(raw), labels: masterLabels(info) }]
    })
  const int = (raw: string) => {
    const n = Number(raw)
    return Number.isFinite(n) ? n : 0
  }
  gauge(
    serverMetrics.masterLinkUp,
    onReplica('master_link_status', (raw) => (raw === 'up' ? 1 : 0)),
  )
  gauge(serverMetrics.masterLastIo, onReplica('master_last_io_seconds_ago', int))
  gauge(serverMetrics.masterSyncInProgress, onReplica('master_sync_in_progress', int))
  gauge(serverMetrics.slaveReplOffset, onReplica('slave_repl_offset', int))
  gauge(
    serverMetrics.slaveInfo,
    fromInfo((info) =>
      info.fields['role'] === 'slave'
        ? [{ value: 1, labels: { ...masterLabels(info), read_only: info.fields['slave_read_only'] ?? '' } }]
        : [],
    ),
  )
  // Master side: one series per connected replica.
  const replicaLabels = (r: ParsedInfo['replicas'][number]) => ({
    slave_ip: r.ip,
    slave_port: r.port,
    slave_state: r.state,
  })
  gauge(
    serverMetrics.connectedSlaveOffset,
    fromInfo((info) => info.replicas.map((r) => ({ value: r.offset, labels: replicaLabels(r) }))),
  )
  gauge(
    serverMetrics.connectedSlaveLag,
    fromInfo((info) =>
      info.replicas.flatMap((r) => (r.lag === undefined ? [] : [{ value: r.lag, labels: replicaLabels(r) }])),
    ),
  )
  const perDb = (pick: (e: { keys: number; expires: number; avgTtlMs: number }) => number) =>
    fromInfo((info) => {
      const dbs = { db0: { keys: 0, expires: 0, avgTtlMs: 0 }, ...info.keyspace }
      return Object.entries(dbs).map(([db, e]) => ({ value: pick(e), labels: { db } }))
    })
  gauge(
    serverMetrics.dbKeys,
    perDb((e) => e.keys),
  )
  gauge(
    serverMetrics.dbKeysExpiring,
    perDb((e) => e.expires),
  )
  gauge(
    serverMetrics.dbAvgTtl,
    perDb((e) => e.avgTtlMs / 1000),
  )
  const perCommand = (pick: (s: ParsedInfo['commandStats'][string]) => number) =>
    fromInfo((info) =>
      Object.entries(info.commandStats).map(([cmd, s]) => ({ value: pick(s), labels: { cmd } })),
    )
  counter(
    serverMetrics.commandCalls,
    perCommand((s) => s.calls),
  )
  counter(
    serverMetrics.commandDuration,
    perCommand((s) => s.usec / 1e6),
  )
  counter(
    serverMetrics.commandRejected,
    perCommand((s) => s.rejectedCalls),
  )
  counter(
    serverMetrics.commandFailed,
    perCommand((s) => s.failedCalls),
  )
  counter(
    serverMetrics.errors,
    fromInfo((info) => Object.entries(info.errorStats).map(([err, value]) => ({ value, labels: { err } }))),
  )
  registerLatencySummary(registry, () => (snapshot && up ? snapshot.info : undefined))
  const spikes = (pick: (s: LatencySpike) => number) => () =>
    snapshot?.latency && up
      ? snapshot.latency.map((s) => ({ value: pick(s), labels: { event_name: s.event } }))
      : []
  gauge(
    serverMetrics.latencySpikeLast,
    spikes((s) => s.lastUnixSeconds),
  )
  gauge(
    serverMetrics.latencySpikeDuration,
    spikes((s) => s.durationSeconds),
  )
  const slowlog = (pick: (s: Slowlog) => number) => () =>
    snapshot?.slowlog && up ? [{ value: pick(snapshot.slowlog) }] : []
  gauge(
    serverMetrics.slowlogLength,
    slowlog((s) => s.length),
  )
  gauge(
    serverMetrics.slowlogLastId,
    slowlog((s) => s.lastId),
  )
  gauge(
    serverMetrics.lastSlowExecution,
    slowlog((s) => s.lastDurationSeconds),
  )

  if (keyGroupOptions) {
    const groups = (pick: (g: { count: number; memoryBytes: number }) => number) => () =>
      latestGroups().flatMap((latest) =>
        latest.groups.map((g) => ({ value: pick(g), labels: { db: latest.db, key_group: g.group } })),
      )
    gauge(
      serverMetrics.keyGroupCount,
      groups((g) => g.count),
    )
    gauge(
      serverMetrics.keyGroupMemory,
      groups((g) => g.memoryBytes),
    )
    const perDb = (read: (r: KeyGroupResult) => number) => () =>
      latestGroups().map((r) => ({ value: read(r), labels: { db: r.db } }))
    gauge(
      serverMetrics.distinctKeyGroups,
      perDb((r) => r.distinctGroups),
    )
    gauge(
      serverMetrics.keyGroupsSampledFraction,
      perDb((r) => r.sampledFraction),
    )
    // One series each, as redis_exporter has: the passes' total time, and the stalest pass's age.
    const overall = (read: (results: KeyGroupResult[]) => number) => () => {
      const results = latestGroups()
      return results.length > 0 ? [{ value: read(results) }] : []
    }
    gauge(
      serverMetrics.keyGroupsDuration,
      overall((rs) => rs.reduce((ms, r) => ms + r.durationMs, 0)),
    )
    gauge(
      serverMetrics.keyGroupsAge,
      overall((rs) => Math.max(0, ...rs.map((r) => (now() - r.finishedAt) / 1000))),
    )
  }

  // --- collection ------------------------------------------------------------------------------
  async function optional<T>(command: OptionalCommand, read: () => Promise<T>): Promise<T | undefined> {
    if (unsupported.has(command)) return undefined
    try {
      return await read()
    } catch (err) {
      // A reply error (renamed, disabled, ACL-denied) means the command will never work here: skip
      // it from now on and say so once. Timeouts and lost connections are INFO's business.
      if (isReplyError(err)) {
        unsupported.add(command)
        logger.warn({ err, command }, `${command} is not available on this Redis; its metrics are skipped`)
        return undefined
      }
      throw err
    }
  }

  async function readSnapshot(): Promise<Snapshot> {
    const [text, slow, latency] = await Promise.all([
      redis.call('INFO', 'ALL'),
      optional('SLOWLOG', async () => {
        const [length, entries] = await Promise.all([
          redis.call('SLOWLOG', 'LEN'),
          redis.call('SLOWLOG', 'GET', '1'),
        ])
        const newest = (entries as unknown[][])[0]
        return {
          length: Number(length),
          lastId: newest ? Number(newest[0]) : 0,
          lastDurationSeconds: newest ? Number(newest[2]) / 1e6 : 0,
        }
      }),
      optional('LATENCY', async () => {
        // [event, unix time of the latest spike, its duration in ms, the all-time max in ms]
        const rows = (await redis.call('LATENCY', 'LATEST')) as unknown[][]
        return rows.map((row) => ({
          event: String(row[0]),
          lastUnixSeconds: Number(row[1]),
          durationSeconds: Number(row[2]) / 1000,
        }))
      }),
    ])
    return { info: parseInfo(String(text)), slowlog: slow, latency, at: now() }
  }

  async function collect({ timeoutMs }: { timeoutMs: number }) {
    const startedAt = now()
    // Concurrent scrapes share one round of commands instead of piling more onto a slow Redis.
    const work = inFlight ?? readSnapshot()
    if (!inFlight) {
      inFlight = work
      work
        .catch(() => {})
        .finally(() => {
          if (inFlight === work) inFlight = undefined
        })
    }
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ScrapeTimeoutError(timeoutMs)), Math.max(0, timeoutMs))
      timer.unref()
    })
    try {
      snapshot = await Promise.race([work, deadline])
      if (!up && lastFailure !== undefined) logger.info('Redis answers collections again')
      up = true
      lastFailure = undefined
      lastScrapeError.set(0)
      maybePurge()
      coverDatabases(snapshot.info)
      return { ok: true, durationMs: now() - startedAt }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      if (up || lastFailure === undefined) logger.warn({ err }, 'collection from Redis failed')
      up = false
      lastFailure = message
      lastScrapeError.set(1)
      return { ok: false, durationMs: now() - startedAt, error: message }
    } finally {
      clearTimeout(timer)
      scrapeDuration.set((now() - startedAt) / 1000)
    }
  }

  function maybePurge() {
    if (!purge.enabled || !snapshot) return
    const percent = memoryUsagePercent(snapshot.info)
    if (percent === null || percent < thresholds.memoryCriticalPercent) return
    if (now() - lastPurgeAt < purge.minIntervalMs) return
    lastPurgeAt = now()
    logger.warn({ memoryPercent: percent }, 'memory is critical: running MEMORY PURGE')
    redis.call('MEMORY', 'PURGE').then(
      () => purges.inc({ result: 'ok' }),
      (err: unknown) => {
        purges.inc({ result: 'error' })
        logger.warn({ err }, 'MEMORY PURGE failed')
      },
    )
  }

  // --- status and history ----------------------------------------------------------------------
  const lifetimeTotals = (info: ParsedInfo) => ({
    hits: infoNumber(info, 'keyspace_hits') ?? 0,
    misses: infoNumber(info, 'keyspace_misses') ?? 0,
  })

  /** Hit rate over the history window when it saw enough lookups, else over the server's lifetime. */
  function hitRate(): number | null {
    if (!snapshot) return null
    const current = lifetimeTotals(snapshot.info)
    const oldest = history.find((h) => h.available)
    if (oldest) {
      const windowed = hitRatePercent(
        current.hits - oldest.hits,
        current.misses - oldest.misses,
        thresholds.hitRateMinLookups,
      )
      if (windowed !== null) return windowed
    }
    return hitRatePercent(current.hits, current.misses, thresholds.hitRateMinLookups)
  }

  function status(input: { latencyMs: number | undefined; breaker: BreakerState }): StatusReport {
    const info = up ? snapshot?.info : undefined
    const memoryPercent = info ? memoryUsagePercent(info) : null
    const rate = info ? hitRate() : null
    const verdict = judge(
      {
        available: info !== undefined,
        memoryPercent,
        hitRate: rate,
        latencyMs: input.latencyMs,
        breaker: input.breaker,
      },
      thresholds,
    )
    const groups = latestGroups()
    const field = (name: string) => (info ? (infoNumber(info, name) ?? null) : null)
    return {
      available: info !== undefined,
      status: verdict.status,
      reasons: verdict.reasons,
      memory_usage_percent: memoryPercent,
      hit_rate_percent: rate,
      total_keys: info ? Object.values(info.keyspace).reduce((n, e) => n + e.keys, 0) : 0,
      latency_ms: input.latencyMs ?? null,
      circuit_breaker_state: input.breaker,
      redis_version: info?.fields['redis_version'] ?? null,
      uptime_seconds: field('uptime_in_seconds'),
      connected_clients: field('connected_clients'),
      used_memory_bytes: field('used_memory'),
      max_memory_bytes: field('maxmemory'),
      ops_per_sec: field('instantaneous_ops_per_sec'),
      key_groups: groups.flatMap((r) =>
        r.groups.map((g) => ({ db: r.db, group: g.group, count: g.count, memory_bytes: g.memoryBytes })),
      ),
      // The roughest estimate among the databases: 1 only when every count is exact.
      key_groups_sampled_fraction:
        groups.length > 0 ? Math.min(...groups.map((r) => r.sampledFraction)) : null,
      sampled_at: snapshot && info ? new Date(snapshot.at).toISOString() : null,
    }
  }

  async function sample() {
    const result = await collect({ timeoutMs: backgroundTimeoutMs })
    const ctx = options.context?.()
    const info = result.ok ? snapshot?.info : undefined
    const totals = info ? lifetimeTotals(info) : { hits: 0, misses: 0 }
    const field = (name: string) => (info ? (infoNumber(info, name) ?? null) : null)
    history.push({
      timestamp: new Date(now()).toISOString(),
      available: info !== undefined,
      used_memory_bytes: field('used_memory'),
      memory_usage_percent: info ? memoryUsagePercent(info) : null,
      hit_rate_percent: info ? hitRate() : null,
      ops_per_sec: field('instantaneous_ops_per_sec'),
      connected_clients: field('connected_clients'),
      latency_ms: ctx?.latencyMs ?? null,
      pool_utilization_percent: ctx?.poolUtilizationPercent ?? null,
      circuit_breaker_state: ctx?.breaker ?? null,
      ...totals,
    })
    while (history.length > historySize) history.shift()
  }

  const scheduleSample = () => {
    if (closed) return
    historyTimer = setTimeout(() => {
      sample().finally(scheduleSample)
    }, historyIntervalMs)
    historyTimer.unref()
  }

  return {
    collect,
    status,
    history: () => history.map(({ hits: _h, misses: _m, ...sample }) => sample),
    start() {
      if (historyTimer || closed) return
      started = true
      for (const { scanner, connection } of scanners.values()) startScanner(scanner, connection)
      sample().finally(scheduleSample)
    },
    async close() {
      closed = true
      clearTimeout(historyTimer)
      for (const { scanner } of scanners.values()) scanner.close()
      await Promise.all([...scanners.values()].map(({ connection }) => connection?.close()))
    },
  }
}
