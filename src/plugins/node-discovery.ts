import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config/config.js'
import type { TopologyNode } from '../monitor/types.js'
import { formatHostPort } from '../redis/endpoint.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The nodes behind the pool (Sentinel: master, replicas, Sentinels; standalone: the node). */
    nodeDiscovery: NodeDiscovery
  }
}

export interface NodeDiscovery {
  /** Asks now (Sentinels or the one node); undefined on a cluster. */
  read(): Promise<TopologyNode[]> | undefined
  /** The latest list read, for the /scrape allow-list (which cannot wait for I/O). */
  latest(): readonly TopologyNode[]
}

export interface NodeDiscoveryPluginOptions {
  config: Config
}

/**
 * Keeps the list of discovered nodes current (every probe interval) and, with Sentinels, lets
 * /scrape reach each of them without SCRAPE_TARGETS: the allow-list reads the list at each
 * request, so it follows failovers and new replicas.
 */
async function nodeDiscoveryPlugin(fastify: FastifyInstance, { config }: NodeDiscoveryPluginOptions) {
  const monitor = fastify.poolMonitor
  let latest: readonly TopologyNode[] = []
  let failing = false
  const log = fastify.log.child({ component: 'node-discovery' })

  const read = () => {
    const pending = monitor.discoverNodes()
    if (pending === undefined) return undefined
    return pending.then(
      (nodes) => {
        latest = nodes
        if (failing) log.info('node discovery answers again')
        failing = false
        return nodes
      },
      (err: unknown) => {
        if (!failing) log.warn({ err }, 'node discovery failed; keeping the last list')
        failing = true
        throw err
      },
    )
  }

  fastify.decorate('nodeDiscovery', { read, latest: () => latest })
  if (config.redis.topology !== 'sentinel') return

  const unregister = fastify.scrapeTargets.addDiscovered('sentinel', () =>
    latest.map((n) => ({ address: formatHostPort(n), auth: n.role === 'sentinel' ? 'sentinel' : 'redis' })),
  )
  const refresh = () => void read()?.catch(() => undefined)
  const timer = setInterval(refresh, config.pool.probeIntervalMs || 5_000)
  timer.unref()
  refresh()
  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    unregister()
  })
}

export default fp(nodeDiscoveryPlugin, {
  name: 'rpm-node-discovery',
  dependencies: ['rpm-pool-monitor', 'rpm-scrape-targets'],
  fastify: '5.x',
})
