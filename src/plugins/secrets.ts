import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config/config.js'

/** What a plugin does with freshly read secret and certificate files. */
export type SecretsReloader = (next: Config) => void | Promise<void>

export interface Secrets {
  /** The configuration as last read (at start, then at each successful SIGHUP). */
  current(): Config
  /** A plugin holding connections registers how it takes new credentials and TLS material. */
  onReload(reloader: SecretsReloader): void
  /** Hands a freshly parsed configuration's secrets to every reloader (server.ts on SIGHUP). */
  reload(next: Config): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** SIGHUP reload of REDIS_PASSWORD_FILE, REDIS_SENTINEL_PASSWORD_FILE, REDIS_TARGET_PASSWORDS_FILE, REDIS_TLS_*. */
    secrets: Secrets
  }
}

/**
 * The seam for rotated Kubernetes Secrets: server.ts rereads the files on SIGHUP (parseConfig
 * again, so a bad file is refused with the same one-line error and the running secrets stay), and
 * each plugin that holds connections applies what it needs. Only secrets and certificates change;
 * every other setting keeps its value from the start.
 */
async function secretsPlugin(fastify: FastifyInstance, { config }: { config: Config }) {
  let current = config
  const reloaders: SecretsReloader[] = []
  fastify.decorate('secrets', {
    current: () => current,
    onReload: (reloader: SecretsReloader) => {
      reloaders.push(reloader)
    },
    async reload(next: Config) {
      current = next
      for (const reloader of reloaders) await reloader(next)
    },
  })
}

export default fp(secretsPlugin, { name: 'rpm-secrets', fastify: '5.x' })
