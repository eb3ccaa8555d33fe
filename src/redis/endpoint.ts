import { isIP } from 'node:net'
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import type { RedisOptions } from 'ioredis'

/** Redis' default port, for targets and Sentinel nodes given without one. */
export const DEFAULT_REDIS_PORT = 6379
/** Sentinel's default port. */
export const DEFAULT_SENTINEL_PORT = 26379

export type Topology = 'standalone' | 'sentinel' | 'cluster'

export interface HostPort {
  readonly host: string
  readonly port: number
}

/** PEM contents (read at start and on SIGHUP, never per connection) and how to verify the peer. */
export interface TlsSettings {
  readonly ca: string | undefined
  readonly cert: string | undefined
  readonly key: string | undefined
  /** Name checked on the server certificate (SNI); undefined: the host actually dialled. */
  readonly serverName: string | undefined
  readonly insecureSkipVerify: boolean
}

export interface SentinelSettings {
  readonly nodes: readonly HostPort[]
  /** The master's name at the Sentinels (REDIS_SENTINEL_MASTER). */
  readonly masterName: string
  /** Password of the Sentinels themselves; never log. */
  readonly password: string | undefined
}

/**
 * Where Redis is: one frozen description every part of the service asks for connections
 * (the pool, the probe, key-group scanners, /scrape targets). Holds secrets: never log it; use
 * `display`.
 */
export interface RedisEndpoint {
  readonly topology: Topology
  /** REDIS_URL's host and port: the node itself (standalone), a seed node (cluster); unused with Sentinel. */
  readonly node: HostPort
  readonly username: string | undefined
  readonly password: string | undefined
  readonly db: number
  /** Set when REDIS_URL is rediss://. */
  readonly tls: TlsSettings | undefined
  readonly sentinel: SentinelSettings | undefined
  /** With Sentinel or Cluster, reads may go to replicas (REDIS_READ_FROM_REPLICAS). */
  readonly readFromReplicas: boolean
  /** ioredis options of the data connections, derived from the fields above. Never log. */
  readonly options: Readonly<RedisOptions>
  /** Where it points, without credentials: safe to log and show. */
  readonly display: string
}

export const formatHostPort = ({ host, port }: HostPort) => `${isIP(host) === 6 ? `[${host}]` : host}:${port}`

/**
 * `host:port`, `[v6]:port`, or a host alone (the default port). Undefined when it does not parse:
 * callers turn that into their own one-line error.
 */
export function parseHostPort(raw: string, defaultPort = DEFAULT_REDIS_PORT): HostPort | undefined {
  const text = raw.trim()
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(text)
  const plain = /^([\w.-]+)(?::(\d{1,5}))?$/.exec(text)
  const match = v6 ?? plain
  if (!match) return undefined
  const host = match[1]!
  if (v6 && isIP(host) !== 6) return undefined
  const port = match[2] === undefined ? defaultPort : Number(match[2])
  if (port < 1 || port > 65_535) return undefined
  return { host, port }
}

/**
 * Node TLS options for a connection to `host`. The name checked on the certificate (and sent as
 * SNI) is the configured server name, else the dialled host; an IP is checked against the
 * certificate's IP SANs and sent as no SNI (RFC 6066 forbids it).
 */
export function tlsOptions(tls: TlsSettings, host?: string): TlsConnectionOptions {
  const servername = tls.serverName ?? (host !== undefined && isIP(host) === 0 ? host : undefined)
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(servername !== undefined ? { servername } : {}),
    rejectUnauthorized: !tls.insecureSkipVerify,
  }
}

/** What differs per connection: its own host for TLS, its database. */
export interface NodeOverrides {
  db?: number
}

/**
 * ioredis options for a direct connection to one node with the endpoint's credentials and TLS:
 * key-group scanners of another database, discovered nodes, the standalone pool itself.
 */
export function nodeOptions(
  endpoint: RedisEndpoint,
  node: HostPort,
  overrides: NodeOverrides = {},
): RedisOptions {
  return {
    host: node.host,
    port: node.port,
    db: overrides.db ?? endpoint.db,
    ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
    ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
    ...(endpoint.tls ? { tls: tlsOptions(endpoint.tls, node.host) } : {}),
  }
}

/**
 * ioredis options for the data connections of the endpoint. Standalone: the node. Sentinel:
 * ioredis asks the Sentinels for the master (and follows it); TLS, when REDIS_URL is rediss://,
 * covers the Sentinels and the data nodes alike, each checked under its own host unless a server
 * name is configured.
 */
export function endpointOptions(endpoint: Omit<RedisEndpoint, 'options' | 'display'>): RedisOptions {
  const auth = {
    db: endpoint.db,
    ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
    ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
  }
  if (endpoint.topology === 'sentinel' && endpoint.sentinel) {
    const { sentinel, tls } = endpoint
    return {
      ...auth,
      sentinels: sentinel.nodes.map((n) => ({ host: n.host, port: n.port })),
      name: sentinel.masterName,
      role: 'master',
      ...(sentinel.password !== undefined ? { sentinelPassword: sentinel.password } : {}),
      ...(tls ? { tls: tlsOptions(tls), sentinelTLS: tlsOptions(tls), enableTLSForSentinelMode: true } : {}),
    }
  }
  return {
    host: endpoint.node.host,
    port: endpoint.node.port,
    ...auth,
    ...(endpoint.tls ? { tls: tlsOptions(endpoint.tls, endpoint.node.host) } : {}),
  }
}

/** The endpoint without credentials, for logs, /status and the page. */
export function displayEndpoint(endpoint: Omit<RedisEndpoint, 'options' | 'display'>): string {
  const scheme = endpoint.tls ? 'rediss' : 'redis'
  if (endpoint.topology === 'sentinel' && endpoint.sentinel) {
    const nodes = endpoint.sentinel.nodes.map(formatHostPort).join(',')
    return `sentinel://${nodes}/${endpoint.sentinel.masterName} (${scheme}, db ${endpoint.db})`
  }
  const url = `${scheme}://${formatHostPort(endpoint.node)}/${endpoint.db}`
  return endpoint.topology === 'cluster' ? `cluster ${url}` : url
}

export function createEndpoint(parts: Omit<RedisEndpoint, 'options' | 'display'>): RedisEndpoint {
  return { ...parts, options: endpointOptions(parts), display: displayEndpoint(parts) }
}
