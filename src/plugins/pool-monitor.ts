import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import { createPoolMonitor } from '../monitor/pool-monitor.js'
import type { PoolMonitor } from '../monitor/types.js'
import { clusterPoolOption } from '../redis/cluster-topology.js'
import { withTimeout } from '../timeout.js'

declare module 'fastify' {
  interface FastifyInstance {
    poolMonitor: PoolMonitor
  }
}

export interface PoolMonitorPluginOptions {
  config: Config
}

/** A frozen Redis makes QUIT wait for its timeout; shutdown must not wait longer than this. */
export const POOL_CLOSE_BUDGET_MS = 3_000

/** The pool of connections to the monitored Redis; closed (QUIT) when the app closes. */
async function poolMonitorPlugin(fastify: FastifyInstance, { config }: PoolMonitorPluginOptions) {
  const monitor = createPoolMonitor({
    redis: { ...config.redis.options },
    name: config.pool.name,
    size: config.pool.size,
    registry: fastify.metricsRegistry,
    logger: fastify.log.child({ component: 'pool-monitor' }) as Logger,
    probeIntervalMs: config.pool.probeIntervalMs,
    commandTimeoutMs: config.pool.commandTimeoutMs,
    // Nodes found after a SIGHUP are dialled with the reread credentials.
    cluster: clusterPoolOption(config.redis, () => fastify.secrets.current().redis),
    // REDIS_READ_FROM_REPLICAS with Sentinels: reads go to the replicas they see healthy.
    sentinel: { readFromReplicas: config.redis.topology === 'sentinel' && config.redis.readFromReplicas },
  })
  fastify.decorate('poolMonitor', monitor)
  fastify.secrets.onReload((next) => {
    const { username, password, tls, sentinelPassword, sentinelTLS } = next.redis.options
    monitor.updateCredentials({ username, password, tls, sentinelPassword, sentinelTLS })
  })
  fastify.addHook('onClose', async () => {
    const gaveUp = await withTimeout(
      monitor.close().then(() => false),
      POOL_CLOSE_BUDGET_MS,
      () => true,
    )
    if (gaveUp)
      fastify.log.warn(
        `the pool did not close within ${POOL_CLOSE_BUDGET_MS} ms; leaving its sockets to the exit`,
      )
  })
}

export default fp(poolMonitorPlugin, {
  name: 'rpm-pool-monitor',
  dependencies: ['rpm-registry', 'rpm-secrets'],
  fastify: '5.x',
})
