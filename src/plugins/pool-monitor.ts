import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import { createPoolMonitor } from '../monitor/pool-monitor.js'
import type { PoolMonitor } from '../monitor/types.js'
import { nodeOptions } from '../redis/endpoint.js'
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
    // REDIS_CLUSTER: REDIS_URL is a seed; every node found is dialled with its credentials and TLS.
    cluster:
      config.redis.topology === 'cluster'
        ? { nodeOptions: (node) => nodeOptions(config.redis, node) }
        : false,
  })
  fastify.decorate('poolMonitor', monitor)
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
  dependencies: ['rpm-registry'],
  fastify: '5.x',
})
