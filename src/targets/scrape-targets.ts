import type { Logger } from 'pino'
import { ScrapeDisabledError, ScrapeTargetForbiddenError, ScrapeTargetInvalidError } from '../errors.js'
import type { TlsSettings } from '../redis/endpoint.js'
import { type AllowList, createAllowList, type DiscoveredTargets } from './allow-list.js'
import type { ExpositionFormat } from './exposition.js'
import { NO_PASSWORDS, type TargetPasswords } from './passwords.js'
import { isProblem, parseTarget, type ScrapeTarget } from './target.js'
import { createTargetCache } from './target-cache.js'
import { type CreateCollection, createTargetState, type TargetState } from './target-state.js'

/** Idle targets are closed after this long without a scrape: 15 min covers any sane scrape interval. */
export const TARGET_IDLE_MS = 15 * 60_000
/** check-keys patterns per target, and their length: bounds the work a query string can ask for. */
export const MAX_CHECK_KEYS = 32
const MAX_PATTERN_LENGTH = 256

/** The service's own credentials, for the nodes it discovered itself. Secrets: never log. */
export interface OwnCredentials {
  /** REDIS_URL's user and password (REDIS_PASSWORD_FILE's when set): the data nodes'. */
  username: string | undefined
  password: string | undefined
  /** REDIS_SENTINEL_PASSWORD_FILE's: the Sentinels'. */
  sentinelPassword: string | undefined
}

export interface ScrapeTargetsOptions {
  /** SCRAPE_TARGETS patterns. */
  patterns: readonly string[]
  /** SCRAPE_TARGETS_MAX. */
  maxTargets: number
  passwords?: TargetPasswords
  /**
   * Read at each new target state (so a SIGHUP rotation applies): a node the service discovered
   * (Sentinel, Cluster) and that REDIS_TARGET_PASSWORDS_FILE does not name authenticates as the
   * service does, since it belongs to the same deployment. @default none
   */
  ownCredentials?: () => OwnCredentials
  /** REDIS_TLS_*, for rediss:// targets. */
  tls: TlsSettings
  commandTimeoutMs: number
  logger: Logger
  createCollection: CreateCollection
  /** @default TARGET_IDLE_MS */
  idleMs?: number
  now?: () => number
}

export interface ScrapeRequest {
  target: string | undefined
  /** The check-keys query parameter, comma-separated globs. */
  checkKeys?: string | undefined
  timeoutMs: number
}

/** The /scrape side of the service; decorated on the app as `scrapeTargets`. */
export interface ScrapeTargets {
  /**
   * Allows the nodes `provider` names (`host:port`, IPv6 bracketed), read at each request so they
   * follow the topology. Sentinel and Cluster register theirs; returns the unregister function.
   */
  addDiscovered(name: string, provider: DiscoveredTargets): () => void
  readonly allowList: AllowList
  /**
   * Checks the request (404 off, 400 malformed or with a password, 403 outside the allow-list,
   * before anything is dialled), then collects the target within the budget and returns its
   * families as exposition text in `format`. Never throws for the target's sake: an unreachable
   * target is redis_up 0.
   */
  scrape(request: ScrapeRequest, format: ExpositionFormat): Promise<string>
  /** New secrets and certificates (SIGHUP): every cached target is closed and redials with them. */
  reload(secrets: { passwords: TargetPasswords; tls: TlsSettings }): Promise<void>
  /** Targets held now. */
  readonly size: number
  close(): Promise<void>
}

function parseCheckKeys(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return []
  const patterns = [
    ...new Set(
      raw
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    ),
  ].sort()
  if (patterns.length > MAX_CHECK_KEYS)
    throw new ScrapeTargetInvalidError(`check-keys holds more than ${MAX_CHECK_KEYS} patterns`)
  for (const p of patterns) {
    if (p.length > MAX_PATTERN_LENGTH || /\s/.test(p))
      throw new ScrapeTargetInvalidError(
        `check-keys expects comma-separated glob patterns without spaces, each at most ${MAX_PATTERN_LENGTH} characters`,
      )
  }
  return patterns
}

/**
 * redis_exporter's multi-target pattern with an allow-list in front and per-target state kept in a
 * bounded LRU (connections reused across scrapes instead of dialled each time, so a scrape is one
 * INFO round trip). Each target has its own connection and registry: a frozen target costs only
 * its own scrapes their budget.
 */
export function createScrapeTargets(options: ScrapeTargetsOptions): ScrapeTargets {
  const { logger } = options
  const allowList = createAllowList(options.patterns)
  let passwords = options.passwords ?? NO_PASSWORDS
  let tls = options.tls
  /** The file's password first; else, for a discovered node, the service's own credentials. */
  function credentials(target: ScrapeTarget): { username?: string; password?: string } {
    const listed = passwords.lookup(target)
    if (listed !== undefined) return { password: listed }
    const node = allowList.discovered(target.hostPort)
    const own = node && options.ownCredentials?.()
    if (!node || !own) return {}
    if (node.auth === 'sentinel')
      return own.sentinelPassword === undefined ? {} : { password: own.sentinelPassword }
    // A target naming another user asked for that user: its password is not ours to give.
    if (target.username !== undefined && target.username !== own.username) return {}
    return {
      ...(own.username !== undefined ? { username: own.username } : {}),
      ...(own.password !== undefined ? { password: own.password } : {}),
    }
  }

  const cache = createTargetCache<TargetState>({
    max: options.maxTargets,
    idleMs: options.idleMs ?? TARGET_IDLE_MS,
    ...(options.now ? { now: options.now } : {}),
    onClose: (key, why) => {
      if (why === 'evicted' || why === 'idle') logger.debug({ target: key, why }, 'closed a /scrape target')
    },
  })

  return {
    allowList,
    addDiscovered: (name, provider) => allowList.addDiscovered(name, provider),
    get size() {
      return cache.size
    },
    async scrape(request, format) {
      if (!allowList.enabled()) throw new ScrapeDisabledError()
      if (request.target === undefined || request.target.trim() === '')
        throw new ScrapeTargetInvalidError(
          'the target query parameter is required, e.g. ?target=redis://host:6379',
        )
      const target = parseTarget(request.target)
      if (isProblem(target)) throw new ScrapeTargetInvalidError(target.problem)
      if (!allowList.allows(target.hostPort)) throw new ScrapeTargetForbiddenError(target.hostPort)
      const checkKeys = parseCheckKeys(request.checkKeys)
      const key = checkKeys.length > 0 ? `${target.id}?check-keys=${checkKeys.join(',')}` : target.id
      const state = cache.acquire(key, () =>
        createTargetState({
          target,
          checkKeys,
          ...credentials(target),
          tls,
          commandTimeoutMs: options.commandTimeoutMs,
          logger: logger.child({ target: target.id }),
          createCollection: options.createCollection,
          ...(options.now ? { now: options.now } : {}),
        }),
      )
      return state.scrape(request.timeoutMs, format)
    },
    async reload(secrets) {
      passwords = secrets.passwords
      tls = secrets.tls
      await cache.clear('reload')
    },
    close: () => cache.close(),
  }
}
