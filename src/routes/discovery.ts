import type { FastifyInstance } from 'fastify'
import type { ClusterDiscovery } from '../collectors/cluster-discovery.js'
import { clusterHttpSd } from '../collectors/cluster-discovery.js'
import type { Config } from '../config/config.js'
import { authorized, unauthorized } from './metrics.js'

export interface DiscoveryRoutesOptions {
  config: Config
  /** Present with REDIS_CLUSTER. */
  cluster: ClusterDiscovery | undefined
}

/**
 * GET /discover-cluster-nodes: Prometheus HTTP SD JSON listing every node of the cluster, read
 * fresh from CLUSTER NODES (bounded by the pool's command timeout). Behind the same auth as /metrics.
 */
export default async function discoveryRoutes(fastify: FastifyInstance, options: DiscoveryRoutesOptions) {
  const { config, cluster } = options
  fastify.get('/discover-cluster-nodes', async (request, reply) => {
    if (!authorized(request.headers.authorization, config.metricsAuth))
      return unauthorized(reply, config.metricsAuth)
    if (cluster === undefined) {
      return reply.code(404).send({
        statusCode: 404,
        error: 'Not Found',
        message:
          'cluster node discovery needs REDIS_CLUSTER=true (REDIS_URL naming a node of a Redis Cluster)',
      })
    }
    try {
      const nodes = await cluster.read()
      return clusterHttpSd(nodes, config.redis.tls !== undefined)
    } catch (err) {
      request.log.warn({ err }, 'CLUSTER NODES failed for /discover-cluster-nodes')
      return reply.code(503).send({
        statusCode: 503,
        error: 'Service Unavailable',
        message: `the cluster did not answer CLUSTER NODES: ${(err as Error).message}`,
      })
    }
  })
}
