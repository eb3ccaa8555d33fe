import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import { createServerSideCollection } from '../targets/collection.js'
import { createScrapeTargets, type ScrapeTargets } from '../targets/scrape-targets.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** /scrape: the allow-list (`addDiscovered` for Sentinel and Cluster nodes) and the target cache. */
    scrapeTargets: ScrapeTargets
  }
}

export interface ScrapeTargetsPluginOptions {
  config: Config
}

/** The /scrape targets: allow-list, passwords, the bounded cache; closed with the app. */
async function scrapeTargetsPlugin(fastify: FastifyInstance, { config }: ScrapeTargetsPluginOptions) {
  const targets = createScrapeTargets({
    patterns: config.scrape.targets,
    maxTargets: config.scrape.maxTargets,
    passwords: config.scrape.passwords,
    ownCredentials: () => {
      const { redis } = fastify.secrets.current()
      return {
        username: redis.username,
        password: redis.password,
        sentinelPassword: redis.sentinel?.password,
      }
    },
    tls: config.tls,
    commandTimeoutMs: config.pool.commandTimeoutMs,
    logger: fastify.log.child({ component: 'scrape' }) as Logger,
    createCollection: createServerSideCollection(),
  })
  fastify.decorate('scrapeTargets', targets)
  fastify.secrets.onReload((next) => targets.reload({ passwords: next.scrape.passwords, tls: next.tls }))
  fastify.addHook('onClose', async () => {
    await targets.close()
  })
}

export default fp(scrapeTargetsPlugin, {
  name: 'rpm-scrape-targets',
  dependencies: ['rpm-secrets'],
  fastify: '5.x',
})
