import assert from 'node:assert'
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import pino from 'pino'
import type { Registry } from 'prom-client'
import { CacheClosedError, CacheDecodeError, ErrorType } from '../errors.js'
import { OTHER_NAMESPACE } from '../metrics/cache.js'
import { classifyError, toPublicError } from '../monitor/classify.js'
import type { PoolMonitor } from '../monitor/types.js'
import { isRedirection } from '../redis/reply-error.js'
import { encodeValue } from './json.js'
import { attachCacheMetrics } from './metrics.js'
import { createNearCache, type NearCache } from './near-cache.js'

export interface CacheNamespaceOptions {
  /** Lifetime of every write in the namespace, in seconds. */
  ttlSeconds: number
  /**
   * Up to this share of the TTL (0 to 1) is taken off each write at random, so keys written
   * together do not all expire in the same second. @default the cache's `ttlJitter`
   */
  ttlJitter?: number
}

export interface CacheOptions {
  /** The pool the cache talks to Redis through (its breaker decides when the fallback is used). */
  monitor: PoolMonitor
  /** Registry the cache families are registered on (never the global one). */
  registry: Registry
  /** Namespaces with their TTL; each is also a `namespace` label value of the metrics. */
  namespaces?: Record<string, CacheNamespaceOptions>
  /** TTL of namespaces not configured (counted as `namespace="other"`). @default 3600 */
  defaultTtlSeconds?: number
  /** Default share of the TTL taken off at random per write, 0 to 1. @default 0 */
  ttlJitter?: number
  fallback?: {
    /** Entries the in-memory fallback holds at most (least recently used go first). @default 10000 */
    maxEntries?: number
  }
  /** Opt-in local copy of hot keys, kept correct by CLIENT TRACKING. Absent: no near cache. */
  nearCache?: {
    /** Entries the local copy holds at most. */
    maxEntries: number
    /** Namespaces served from the local copy. @default every configured namespace */
    namespaces?: string[]
    /** PING interval of the invalidation connection, in ms. @default 1000 */
    heartbeatMs?: number
  }
  /** @default a silent logger */
  logger?: Logger
  /** Random source for TTL jitter; tests pass a fixed one. @default Math.random */
  random?: () => number
}

export type CacheKey = string | number

export interface Cache {
  /** The value stored under `<namespace>:<key>`, or undefined when there is none. */
  get<T = unknown>(namespace: string, key: CacheKey): Promise<T | undefined>
  /** Stores `value` as JSON with the namespace's TTL. Throws RPM_CACHE_VALUE for values JSON cannot carry. */
  set(namespace: string, key: CacheKey, value: unknown): Promise<void>
  /**
   * The cached value, or the loader's result (stored, then returned). Concurrent calls for one key
   * share one lookup and one loader call; a loader that throws rejects them all and caches nothing.
   */
  getOrSet<T>(namespace: string, key: CacheKey, loader: () => T | Promise<T>): Promise<T>
  delete(namespace: string, key: CacheKey): Promise<void>
  /** True while reads and writes go to the in-memory fallback because Redis is unavailable. */
  readonly fallbackActive: boolean
  close(): Promise<void>
}

interface Namespace {
  /** The `namespace` label: the configured name, or `other`. */
  label: string
  ttlMs: number
  jitter: number
  near: boolean
  count: Record<'hit' | 'miss' | 'fallback_hit' | 'fallback_miss' | 'error', () => void>
}

/** Keys written or deleted while in fallback are deleted in Redis this many at a time on recovery. */
const DEL_BATCH = 100

/** Errors that mean "Redis is not there for this call", as opposed to "Redis said no". */
function isOutage(err: unknown): boolean {
  if ((err as { code?: unknown } | null)?.code === 'RPM_POOL_CLOSED') return false
  const type = classifyError(err)
  return (
    type === ErrorType.connection ||
    type === ErrorType.timeout ||
    type === ErrorType.circuitOpen ||
    type === ErrorType.poolExhausted
  )
}

/**
 * A JSON cache over a pool monitor: namespaces with TTLs, single-flight getOrSet, an in-memory
 * fallback while Redis is unavailable, and an optional near cache. See src/cache/README.md.
 */
export function createCache(options: CacheOptions): Cache {
  const { monitor, registry } = options
  const defaultTtlSeconds = options.defaultTtlSeconds ?? 3_600
  const defaultJitter = options.ttlJitter ?? 0
  const fallbackMax = options.fallback?.maxEntries ?? 10_000
  const random = options.random ?? Math.random
  const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'cache', pool: monitor.name })
  assert(monitor, 'a PoolMonitor is required')
  assert(registry, 'a prom-client Registry is required (never the global one)')
  const validTtl = (s: number) => Number.isFinite(s) && s > 0
  const validJitter = (j: number) => Number.isFinite(j) && j >= 0 && j < 1
  assert(validTtl(defaultTtlSeconds), 'defaultTtlSeconds must be a number > 0')
  assert(validJitter(defaultJitter), 'ttlJitter must be >= 0 and < 1')
  assert(Number.isInteger(fallbackMax) && fallbackMax >= 1, 'fallback.maxEntries must be an integer >= 1')
  const configured = Object.entries(options.namespaces ?? {})
  for (const [name, ns] of configured) {
    assert(name.length > 0 && name !== OTHER_NAMESPACE, `namespace "${name}" is reserved or empty`)
    assert(validTtl(ns.ttlSeconds), `namespace ${name}: ttlSeconds must be a number > 0`)
    assert(
      ns.ttlJitter === undefined || validJitter(ns.ttlJitter),
      `namespace ${name}: ttlJitter must be >= 0 and < 1`,
    )
  }
  const nearOptions = options.nearCache
  if (nearOptions) {
    assert(
      Number.isInteger(nearOptions.maxEntries) && nearOptions.maxEntries >= 1,
      'nearCache.maxEntries must be an integer >= 1',
    )
  }
  const nearNamespaces = new Set(nearOptions?.namespaces ?? configured.map(([name]) => name))

  let active = false
  let activatedAt = 0
  let closed = false
  /** Keys written or deleted while in fallback: Redis may hold an older value for each. */
  const dirty = new Set<string>()
  let dirtyOverflow = false
  const fallback = new LRUCache<string, string>({ max: fallbackMax })
  const inflight = new Map<string, Promise<unknown>>()

  const counters = attachCacheMetrics(
    registry,
    {
      pool: monitor.name,
      fallbackActive: () => isActive(),
      fallbackEntries: () => fallback.size,
    },
    configured.map(([name]) => name),
    nearOptions !== undefined,
  )

  const namespaces = new Map<string, Namespace>()
  for (const [name, ns] of configured) {
    namespaces.set(name, {
      label: name,
      ttlMs: ns.ttlSeconds * 1000,
      jitter: ns.ttlJitter ?? defaultJitter,
      near: nearOptions !== undefined && nearNamespaces.has(name),
      count: counters.requests.get(name)!,
    })
  }
  const other: Namespace = {
    label: OTHER_NAMESPACE,
    ttlMs: defaultTtlSeconds * 1000,
    jitter: defaultJitter,
    near: false,
    count: counters.requests.get(OTHER_NAMESPACE)!,
  }
  const namespaceOf = (name: string) => namespaces.get(name) ?? other

  const near: NearCache | undefined = nearOptions
    ? createNearCache({
        connect: (role, overrides) => monitor.openConnection(`cache-${role}`, overrides),
        maxEntries: nearOptions.maxEntries,
        heartbeatMs: nearOptions.heartbeatMs ?? 1_000,
        logger: log,
        onInvalidated: counters.nearInvalidated,
      })
    : undefined

  const ttlOf = (ns: Namespace) =>
    ns.jitter === 0 ? ns.ttlMs : Math.max(1, Math.round(ns.ttlMs * (1 - ns.jitter * random())))

  // --- fallback state ---------------------------------------------------------------------------
  /** `err` undefined: the breaker was found open before any call. */
  function enter(err: unknown): void {
    if (active) return
    active = true
    activatedAt = Date.now()
    log.warn(
      { reason: err === undefined ? ErrorType.circuitOpen : classifyError(err) },
      'Redis unavailable: the cache serves reads and writes from its in-memory fallback',
    )
  }

  /**
   * Redis is back: drop the fallback. Its entries may be older than what other instances wrote to
   * Redis meanwhile, and copying them back would overwrite newer data; the keys this process wrote
   * or deleted during the outage are deleted in Redis instead, so the next read loads them fresh.
   */
  function leave(): void {
    if (!active) return
    active = false
    const stale = [...dirty]
    const lostTrack = dirtyOverflow
    dirty.clear()
    dirtyOverflow = false
    fallback.clear()
    log.info(
      { invalidated: stale.length, lostTrack },
      'Redis answers again: the cache fallback is dropped and reads come from Redis',
    )
    void invalidate(stale)
  }

  /**
   * One DEL per key (keys of different cluster slots cannot share one), DEL_BATCH at a time so a
   * long outage's keys do not flood the pool's wait queue; in the background.
   */
  async function invalidate(keys: string[]): Promise<void> {
    let failed = 0
    for (let i = 0; i < keys.length && !closed; i += DEL_BATCH) {
      const results = await Promise.allSettled(
        keys.slice(i, i + DEL_BATCH).map((key) => monitor.call('del', key)),
      )
      failed += results.filter((r) => r.status === 'rejected').length
    }
    if (failed > 0) {
      log.warn({ failed }, 'could not delete some keys written during the outage; they expire with their TTL')
    }
  }

  /** A Redis call succeeded: when the breaker is closed too, the outage is over. */
  function succeeded(): void {
    if (active && monitor.breakerState() === 'closed') leave()
  }

  /**
   * Also leaves the fallback without traffic: once the breaker is closed and a probe newer than
   * the outage answered, Redis is back (the history sampler reads this while the app is idle).
   */
  function isActive(): boolean {
    if (!active) return false
    const probe = monitor.health().lastProbe
    if (monitor.breakerState() === 'closed' && probe?.ok && probe.at > activatedAt) leave()
    return active
  }

  function markDirty(key: string): void {
    if (dirty.size < fallbackMax) dirty.add(key)
    else if (!dirty.has(key) && !dirtyOverflow) {
      dirtyOverflow = true
      log.warn(
        { max: fallbackMax },
        'more keys written during the outage than the fallback holds; the rest are not invalidated in Redis when it returns',
      )
    }
  }

  function fallbackRead(ns: Namespace, key: string): string | undefined {
    const raw = fallback.get(key)
    if (raw === undefined) ns.count.fallback_miss()
    else ns.count.fallback_hit()
    return raw
  }

  function fallbackWrite(ns: Namespace, key: string, json: string): void {
    fallback.set(key, json, { ttl: ttlOf(ns) })
    markDirty(key)
  }

  const breakerOpen = () => monitor.breakerState() === 'open'

  function decode<T>(raw: string, ns: Namespace, key: string): T {
    try {
      return JSON.parse(raw) as T
    } catch {
      ns.count.error()
      throw new CacheDecodeError(key)
    }
  }

  /** One GET through the near cache's tracked connection; a closed one hands over to the pool. */
  async function fetchNear(ns: Namespace, key: string): Promise<unknown> {
    try {
      return await near!.fetch(key, ns.ttlMs)
    } catch (err) {
      const type = classifyError(err)
      // A timeout already took the whole command timeout: no second try through the pool.
      if (type === ErrorType.connection) return monitor.call('get', key)
      if (type === ErrorType.reply && isRedirection(err)) {
        // A Redis Cluster: the tracked connection talks to one node, and keys of other nodes'
        // slots answer MOVED. Tracking per node is not worth its complexity here; the pool
        // routes by slot, so reads go through it from now on.
        void near!.close()
        for (const each of namespaces.values()) each.near = false
        log.warn('near cache off: Redis answered MOVED/ASK (a cluster); reads go through the pool')
        return monitor.call('get', key)
      }
      throw toPublicError(err, type, { command: 'get', timeoutMs: 0, pool: monitor.name, secrets: [] })
    }
  }

  /**
   * The local copy of `key` when the near cache holds it (counted as a hit), else undefined
   * (counted as a near miss for a near-cached namespace). Synchronous: a local hit costs no
   * promise of its own.
   */
  function localCopy(ns: Namespace, key: string): string | undefined {
    if (!ns.near) return undefined
    const local = near!.ready ? near!.lookup(key) : undefined
    if (local === undefined) {
      counters.nearMiss()
      return undefined
    }
    counters.nearHit()
    ns.count.hit()
    return local
  }

  /**
   * The JSON text under `key` from Redis or the fallback, counting the lookup once. Written with
   * then() rather than async/await: this is the hit path, and each async frame costs a promise.
   */
  function lookup(ns: Namespace, key: string): Promise<string | undefined> {
    if (closed) return Promise.reject(new CacheClosedError(monitor.name))
    if (breakerOpen()) {
      enter(undefined)
      return Promise.resolve(fallbackRead(ns, key))
    }
    const sent = ns.near && near!.ready ? fetchNear(ns, key) : monitor.call('get', key)
    return sent.then(
      (raw) => {
        succeeded()
        if (raw === null || raw === undefined) {
          ns.count.miss()
          return undefined
        }
        ns.count.hit()
        return typeof raw === 'string' ? raw : String(raw)
      },
      (err: unknown) => {
        if (!isOutage(err)) {
          ns.count.error()
          throw err
        }
        enter(err)
        return fallbackRead(ns, key)
      },
    )
  }

  async function write(ns: Namespace, key: string, value: unknown): Promise<void> {
    if (closed) throw new CacheClosedError(monitor.name)
    let json: string
    try {
      json = encodeValue(value, key)
    } catch (err) {
      ns.count.error()
      throw err
    }
    near?.drop(key)
    if (breakerOpen()) {
      enter(undefined)
      fallbackWrite(ns, key, json)
      return
    }
    try {
      await monitor.call('set', key, json, 'PX', ttlOf(ns))
    } catch (err) {
      if (!isOutage(err)) {
        ns.count.error()
        throw err
      }
      enter(err)
      fallbackWrite(ns, key, json)
      return
    }
    // Half-open: Redis took the write but the fallback stays; it must not shadow the new value.
    if (active) fallback.delete(key)
    succeeded()
  }

  async function remove(ns: Namespace, key: string): Promise<void> {
    if (closed) throw new CacheClosedError(monitor.name)
    near?.drop(key)
    if (breakerOpen()) {
      enter(undefined)
      fallback.delete(key)
      markDirty(key)
      return
    }
    try {
      await monitor.call('del', key)
    } catch (err) {
      if (!isOutage(err)) {
        ns.count.error()
        throw err
      }
      enter(err)
      fallback.delete(key)
      markDirty(key)
      return
    }
    if (active) fallback.delete(key)
    succeeded()
  }

  return {
    async get<T>(namespace: string, key: CacheKey): Promise<T | undefined> {
      const ns = namespaceOf(namespace)
      const redisKey = `${namespace}:${key}`
      const raw = (closed ? undefined : localCopy(ns, redisKey)) ?? (await lookup(ns, redisKey))
      return raw === undefined ? undefined : decode<T>(raw, ns, redisKey)
    },

    set: (namespace, key, value) => write(namespaceOf(namespace), `${namespace}:${key}`, value),

    getOrSet<T>(namespace: string, key: CacheKey, loader: () => T | Promise<T>): Promise<T> {
      const redisKey = `${namespace}:${key}`
      const running = inflight.get(redisKey)
      if (running) return running as Promise<T>
      const ns = namespaceOf(namespace)
      const local = closed ? undefined : localCopy(ns, redisKey)
      if (local !== undefined) {
        try {
          return Promise.resolve(decode<T>(local, ns, redisKey))
        } catch (err) {
          return Promise.reject(err)
        }
      }
      const settled = () => {
        inflight.delete(redisKey)
      }
      const flight = lookup(ns, redisKey).then(
        (raw): T | Promise<T> => {
          if (raw !== undefined) {
            settled()
            return decode<T>(raw, ns, redisKey)
          }
          return (async () => {
            try {
              const value = await loader()
              await write(ns, redisKey, value)
              return value
            } finally {
              settled()
            }
          })()
        },
        (err: unknown) => {
          settled()
          throw err
        },
      )
      inflight.set(redisKey, flight)
      return flight
    },

    delete: (namespace, key) => remove(namespaceOf(namespace), `${namespace}:${key}`),

    get fallbackActive() {
      return isActive()
    },

    async close() {
      if (closed) return
      closed = true
      await near?.close()
      fallback.clear()
      counters.detach()
    },
  }
}
