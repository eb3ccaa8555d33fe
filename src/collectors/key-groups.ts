import type { Logger } from 'pino'
import { cursorReply, integerReply, stringsReply, tupleReply } from '../redis/reply-shape.js'
import type { RedisCommander } from './collector.js'
import { isNoPerm } from './command-denied.js'
import { globToRegExp } from './glob.js'
import { decodeKey, keyLabel } from './key-bytes.js'

export { globToRegExp }

export const UNCLASSIFIED = 'unclassified'
export const OVERFLOW = 'overflow'

export interface KeyGroupOptions {
  /** Glob patterns (`*`, `?`, `[abc]`); a key belongs to the first pattern it matches. */
  patterns: readonly string[]
  /** Also group keys that match no pattern by their prefix up to `separator`. @default false */
  auto?: boolean
  /** @default ':' */
  separator?: string
  /** Time between passes. @default 60000 */
  intervalMs?: number
  /** Distinct groups kept; the smallest by memory fold into `overflow`. @default 100 */
  maxGroups?: number
  /** A pass stops scanning after this long and answers with an estimate. @default 10000 */
  passBudgetMs?: number
  /** A pass scans at most this many keys; beyond, the result is an estimate. @default 100000 */
  maxKeysPerPass?: number
  /** SCAN COUNT: keys Redis visits per call; bounds the time of one call. @default 1000 */
  scanCount?: number
  /** MEMORY USAGE calls per pass; keys are sampled evenly beyond it. @default 10000 */
  memorySamplesPerPass?: number
  /** Database the pooled connections use, for the `db` label. @default 0 */
  db?: number
  /**
   * The share (0 to 1] of the whole keyspace this commander's SCAN can reach, read once per pass:
   * a Redis Cluster node holds only its slots' keys. Counts are scaled up by it and the sampled
   * fraction scaled down, so a partial view is never reported as exact. @default 1
   */
  keyspaceShare?: () => Promise<number>
}

export interface KeyGroupStats {
  group: string
  count: number
  memoryBytes: number
}

export interface KeyGroupResult {
  db: string
  groups: KeyGroupStats[]
  /** Groups the pass found before the smallest folded into `overflow` (redis_exporter's meaning). */
  distinctGroups: number
  /** Scanned keys / keys in the database: 1 when exact. */
  sampledFraction: number
  /** False when MEMORY USAGE was refused (ACL): memory is unknown, never reported as 0. */
  memoryMeasured: boolean
  durationMs: number
  finishedAt: number
}

type Classifier = (key: string) => string

const MEMORY_BATCHES_IN_FLIGHT = 2
/** Parallel SCAN walks when sampling; a power of two (see pass()). */
const SAMPLE_WALKS = 4

/**
 * Pure: the group a key belongs to (its pattern, its auto prefix, or `unclassified`). `key` is
 * decodeKey()'s text, so an auto prefix holding bytes that are not UTF-8 is labelled with `\xNN`.
 */
export function createClassifier(patterns: readonly string[], auto: boolean, separator: string): Classifier {
  const compiled = patterns.map((p) => ({ pattern: p, re: globToRegExp(p) }))
  return (key) => {
    for (const { pattern, re } of compiled) if (re.test(key)) return pattern
    if (auto) {
      const at = key.indexOf(separator)
      if (at > 0) return `${keyLabel(key.slice(0, at))}${separator}*`
    }
    return UNCLASSIFIED
  }
}

interface Tally {
  count: number
  sampledBytes: number
  sampledKeys: number
}

/**
 * Pure: turns per-group tallies of one pass into the published groups. Counts are scaled by the
 * scanned fraction; memory is the sampled mean per key times the estimated count; groups past
 * `maxGroups` (smallest memory first) fold into `overflow`.
 */
export function foldGroups(
  tallies: Map<string, Tally>,
  sampledFraction: number,
  maxGroups: number,
): KeyGroupStats[] {
  const scale = sampledFraction > 0 ? 1 / sampledFraction : 0
  const groups = [...tallies.entries()].map(([group, t]) => {
    const count = Math.round(t.count * scale)
    const meanBytes = t.sampledKeys > 0 ? t.sampledBytes / t.sampledKeys : 0
    return { group, count, memoryBytes: Math.round(meanBytes * count) }
  })
  groups.sort((a, b) => b.memoryBytes - a.memoryBytes || b.count - a.count || a.group.localeCompare(b.group))
  if (groups.length <= maxGroups) return groups
  const kept = groups.slice(0, Math.max(0, maxGroups - 1)).filter((g) => g.group !== OVERFLOW)
  const rest = groups.filter((g) => !kept.includes(g))
  kept.push({
    group: OVERFLOW,
    count: rest.reduce((n, g) => n + g.count, 0),
    memoryBytes: rest.reduce((n, g) => n + g.memoryBytes, 0),
  })
  return kept
}

export interface KeyGroupScanner {
  /** Runs one pass now (at most one at a time) and returns its result. */
  runPass(): Promise<KeyGroupResult>
  latest(): KeyGroupResult | undefined
  start(): void
  close(): void
}

/**
 * Key distribution by pattern without KEYS and without Lua: SCAN with a bounded COUNT from this
 * process, MEMORY USAGE on an even sample of the scanned keys (sent concurrently, so the pool
 * pipelines them), a time and key budget per pass, in the background on its own interval, the
 * result cached for scrapes. Each Redis call is short, so Redis never stalls on our account.
 */
export function createKeyGroupScanner(
  redis: RedisCommander,
  logger: Logger,
  options: KeyGroupOptions,
  now: () => number = Date.now,
): KeyGroupScanner {
  const intervalMs = options.intervalMs ?? 60_000
  const maxGroups = options.maxGroups ?? 100
  const passBudgetMs = options.passBudgetMs ?? 10_000
  const maxKeysPerPass = options.maxKeysPerPass ?? 100_000
  const scanCount = options.scanCount ?? 1000
  const memorySamples = options.memorySamplesPerPass ?? 10_000
  const db = `db${options.db ?? 0}`
  const classify = createClassifier(options.patterns, options.auto ?? false, options.separator ?? ':')
  // Auto mode could meet millions of prefixes: tally at most this many, the rest as overflow.
  const maxTallied = maxGroups * 10

  let latest: KeyGroupResult | undefined
  let running: Promise<KeyGroupResult> | undefined
  let timer: NodeJS.Timeout | undefined
  let closed = false
  let failing = false
  let memoryRefused = false

  /**
   * MEMORY USAGE of each key, pipelined when the commander can (one pool slot per batch, and Redis
   * reads a pipeline in 16 KB chunks, so other clients still interleave); else concurrent calls.
   * A key deleted since SCAN, or a refused call, counts as null.
   */
  async function memoryUsage(keys: Array<string | Buffer>): Promise<unknown[]> {
    if (keys.length === 0) return []
    // Refused by ACL in this pass: send no more (one batch per pass finds out whether it still is).
    if (memoryRefused) return keys.map(() => null)
    const refused = (err: unknown) => {
      if (isNoPerm(err)) memoryRefused = true
      return null
    }
    if (typeof redis.pipeline === 'function') {
      // Lower case: ioredis (under the PoolMonitor too) resolves pipeline entries as method names.
      const sent = redis.pipeline(keys.map((key) => ['memory', 'usage', key]))
      // The PoolMonitor answers with the results; a bare ioredis client with a Pipeline to exec().
      const replies = (await (typeof (sent as { exec?: unknown })?.exec === 'function'
        ? (sent as { exec(): Promise<unknown> }).exec()
        : sent)) as Array<[Error | null, unknown]> | null
      if (Array.isArray(replies)) return replies.map(([err, size]) => (err ? refused(err) : size))
    }
    return Promise.all(keys.map((key) => redis.call('MEMORY', 'USAGE', key).catch(refused)))
  }

  async function pass(): Promise<KeyGroupResult> {
    const startedAt = now()
    memoryRefused = false
    const dbsize = integerReply('DBSIZE', await redis.call('DBSIZE'))
    const keyLimit = Math.min(dbsize, maxKeysPerPass)
    const stride = Math.max(1, Math.ceil(keyLimit / memorySamples))
    const tallies = new Map<string, Tally>()
    const tally = (key: string) => {
      const found = tallies.get(key)
      if (found) return found
      const group = tallies.size >= maxTallied ? OVERFLOW : key
      const created = tallies.get(group) ?? { count: 0, sampledBytes: 0, sampledKeys: 0 }
      tallies.set(group, created)
      return created
    }

    let scanned = 0
    /**
     * Walks SCAN from `start` until the keyspace ends or this walk's quota is met. MEMORY USAGE of a
     * batch overlaps the SCAN of the next (two batches in flight at most), so a walk costs about one
     * round trip per SCAN. Returns whether the walk reached the end of the keyspace.
     */
    async function walk(start: string, quota: number): Promise<boolean> {
      let cursor = start
      let seen = 0
      const inFlight: Promise<void>[] = []
      do {
        // Keys as raw bytes where the commander can: a key that is not valid UTF-8 is matched on a
        // lossless decoding and its MEMORY USAGE asked with the very bytes SCAN returned.
        const reply = await (redis.callBuffer
          ? redis.callBuffer('SCAN', cursor, 'COUNT', scanCount)
          : redis.call('SCAN', cursor, 'COUNT', scanCount))
        const [next, keys] = tupleReply('SCAN', reply, 2)
        cursor = cursorReply('SCAN', next)
        const sampled: Array<{ key: string | Buffer; t: Tally }> = []
        for (const key of stringsReply<string | Buffer>('SCAN', keys)) {
          const t = tally(classify(decodeKey(key)))
          t.count++
          if (scanned % stride === 0) sampled.push({ key, t })
          scanned++
          seen++
        }
        const measured = memoryUsage(sampled.map((s) => s.key)).then((sizes) =>
          sizes.forEach((size, i) => {
            // A key deleted between SCAN and MEMORY USAGE answers nil: it is no longer in any group.
            if (size === null || size === undefined) return
            const t = sampled[i]!.t
            t.sampledBytes += integerReply('MEMORY USAGE', size)
            t.sampledKeys++
          }),
        )
        // Marked handled here; the pass still fails on it when it is awaited below.
        measured.catch(() => {})
        inFlight.push(measured)
        if (inFlight.length >= MEMORY_BATCHES_IN_FLIGHT) await inFlight.shift()
      } while (cursor !== '0' && seen < quota && now() - startedAt < passBudgetMs && !closed)
      await Promise.all(inFlight)
      return cursor === '0'
    }

    // A keyspace within the limit is walked once, in order: exact. One at least twice the limit is
    // sampled by SAMPLE_WALKS walks side by side, each from its own share of the hash table, so the sample costs
    // a quarter of the round trips. SCAN's cursor counts buckets in reversed-bit order: walk k of 2^b
    // starts at k reversed in b bits, the first bucket of the k-th 1/2^b of the table whatever its
    // size, and stops long before the next walk's start (its quota is at most half its share).
    const sampling = dbsize > keyLimit
    const walks = dbsize >= 2 * keyLimit ? SAMPLE_WALKS : 1
    const bits = Math.log2(walks)
    const starts = Array.from({ length: walks }, (_, k) =>
      String(Number.parseInt(k.toString(2).padStart(bits, '0').split('').reverse().join('') || '0', 2)),
    )
    const ended = await Promise.all(starts.map((start) => walk(start, Math.ceil(keyLimit / walks))))
    const complete = !sampling && ended[0] === true
    const share = options.keyspaceShare ? Math.min(1, Math.max(1e-6, await options.keyspaceShare())) : 1
    const sampledFraction = (complete || dbsize === 0 ? 1 : Math.min(1, scanned / dbsize)) * share
    const groups = foldGroups(tallies, sampledFraction, maxGroups)
    // A configured pattern no key matched reads 0, not a missing series (absent means "not
    // scanned" to an alert; 0 means "scanned, nothing there"). It does not count as a group found.
    if (!groups.some((g) => g.group === OVERFLOW)) {
      for (const pattern of options.patterns) {
        if (!tallies.has(pattern)) groups.push({ group: pattern, count: 0, memoryBytes: 0 })
      }
    }
    return {
      db,
      groups,
      distinctGroups: tallies.size,
      sampledFraction,
      memoryMeasured: !memoryRefused,
      durationMs: now() - startedAt,
      finishedAt: now(),
    }
  }

  async function runPass(): Promise<KeyGroupResult> {
    if (running) return running
    running = pass()
      .then((result) => {
        latest = result
        if (failing) logger.info('key-group pass succeeded again')
        failing = false
        return result
      })
      .catch((err: unknown) => {
        // A pass cut short by close() is no news.
        // An ACL refusal (DBSIZE, SCAN) was logged once, with the permission, by command-denied.ts.
        if (!failing && !closed && !isNoPerm(err))
          logger.warn({ err }, 'key-group pass failed; keeping the previous result')
        failing = true
        throw err
      })
      .finally(() => {
        running = undefined
      })
    return running
  }

  const schedule = () => {
    if (closed) return
    timer = setTimeout(() => {
      runPass()
        .catch(() => {})
        .finally(schedule)
    }, intervalMs)
    timer.unref()
  }

  return {
    runPass,
    latest: () => latest,
    start() {
      if (timer || closed) return
      runPass()
        .catch(() => {})
        .finally(schedule)
    },
    close() {
      closed = true
      clearTimeout(timer)
    },
  }
}
