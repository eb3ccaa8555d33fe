import type { Registry } from 'prom-client'
import { sentinelInfoFields, sentinelMetrics } from '../metrics/sentinel.js'
import { isReplyError, replyText } from '../redis/reply-error.js'
import { textReply } from '../redis/reply-shape.js'
import {
  type Collector,
  fromInfo,
  fromReading,
  gauge,
  type RedisCommander,
  type Sample,
  type View,
} from './collector.js'
import type { ParsedInfo } from './info-parser.js'

/** One entry of a SENTINEL MASTERS / SLAVES / SENTINELS reply, field -> value. */
export type SentinelRecord = Readonly<Record<string, string>>

/** A `masterN:name=..,status=..,address=..,slaves=..,sentinels=..` line of INFO `# Sentinel`. */
export interface SentinelInfoMaster {
  name: string
  status: string
  address: string
  slaves: number
  sentinels: number
}

export interface SentinelCkquorum {
  ok: boolean
  /** The reply (`OK 3 usable Sentinels...`) or the error's message (`NOQUORUM 1 usable...`). */
  message: string
}

/** What one Sentinel knows about one master it watches. */
export interface SentinelMasterReading {
  name: string
  /** `ip:port` of the master as this Sentinel names it. */
  address: string
  /** The SENTINEL MASTERS entry: quorum, flags, epochs, timings. */
  master: SentinelRecord
  replicas: readonly SentinelRecord[]
  /** The other Sentinels (SENTINEL SENTINELS never lists the one answering). */
  sentinels: readonly SentinelRecord[]
  ckquorum: SentinelCkquorum
}

export interface SentinelReading {
  masters: readonly SentinelMasterReading[]
}

/**
 * A collector whose background work (key-group passes) must never reach a Sentinel, which rejects
 * DBSIZE, SCAN and MEMORY: its start() waits for the first successful collection and happens only
 * when INFO shows a data node, and a Sentinel's snapshots are not passed on.
 */
export function notOnSentinel<T>(collector: Collector<T>): Collector<T> {
  let wanted = false
  let started = false
  return {
    name: collector.name,
    ...(collector.read ? { read: collector.read } : {}),
    register: (registry, view) => collector.register(registry, view),
    start() {
      wanted = true
    },
    observe(snapshot) {
      if (isSentinelInfo(snapshot.info)) return
      collector.observe?.(snapshot)
      if (wanted && !started) {
        started = true
        collector.start?.()
      }
    },
    close: () => collector.close?.(),
  }
}

/** INFO says the target is a Sentinel (redis_mode:sentinel, or a `# Sentinel` section). */
export const isSentinelInfo = (info: ParsedInfo): boolean =>
  info.fields['redis_mode'] === 'sentinel' || info.fields['sentinel_masters'] !== undefined

const toRecord = (entry: unknown): SentinelRecord | undefined => {
  if (Array.isArray(entry)) {
    const record: Record<string, string> = {}
    for (let i = 0; i + 1 < entry.length; i += 2) record[String(entry[i])] = String(entry[i + 1])
    return record
  }
  if (entry instanceof Map) {
    return Object.fromEntries([...entry].map(([k, v]) => [String(k), String(v)]))
  }
  if (entry && typeof entry === 'object') {
    return Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, String(v)]))
  }
  return undefined
}

/**
 * The entries of a SENTINEL MASTERS / SLAVES / SENTINELS reply. RESP2 answers flat
 * `[field, value, ...]` arrays; a RESP3 client may hand over maps. Anything else is skipped.
 */
export function sentinelRecords(reply: unknown): SentinelRecord[] {
  if (!Array.isArray(reply)) return []
  return reply.flatMap((entry) => {
    const record = toRecord(entry)
    return record ? [record] : []
  })
}

/** Neither subjectively nor objectively down, as redis_exporter counts "ok" replicas and Sentinels. */
export const isOkInstance = (record: SentinelRecord): boolean => {
  const flags = record['flags']
  return flags !== undefined && !flags.includes('s_down') && !flags.includes('o_down')
}

/** The `masterN:` lines of INFO `# Sentinel`, in order. */
export function sentinelInfoMasters(info: ParsedInfo): SentinelInfoMaster[] {
  const out: SentinelInfoMaster[] = []
  // Runs for every scrape of any Redis (three families read it): a loop over the field names,
  // not Object.entries' 400 pairs, and the regex only for names starting `master`.
  for (const field in info.fields) {
    if (!field.startsWith('master') || !/^master\d+$/.test(field)) continue
    const value = info.fields[field] as string
    const pairs: Record<string, string> = {}
    for (const part of value.split(',')) {
      const eq = part.indexOf('=')
      if (eq > 0) pairs[part.slice(0, eq)] = part.slice(eq + 1)
    }
    const slaves = Number(pairs['slaves'])
    const sentinels = Number(pairs['sentinels'])
    if (!pairs['name'] || !Number.isFinite(slaves) || !Number.isFinite(sentinels)) continue
    out.push({
      name: pairs['name'],
      status: pairs['status'] ?? '',
      address: pairs['address'] ?? '',
      slaves,
      sentinels,
    })
  }
  return out
}

/** redis_exporter's count: this Sentinel (it answers, so it is ok) plus every other one that is ok. */
export const okSentinels = (m: SentinelMasterReading): number => 1 + m.sentinels.filter(isOkInstance).length
export const okReplicas = (m: SentinelMasterReading): number => m.replicas.filter(isOkInstance).length

async function ckquorum(redis: RedisCommander, name: string): Promise<SentinelCkquorum> {
  try {
    return {
      ok: true,
      message: textReply('SENTINEL CKQUORUM', await redis.call('SENTINEL', 'CKQUORUM', name)),
    }
  } catch (err) {
    // NOQUORUM is Sentinel's answer, not a failed collection: it is what the family reports.
    if (!isReplyError(err)) throw err
    return { ok: false, message: replyText(err) ?? String(err) }
  }
}

/** SENTINEL MASTERS, then per master its Sentinels, replicas and CKQUORUM, all at once. */
export async function readSentinel(redis: RedisCommander): Promise<SentinelReading> {
  const masters = sentinelRecords(await redis.call('SENTINEL', 'MASTERS')).filter(
    (m) => m['name'] && m['ip'] && m['port'],
  )
  return {
    masters: await Promise.all(
      masters.map(async (master) => {
        const name = master['name'] as string
        // SLAVES, not REPLICAS: the exporter's choice, and the one every Sentinel since 2.8 answers.
        const [sentinels, replicas, quorum] = await Promise.all([
          redis.call('SENTINEL', 'SENTINELS', name),
          redis.call('SENTINEL', 'SLAVES', name),
          ckquorum(redis, name),
        ])
        return {
          name,
          address: `${master['ip']}:${master['port']}`,
          master,
          replicas: sentinelRecords(replicas),
          sentinels: sentinelRecords(sentinels),
          ckquorum: quorum,
        }
      }),
    ),
  }
}

const num = (raw: string | undefined): number => {
  const n = Number(raw)
  return Number.isFinite(n) ? n : 0
}

/**
 * A Sentinel's families, only when the target is one (`redis_mode:sentinel`): nothing is sent to
 * a data node, and a Sentinel is asked only commands it knows (SENTINEL, INFO).
 */
export const sentinelCollector: Collector<SentinelReading> = {
  name: 'sentinel',
  read: async (redis, ctx) => ((await ctx.mode) === 'sentinel' ? readSentinel(redis) : undefined),
  register(registry: Registry, view: View) {
    for (const { field, help } of sentinelInfoFields) {
      gauge(
        registry,
        { name: `redis_${field}`, help },
        fromInfo(view, (info) =>
          info.fields[field] === undefined ? [] : [{ value: num(info.fields[field]) }],
        ),
      )
    }
    const fromInfoMasters = (sample: (m: SentinelInfoMaster) => Sample) =>
      fromInfo(view, (info) => sentinelInfoMasters(info).map(sample))
    gauge(
      registry,
      sentinelMetrics.masterStatus,
      fromInfoMasters((m) => ({
        value: m.status === 'ok' ? 1 : 0,
        labels: { master_name: m.name, master_address: m.address, master_status: m.status },
      })),
    )
    gauge(
      registry,
      sentinelMetrics.masterSlaves,
      fromInfoMasters((m) => ({
        value: m.slaves,
        labels: { master_name: m.name, master_address: m.address },
      })),
    )
    gauge(
      registry,
      sentinelMetrics.masterSentinels,
      fromInfoMasters((m) => ({
        value: m.sentinels,
        labels: { master_name: m.name, master_address: m.address },
      })),
    )

    const perMaster = (value: (m: SentinelMasterReading) => number) =>
      fromReading(view, sentinelCollector, (reading) =>
        reading.masters.map((m) => ({
          value: value(m),
          labels: { master_name: m.name, master_address: m.address },
        })),
      )
    gauge(registry, sentinelMetrics.masterOkSlaves, perMaster(okReplicas))
    gauge(registry, sentinelMetrics.masterOkSentinels, perMaster(okSentinels))
    gauge(
      registry,
      sentinelMetrics.masterCkquorumStatus,
      fromReading(view, sentinelCollector, (reading) =>
        reading.masters.map((m) => ({
          value: m.ckquorum.ok ? 1 : 0,
          labels: { master_name: m.name, message: m.ckquorum.message },
        })),
      ),
    )
    gauge(
      registry,
      sentinelMetrics.masterSettingCkquorum,
      perMaster((m) => num(m.master['quorum'])),
    )
    gauge(
      registry,
      sentinelMetrics.masterSettingFailoverTimeout,
      perMaster((m) => num(m.master['failover-timeout'])),
    )
    gauge(
      registry,
      sentinelMetrics.masterSettingParallelSyncs,
      perMaster((m) => num(m.master['parallel-syncs'])),
    )
    gauge(
      registry,
      sentinelMetrics.masterSettingDownAfterMilliseconds,
      perMaster((m) => num(m.master['down-after-milliseconds'])),
    )
    gauge(
      registry,
      sentinelMetrics.masterConfigEpoch,
      perMaster((m) => num(m.master['config-epoch'])),
    )
    gauge(
      registry,
      sentinelMetrics.masterLastOkPingReply,
      perMaster((m) => num(m.master['last-ok-ping-reply']) / 1000),
    )
  },
}
