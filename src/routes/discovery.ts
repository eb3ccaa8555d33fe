import type { FastifyInstance } from 'fastify'
import type { ClusterDiscovery } from '../collectors/cluster-discovery.js'
import { clusterHttpSd } from '../collectors/cluster-discovery.js'
import type { Config } from '../config/config.js'
import type { NodeDiscovery } from '../plugins/node-discovery.js'
import { formatHostPort } from '../redis/endpoint.js'

export interface DiscoveryRoutesOptions {
  config: Config
  /** Present with REDIS_CLUSTER. */
  cluster: ClusterDiscovery | undefined
  /** Sentinel and standalone nodes. */
  nodes: NodeDiscovery
}

/**
 * GET /discover-cluster-nodes: Prometheus HTTP SD JSON listing every node of the cluster, read
 * fresh from CLUSTER NODES (bounded by the pool's command timeout). Behind the same auth as /metrics.
 */
export default async function discoveryRoutes(fastify: FastifyInstance, options: DiscoveryRoutesOptions) {
  const { config, cluster, nodes } = options
  const scheme = config.redis.tls !== undefined ? 'rediss://' : ''

  /**
   * GET /discover-nodes: the same HTTP SD JSON for any topology. Sentinel: the master the Sentinels
   * name, every replica and every Sentinel they know, `role` (`master`, `replica`, `sentinel`) and
   * `master_name` among the labels; a cluster: every node (as /discover-cluster-nodes); standalone:
   * the one node. Each target is meant for /scrape?target=.
   */
  fastify.get('/discover-nodes', { preHandler: fastify.requireMetricsAuth }, async (request, reply) => {
    try {
      if (cluster !== undefined) return clusterHttpSd(await cluster.read(), config.redis.tls !== undefined)
      const found = (await nodes.read()) ?? []
      const masterName = config.redis.sentinel?.masterName
      return found.map((node) => ({
        // A Sentinel speaks TLS when the data nodes do (REDIS_URL rediss://), as the pool dials them.
        targets: [`${scheme}${formatHostPort(node)}`],
        labels: { role: node.role, ...(masterName !== undefined ? { master_name: masterName } : {}) },
      }))
    } catch (err) {
      request.log.warn({ err }, 'node discovery failed for /discover-nodes')
      return reply.code(503).send({
        statusCode: 503,
        error: 'Service Unavailable',
        message: `the topology did not answer: ${(err as Error).message}`,
      })
    }
  })

  fastify.get(
    '/discover-cluster-nodes',
    { preHandler: fastify.requireMetricsAuth },
    async (request, reply) => {
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
    },
  )
}
