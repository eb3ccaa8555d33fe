import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import { createServerStats, type ServerStats } from '../collectors/server-stats.js'
import type { Config } from '../config/config.js'

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
  const stats = createServerStats({
    redis: fastify.poolMonitor,
    registry: fastify.metricsRegistry,
    logger: fastify.log.child({ component: 'server-stats' }) as Logger,
    keyGroups: {
      patterns: [...config.keyGroups.patterns],
      auto: config.keyGroups.auto,
      intervalMs: config.keyGroups.intervalMs,
      maxGroups: config.keyGroups.maxGroups,
      // The pool's connections sit in the URL's database: that is the one the scan sees.
      db: config.redis.options.db ?? 0,
    },
    thresholds: { ...config.status },
    historySize: config.status.historySize,
    autoMemoryPurge: { ...config.autoMemoryPurge },
    context: () => {
      const monitor = fastify.poolMonitor
      return {
        latencyMs: monitor.health().lastProbe?.latencyMs,
        breaker: monitor.breakerState(),
        poolUtilizationPercent: monitor.stats().utilizationPercent,
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
  dependencies: ['rpm-registry', 'rpm-pool-monitor'],
  fastify: '5.x',
})
