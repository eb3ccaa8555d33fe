import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import { type ClusterDiscovery, createClusterDiscovery } from '../collectors/cluster-discovery.js'
import type { Config } from '../config/config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The cluster's nodes (REDIS_CLUSTER); undefined on other topologies. */
    clusterDiscovery: ClusterDiscovery | undefined
  }
}

export interface ClusterDiscoveryPluginOptions {
  config: Config
}

/**
 * With REDIS_CLUSTER: CLUSTER NODES through the pool, in the background, feeding
 * /discover-cluster-nodes and the /scrape allow-list; stopped with the app.
 */
async function clusterDiscoveryPlugin(fastify: FastifyInstance, { config }: ClusterDiscoveryPluginOptions) {
  if (config.redis.topology !== 'cluster') {
    fastify.decorate('clusterDiscovery', undefined)
    return
  }
  const discovery = createClusterDiscovery({
    redis: fastify.poolMonitor,
    logger: fastify.log.child({ component: 'cluster-discovery' }) as Logger,
  })
  discovery.start()
  // Every node the cluster names may be scraped through /scrape without being in SCRAPE_TARGETS.
  const unregister = fastify.scrapeTargets.addDiscovered('cluster', () => discovery.addresses())
  fastify.decorate('clusterDiscovery', discovery)
  fastify.addHook('onClose', async () => {
    unregister()
    discovery.close()
  })
}

export default fp(clusterDiscoveryPlugin, {
  name: 'rpm-cluster-discovery',
  dependencies: ['rpm-pool-monitor', 'rpm-scrape-targets'],
  fastify: '5.x',
})
