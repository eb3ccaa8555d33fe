import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { keyGroupsOnTopology } from '../collectors/cluster-key-groups.js'
import { createServerStats, type ServerStats } from '../collectors/server-stats.js'
import type { Config } from '../config/config.js'
import { keyGroupOptions } from '../config/key-groups.js'
import { closeClient, createConnection } from '../redis/connection.js'

declare module 'fastify' {
  interface FastifyInstance {
    serverStats: ServerStats
  }
}

export interface ServerStatsPluginOptions {
  config: Config
}

/** Server-side collection (INFO, keyspace, key groups) through the pool; closed with the app. */
async function serverStatsPlugin(fastify: FastifyInstance, { config }: ServerStatsPluginOptions) {
  // Key-group connections to other databases, for SIGHUP: they take new credentials on reconnect.
  const databases = new Set<Redis>()
  fastify.secrets.onReload((next) => {
    const { username, password, tls, sentinelPassword, sentinelTLS } = next.redis.options
    for (const connection of databases)
      Object.assign(connection.options, { username, password, tls, sentinelPassword, sentinelTLS })
  })
  const stats = createServerStats({
    redis: fastify.poolMonitor,
    registry: fastify.metricsRegistry,
    logger: fastify.log.child({ component: 'server-stats' }) as Logger,
    // REDIS_CLUSTER: SCAN walks the REDIS_URL node; counts are scaled to the cluster by its slot share.
    ...keyGroupsOnTopology(config.redis.topology, fastify.poolMonitor, keyGroupOptions(config)),
    // Key groups in the other databases: one more named connection each (rpm:<pool>:keygroups-dbN),
    // opened when INFO keyspace shows keys there; failures show as failed passes, logged once.
    openDatabase: (db) => {
      const connection = createConnection({
        redis: { ...fastify.secrets.current().redis.options, db },
        pool: config.pool.name,
        index: `keygroups-db${db}`,
        commandTimeoutMs: config.pool.commandTimeoutMs,
      })
      connection.on('error', () => {})
      databases.add(connection)
      connection.once('end', () => databases.delete(connection))
      return {
        redis: connection,
        // Without an offline queue, a pass sent before the connection is up fails at once.
        ready: new Promise<void>((resolve) => connection.once('ready', () => resolve())),
        close: () => closeClient(connection),
      }
    },
    thresholds: { ...config.status },
    historySize: config.status.historySize,
    historyIntervalMs: config.history.intervalMs,
    history: fastify.statusHistory,
    autoMemoryPurge: { ...config.autoMemoryPurge },
    context: () => {
      const monitor = fastify.poolMonitor
      return {
        latencyMs: monitor.health().lastProbe?.latencyMs,
        breaker: monitor.breakerState(),
        poolUtilizationPercent: monitor.stats().utilizationPercent,
        // The workload's cache layer, when one is registered in this process.
        fallbackActive: fastify.cacheLayer?.fallbackActive === true,
      }
    },
  })
  stats.start()
  fastify.decorate('serverStats', stats)
  fastify.addHook('onClose', async () => {
    await stats.close()
  })
}

export default fp(serverStatsPlugin, {
  name: 'rpm-server-stats',
  dependencies: ['rpm-registry', 'rpm-pool-monitor', 'rpm-history'],
  fastify: '5.x',
})
