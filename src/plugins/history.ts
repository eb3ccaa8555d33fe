import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import { createHistory, type History } from '../history/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    statusHistory: History
  }
}

export interface HistoryPluginOptions {
  config: Config
}

/** The status history: HISTORY_FILE when set and usable, the in-memory ring otherwise. */
async function historyPlugin(fastify: FastifyInstance, { config }: HistoryPluginOptions) {
  const history = createHistory({
    file: config.history.file,
    retentionMs: config.history.retentionMs,
    memorySize: config.status.historySize,
    registry: fastify.metricsRegistry,
    logger: fastify.log.child({ component: 'history' }) as Logger,
  })
  fastify.decorate('statusHistory', history)
  fastify.addHook('onClose', async () => {
    await history.close()
  })
}

export default fp(historyPlugin, {
  name: 'rpm-history',
  dependencies: ['rpm-registry'],
  fastify: '5.x',
})
