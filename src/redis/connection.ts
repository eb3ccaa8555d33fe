import { Redis, type RedisOptions } from 'ioredis'
import { ConnectionError } from '../errors.js'
import { withTimeout } from '../timeout.js'

export interface BackoffOptions {
  /** First reconnect delay in ms. */
  baseMs: number
  /** Ceiling of the exponential part in ms. */
  capMs: number
  /** Up to this many ms of random jitter are added, so N connections do not reconnect in step. */
  jitterMs: number
}

export const BACKOFF_DEFAULTS: Readonly<BackoffOptions> = { baseMs: 50, capMs: 2_000, jitterMs: 250 }
/**
 * Reconnects after Redis refused a connection at maxclients: every attempt takes one of the slots
 * other clients are short of, so back off to 30 s instead of knocking every 2 s.
 */
export const MAXCLIENTS_BACKOFF: Readonly<BackoffOptions> = { baseMs: 1_000, capMs: 30_000, jitterMs: 1_000 }
/** What Redis writes to a connection it accepts past maxclients, before closing it. */
const MAXCLIENTS_REPLY = '-ERR max number of clients reached'
/** Emitted on a client from createConnection each time Redis refuses it at maxclients. */
export const MAXCLIENTS_EVENT = 'rpm:maxclients'

/** Delay before reconnect attempt `attempt` (1-based): base * 2^(attempt-1), capped, plus jitter. */
export function reconnectDelay(
  attempt: number,
  options: BackoffOptions = BACKOFF_DEFAULTS,
  random = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30)
  const exponential = Math.min(options.baseMs * 2 ** exponent, options.capMs)
  return Math.round(exponential + random() * options.jitterMs)
}

/** Client names may not contain spaces; keep what CLIENT LIST shows readable. */
export function connectionName(pool: string, index: number | string): string {
  return `rpm:${pool.replace(/[^\w.-]/g, '_')}:${index}`
}

export interface ConnectionOptions {
  redis: RedisOptions
  pool: string
  /** Its place in CLIENT LIST's name: the slot number, or a role such as `keygroups-db1`. */
  index: number | string
  backoff?: BackoffOptions
  /**
   * ioredis' own per-command timeout, for a connection used outside the pool (which times its
   * commands with one sweep instead). @default none
   */
  commandTimeoutMs?: number
  /** Bytes one reply may take; a larger one closes the connection; 0: no cap. @default MAX_REPLY_BYTES (16 MiB) */
  maxReplyBytes?: number
}

/**
 * One pooled ioredis connection, connected eagerly so CLIENT LIST shows the whole pool at once.
 * Bounded by design: no offline queue (a call on a dead connection fails at once instead of
 * piling up in memory), no resend of unanswered commands after reconnect (a command may already
 * have run; the caller has been told it failed), and reconnects with capped exponential backoff
 * plus jitter. No `commandTimeout` here: per-command timeouts come from the pool's sweep
 * (timeout-sweep.ts), which costs one timer per pool instead of one per command.
 */
export function createConnection(options: ConnectionOptions): Redis {
  const backoff = options.backoff ?? BACKOFF_DEFAULTS
  // Set when Redis said maxclients, cleared once a connection is ready again.
  let refused = false
  const client = new Redis({
    ...options.redis,
    connectionName: connectionName(options.pool, options.index),
    lazyConnect: false,
    enableOfflineQueue: false,
    enableAutoPipelining: false,
    autoResendUnfulfilledCommands: false,
    // 0: commands in flight when the socket closes fail at once with a connection error.
    maxRetriesPerRequest: 0,
    // Overrides any value in `redis`: the pool's sweep times shared commands, leases turn it on.
    commandTimeout: options.commandTimeoutMs,
    retryStrategy: (attempt: number) => reconnectDelay(attempt, refused ? MAXCLIENTS_BACKOFF : backoff),
  })
  const maxReplyBytes = options.maxReplyBytes ?? MAX_REPLY_BYTES
  guardSocketErrors(client, maxReplyBytes === 0 ? undefined : maxReplyBytes, (stream) => {
    // Often the write of the first command fails (EPIPE) before this is read; when it is read,
    // it names the cause.
    stream.once('data', (chunk: Buffer) => {
      if (chunk.toString('latin1', 0, MAXCLIENTS_REPLY.length) !== MAXCLIENTS_REPLY) return
      refused = true
      client.emit(MAXCLIENTS_EVENT)
    })
  })
  client.on('ready', () => {
    refused = false
  })
  return client
}

/**
 * Bytes one reply may take before its connection is closed. ioredis' decoder has no limit: a hostile
 * or broken peer answering one command with a 512 MB bulk string made every pooled connection hold
 * it (10 connections: RSS past 1 GB). Redis' own replies to this service are kilobytes (INFO, SCAN
 * batches); an application value this large belongs in chunks.
 */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024

const ignore = () => {}

/**
 * ioredis listens for its socket's errors with once(). A socket can fail twice: a TLS handshake
 * that fails the certificate check is followed by the server's alert, and a client closed while
 * its socket is still connecting no longer reports errors at all. The second error, with no
 * listener left, is an uncaught exception that ends the process. Every socket the client opens
 * gets a lasting listener the moment ioredis stores it (`stream`, public in ioredis' typings);
 * the client's own 'error' event still reports the first error as before.
 */
export function guardSocketErrors(
  client: Redis,
  maxReplyBytes?: number,
  onStream?: (stream: NonNullable<Redis['stream']>) => void,
): void {
  let current: Redis['stream'] | undefined
  Object.defineProperty(client, 'stream', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set(stream: Redis['stream'] | undefined) {
      if (stream && stream !== current) {
        stream.on('error', ignore)
        if (maxReplyBytes !== undefined) boundReplies(client, stream, maxReplyBytes)
        onStream?.(stream)
      }
      current = stream
    },
  })
}

/**
 * Closes the socket once the command at the head of the queue has received more than `max` bytes
 * without its reply completing. ioredis' parser reads each chunk first (it prepends its listener),
 * so a head that moved means a reply completed and the count starts again.
 */
function boundReplies(client: Redis, stream: NonNullable<Redis['stream']>, max: number): void {
  let head: unknown
  let received = 0
  let written = -1
  stream.on('data', (chunk: Buffer) => {
    const now = client.commandQueue.peekFront()
    // An empty queue after something was written: the replies to it are complete, nothing is owed.
    // (Without this, a connection whose replies each fit in one chunk kept an empty head from chunk
    // to chunk and added them all up: a healthy connection closed after 16 MiB of small replies.)
    // An empty queue with nothing written since the last chunk is data nobody asked for: counted.
    const sent = (stream as { bytesWritten?: number }).bytesWritten ?? 0
    const drained = now === undefined && sent !== written
    written = sent
    if (drained || now !== head) {
      head = now
      received = 0
      return
    }
    received += chunk.length
    if (received > max) {
      const message = `a reply exceeded ${max} bytes (maxReplyBytes); the connection was closed`
      // The command waiting for it learns why, not only that the connection closed (its caller
      // may raise maxReplyBytes); the others in flight fail as on any lost connection.
      ;(now as { command?: { reject(err: Error): void } } | undefined)?.command?.reject(
        new ConnectionError(message),
      )
      stream.destroy(new Error(message))
    }
  })
}

/**
 * How long a QUIT may wait for Redis' answer before the socket is dropped. QUIT is answered at
 * once by any live server; a frozen one (SIGSTOP, a stalled host) never answers, and close()
 * must not wait on it.
 */
export const QUIT_TIMEOUT_MS = 1_000

/**
 * QUIT a ready connection (Redis answers, the socket closes cleanly); one not ready, gone, or
 * silent for QUIT_TIMEOUT_MS is dropped.
 */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    const quit = await withTimeout(
      client.quit().then(
        () => true,
        () => false,
      ),
      QUIT_TIMEOUT_MS,
      () => false,
    )
    if (quit) return
  }
  client.disconnect()
}
