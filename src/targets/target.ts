import { isIP } from 'node:net'
import { DEFAULT_REDIS_PORT, formatHostPort, type HostPort } from '../redis/endpoint.js'

/** One /scrape target as the route understood it; holds no secret (a password is refused). */
export interface ScrapeTarget {
  readonly scheme: 'redis' | 'rediss'
  readonly node: HostPort
  readonly username: string | undefined
  readonly db: number
  /** `host:port` (IPv6 as `[addr]:port`): what SCRAPE_TARGETS patterns match. */
  readonly hostPort: string
  /** `scheme://[user@]host:port`: the key of REDIS_TARGET_PASSWORDS_FILE (redis_exporter's format). */
  readonly passwordKey: string
  /** `scheme://[user@]host:port/db`: one cached connection per distinct value. */
  readonly id: string
}

/** A target that cannot be scraped as given, with a reason safe to show (never the password). */
export type TargetProblem = { problem: string }

/** Databases a target may name in its path (Redis' `databases` is 16 by default; some run more). */
const MAX_DB = 99

/**
 * Parses a /scrape target the way redis_exporter reads one: `redis://host:port`,
 * `rediss://host:port`, `host:port` (as redis://), a missing port meaning 6379, IPv6 as
 * `[addr]:port`, a user name allowed, a `/db` path allowed. A password in it is refused: it would
 * sit in Prometheus' config and in every access log; it belongs in REDIS_TARGET_PASSWORDS_FILE.
 */
export function parseTarget(raw: string): ScrapeTarget | TargetProblem {
  const text = raw.trim()
  if (text === '') return { problem: 'the target is empty' }
  if (text.length > 1024) return { problem: 'the target is longer than 1024 characters' }
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `redis://${text}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return { problem: 'the target is not redis://host:port, rediss://host:port or host:port' }
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase()
  if (scheme !== 'redis' && scheme !== 'rediss')
    return { problem: `the scheme ${JSON.stringify(scheme)} is not redis or rediss` }
  if (url.password !== '' || /^[^/]*\/\/[^/@]*:[^/@]*@/.test(withScheme))
    return { problem: 'the target carries a password; put it in REDIS_TARGET_PASSWORDS_FILE instead' }
  if (url.search !== '' || url.hash !== '') return { problem: 'the target has a query or fragment' }
  const bracketed = /^\[(.*)\]$/.exec(url.hostname)
  const host = (bracketed ? bracketed[1]! : url.hostname).toLowerCase()
  if (host === '') return { problem: 'the target has no host' }
  if (bracketed ? isIP(host) !== 6 : !/^[\w.-]+$/.test(host))
    return { problem: 'the host is not a name, an IPv4 address or a bracketed IPv6 address' }
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return { problem: 'the port is not 1 to 65535' }
  const path = url.pathname.replace(/^\//, '')
  if (path !== '' && !/^\d{1,2}$/.test(path))
    return { problem: `the database (path) is not a number from 0 to ${MAX_DB}` }
  let username: string | undefined
  try {
    username = url.username === '' ? undefined : decodeURIComponent(url.username)
  } catch {
    return { problem: 'the user name is not valid percent-encoding' }
  }
  const node = { host, port }
  const hostPort = formatHostPort(node)
  const user = username === undefined ? '' : `${encodeURIComponent(username)}@`
  const passwordKey = `${scheme}://${user}${hostPort}`
  const db = path === '' ? 0 : Number(path)
  return { scheme, node, username, db, hostPort, passwordKey, id: `${passwordKey}/${db}` }
}

/**
 * `text` with the password part of its user info (between the first `:` after the scheme and the
 * last `@`) replaced by `***`, for quoting a target, a password-file key or an allow-list pattern
 * in an error line. Works on text that is not a valid URL too (no scheme, a raw `/` or `@` in the
 * password): those are exactly the values that get quoted for being malformed.
 */
export function withoutPassword(text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? ''
  const at = text.lastIndexOf('@')
  if (at < scheme.length) return text
  const userInfo = text.slice(scheme.length, at)
  const colon = userInfo.indexOf(':')
  if (colon === -1) return text
  return `${scheme}${userInfo.slice(0, colon)}:***${text.slice(at)}`
}

export const isProblem = (value: ScrapeTarget | TargetProblem): value is TargetProblem => 'problem' in value
