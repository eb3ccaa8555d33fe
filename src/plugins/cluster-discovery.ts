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

/** With REDIS_CLUSTER: CLUSTER NODES through the pool, in the background; stopped with the app. */
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
  fastify.decorate('clusterDiscovery', discovery)
  fastify.addHook('onClose', async () => discovery.close())
}

export default fp(clusterDiscoveryPlugin, {
  name: 'rpm-cluster-discovery',
  dependencies: ['rpm-pool-monitor'],
  fastify: '5.x',
})
