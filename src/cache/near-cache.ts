import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import { closeClient } from '../redis/connection.js'
import { integerReply } from '../redis/reply-shape.js'

/** The channel Redis publishes invalidations on for RESP2 clients (the "two connections" mode). */
export const INVALIDATE_CHANNEL = '__redis__:invalidate'

export interface NearCacheOptions {
  /** Opens a dedicated connection to the monitored Redis (PoolMonitor.openConnection). */
  connect: (
    role: string,
    overrides: { protocol: 2; autoResubscribe?: boolean; commandTimeout?: number },
  ) => Redis
  maxEntries: number
  /** How often the invalidation connection is PINGed; a silent one is dropped and the copy flushed. */
  heartbeatMs: number
  logger: Logger
  /** Keys Redis invalidated (a flush or a lost connection counts 1). */
  onInvalidated: (count: number) => void
}

export interface NearCache {
  /** Tracking is on and the invalidation connection is subscribed: the local copy may be used. */
  readonly ready: boolean
  /** The local JSON text of a key, or undefined. */
  lookup(key: string): string | undefined
  /** GET through the tracked connection; the reply is kept locally unless invalidated meanwhile. */
  fetch(key: string, ttlMs: number): Promise<string | null>
  /** Forgets a key before this process writes or deletes it. */
  drop(key: string): void
  readonly size: number
  close(): Promise<void>
}

/**
 * A bounded local copy of hot keys kept correct by Redis' server-assisted client-side caching.
 *
 * Two connections, as Redis documents for RESP2: `data` runs `CLIENT TRACKING ON REDIRECT <id>`
 * and does every read whose reply is kept, so Redis remembers those keys for this client; `sub`
 * is the connection `<id>`, subscribed to __redis__:invalidate, where Redis publishes the keys
 * to drop when anyone writes them (or they expire or are evicted).
 *
 * Guarantee: once another client's write is acknowledged, Redis has already queued the
 * invalidation to `sub`; a read here returns the new value as soon as that message is read (one
 * Redis-to-client hop). Whenever that path may have lost a message (either connection closed,
 * `sub` silent for a heartbeat), the copy is flushed whole and bypassed until tracking is set up
 * again on fresh connections: it never serves a key whose invalidation it could have missed
 * beyond that detection time (immediate for a closed socket, one heartbeat for a silent one).
 *
 * A reply can race its own invalidation (two sockets, no order between them): each fetch leaves
 * a token in `pending`, an invalidation removes it, and a reply whose token is gone is returned
 * to its caller but not kept.
 */
export function createNearCache(options: NearCacheOptions): NearCache {
  const log = options.logger
  const entries = new LRUCache<string, string>({ max: options.maxEntries })
  const pending = new Map<string, object>()
  // Bumped by every flush: a fetch that started before a flush never stores its reply.
  let epoch = 0
  let ready = false
  let closed = false
  let subId: number | undefined
  let tracking = false
  let establishing: Promise<void> | undefined
  let again = false

  const data = options.connect('near-data', { protocol: 2 })
  const sub = options.connect('near-invalidations', {
    protocol: 2,
    // Tracking must be redirected to the new connection id after a reconnect, so the cache
    // subscribes itself once it knows the id.
    autoResubscribe: false,
    commandTimeout: options.heartbeatMs,
  })
  data.on('error', () => undefined)
  sub.on('error', () => undefined)

  function flush(reason: string): void {
    epoch++
    pending.clear()
    if (entries.size > 0 || ready) options.onInvalidated(1)
    entries.clear()
    if (ready) log.warn({ reason }, 'near cache flushed and bypassed until tracking is set up again')
    ready = false
  }

  sub.on('messageBuffer', (channel: Buffer, message: Buffer | Buffer[] | null) => {
    if (channel.toString() !== INVALIDATE_CHANNEL) return
    if (message === null || !Array.isArray(message)) {
      // FLUSHALL / FLUSHDB: Redis sends a null key list.
      epoch++
      pending.clear()
      entries.clear()
      options.onInvalidated(1)
      return
    }
    for (const raw of message) {
      const key = raw.toString()
      pending.delete(key)
      entries.delete(key)
    }
    options.onInvalidated(message.length)
  })

  sub.on('close', () => {
    subId = undefined
    flush('the invalidation connection closed')
  })
  data.on('close', () => {
    tracking = false
    flush('the tracking connection closed')
  })
  sub.on('ready', () => void establish())
  data.on('ready', () => void establish())

  /** Brings both connections to the tracked state; reruns when an event arrives meanwhile. */
  function establish(): Promise<void> {
    if (establishing) {
      again = true
      return establishing
    }
    establishing = (async () => {
      do {
        again = false
        await setUp().catch((err: unknown) => {
          if (closed) return
          // A half-done setup (subscribed or not, tracking or not) is not worth untangling:
          // start over on a fresh invalidation connection, whose ready event runs this again.
          log.debug({ err }, 'near cache tracking setup failed; reconnecting the invalidation connection')
          flush('tracking setup failed')
          subId = undefined
          tracking = false
          sub.disconnect(true)
        })
      } while (again && !closed)
    })().finally(() => {
      establishing = undefined
    })
    return establishing
  }

  async function setUp(): Promise<void> {
    if (closed) return
    const startEpoch = epoch
    if (subId === undefined) {
      if (sub.status !== 'ready') return
      const id = integerReply('CLIENT ID', await sub.client('ID'))
      await sub.subscribe(INVALIDATE_CHANNEL)
      subId = id
      tracking = false
    }
    if (!tracking) {
      if (data.status !== 'ready') return
      await data.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(subId))
      tracking = true
    }
    // A close during the setup flushed and bumped the epoch: the next ready event starts over.
    if (epoch !== startEpoch || subId === undefined || !tracking || closed) return
    if (!ready) {
      ready = true
      log.info(
        { redirect: subId },
        'near cache on: CLIENT TRACKING redirected to the invalidation connection',
      )
    }
  }

  // A socket that stays open but silent (a partition, a frozen server) sends no close event:
  // without a heartbeat the copy would be trusted forever.
  const heartbeat = setInterval(() => {
    if (!ready || sub.status !== 'ready') return
    sub.ping().catch(() => {
      if (closed) return
      flush('the invalidation connection did not answer a PING within the heartbeat')
      subId = undefined
      sub.disconnect(true)
    })
  }, options.heartbeatMs)
  heartbeat.unref()

  return {
    get ready() {
      return ready
    },
    get size() {
      return entries.size
    },
    lookup: (key) => entries.get(key),
    async fetch(key, ttlMs) {
      const token = {}
      const startEpoch = epoch
      pending.set(key, token)
      try {
        const raw = (await data.get(key)) as string | null
        if (pending.get(key) === token && startEpoch === epoch && ready && raw !== null) {
          entries.set(key, raw, { ttl: ttlMs })
        }
        return raw
      } finally {
        if (pending.get(key) === token) pending.delete(key)
      }
    },
    drop(key) {
      pending.delete(key)
      entries.delete(key)
    },
    async close() {
      if (closed) return
      closed = true
      clearInterval(heartbeat)
      ready = false
      entries.clear()
      pending.clear()
      await Promise.all([data, sub].map(closeClient))
    },
  }
}
