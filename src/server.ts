import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import { buildApp } from './app.js'
import type { Config } from './config/config.js'

/** Log fields that may hold a secret, whatever logs them. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'redis.password',
  'options.password',
  'config.redis.options.password',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
]

/** Shutdown budget: a stuck close exits 1 before an orchestrator's usual 10 s grace runs out. */
export const CLOSE_DELAY_MS = 9_000

/** pino: JSON lines on stdout by default, pino-pretty when stdout is a TTY (or LOG_FORMAT=pretty). */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>): Logger {
  const pretty =
    config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true)
  return pino({
    level: config.logLevel,
    base: { service: 'redis-pool-monitor' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } } }
      : {}),
  })
}

export interface StartServerOptions {
  config: Config
  logger?: Logger
  /** Runs first on shutdown (the demo stops its workload and its redis-server here). */
  beforeClose?: () => Promise<void>
  /** Runs after the app closed. */
  afterClose?: () => Promise<void>
}

/**
 * The only place that listens: builds the app, installs close-with-grace (SIGINT/SIGTERM: stop
 * accepting, finish in-flight requests, close the pool, exit 0; a close stuck past
 * CLOSE_DELAY_MS exits 1) and starts listening.
 */
export async function startServer(options: StartServerOptions): Promise<FastifyInstance> {
  const { config } = options
  const logger = options.logger ?? createLogger(config)
  if (config.tls.insecureSkipVerify)
    logger.warn(
      'REDIS_TLS_INSECURE_SKIP_VERIFY is on: TLS connections to Redis accept any certificate, so anyone on the path can read and change the traffic',
    )
  const app = await buildApp({ config, logger })

  const grace = closeWithGrace(
    {
      delay: CLOSE_DELAY_MS,
      logger: {
        error: (msg: unknown) => logger.error(msg instanceof Error ? { err: msg } : { msg }, 'shutdown'),
      },
    },
    async ({ signal, err }) => {
      if (err) logger.error({ err }, 'unexpected error, shutting down')
      else logger.info({ signal }, 'shutting down: finishing in-flight requests and closing the pool')
      await options.beforeClose?.()
      await app.close()
      await options.afterClose?.()
      logger.info('stopped')
    },
  )

  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    grace.uninstall()
    await app.close()
    throw err
  }
  logger.info(
    { redis: config.redis.display, pool: config.pool.name, poolSize: config.pool.size },
    'redis-pool-monitor ready',
  )
  return app
}
