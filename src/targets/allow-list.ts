import { withoutPassword } from './target.js'

/**
 * A node the service found itself, and which of its own credentials the node takes: the data
 * nodes' (REDIS_URL's user and password) or the Sentinels' (REDIS_SENTINEL_PASSWORD_FILE).
 */
export interface DiscoveredNode {
  /** `host:port`, IPv6 bracketed. */
  address: string
  auth: 'redis' | 'sentinel'
}

/** Something that knows nodes the service found itself (Sentinel, Cluster); a string is a data node. */
export type DiscoveredTargets = () => Iterable<string | DiscoveredNode>

export interface AllowList {
  /** True when SCRAPE_TARGETS has a pattern or a provider currently names at least one node. */
  enabled(): boolean
  /** Whether `hostPort` (as ScrapeTarget.hostPort spells it) may be scraped. */
  allows(hostPort: string): boolean
  /** The discovered node at `hostPort`, if a provider names it now. */
  discovered(hostPort: string): DiscoveredNode | undefined
  /**
   * Allows the nodes a provider names, read at each check so they follow failovers and topology
   * changes. Returns a function that removes the provider again.
   */
  addDiscovered(name: string, provider: DiscoveredTargets): () => void
  /** Provider names, for the README's contract and tests. */
  providers(): string[]
  /** SCRAPE_TARGETS as configured. */
  readonly patterns: readonly string[]
}

/**
 * A SCRAPE_TARGETS pattern to a RegExp: `*` matches any characters, dots and colons included;
 * everything else is literal, host names compared without case.
 */
export function patternToRegExp(pattern: string): RegExp {
  const body = pattern
    .trim()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${body}$`, 'i')
}

/**
 * A SCRAPE_TARGETS pattern: `host:port` where either part may hold `*`, IPv6 bracketed. It must
 * say something about the port (a port, or a trailing `*` that covers it): a bare host would never
 * match a `host:port`, and silently allowing nothing is worse than refusing it at start.
 */
export function patternProblem(pattern: string): string | undefined {
  // Quoted without a password: a redis://user:password@host URL pasted here is a likely mistake.
  if (!/^(\[[0-9a-fA-F:.*]+\]|[\w.*-]+)(:[\d*]+)?$/.test(pattern))
    return `${JSON.stringify(withoutPassword(pattern))} is not a host:port pattern`
  if (!/:[\d*]+$/.test(pattern) && !pattern.endsWith('*'))
    return `${JSON.stringify(pattern)} has no port (write ${pattern}:6379 or ${pattern}:*)`
  return undefined
}

/**
 * The /scrape allow-list: SCRAPE_TARGETS patterns plus what the service discovered itself. Without
 * it, /scrape would make the service dial anything a caller names (an SSRF hole redis_exporter's
 * users keep asking to close).
 */
export function createAllowList(patterns: readonly string[]): AllowList {
  const compiled = patterns.map(patternToRegExp)
  const discovered = new Map<string, DiscoveredTargets>()

  function discoveredNodes(): Map<string, DiscoveredNode> {
    const nodes = new Map<string, DiscoveredNode>()
    for (const provider of discovered.values()) {
      try {
        for (const entry of provider()) {
          const node: DiscoveredNode = typeof entry === 'string' ? { address: entry, auth: 'redis' } : entry
          nodes.set(node.address.toLowerCase(), node)
        }
      } catch {
        // A provider that cannot answer allows nothing more; the patterns still hold.
      }
    }
    return nodes
  }

  return {
    patterns,
    enabled: () => compiled.length > 0 || discoveredNodes().size > 0,
    allows(hostPort) {
      if (compiled.some((re) => re.test(hostPort))) return true
      return discovered.size > 0 && discoveredNodes().has(hostPort.toLowerCase())
    },
    discovered: (hostPort) =>
      discovered.size > 0 ? discoveredNodes().get(hostPort.toLowerCase()) : undefined,
    addDiscovered(name, provider) {
      discovered.set(name, provider)
      return () => {
        if (discovered.get(name) === provider) discovered.delete(name)
      }
    },
    providers: () => [...discovered.keys()],
  }
}
