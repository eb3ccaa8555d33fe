import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import { buildApp } from './app.js'
import type { Config } from './config/config.js'
import { installFdGuard } from './process/fd-guard.js'
import { defaultMaxConnections, FD_HEADROOM, isFdExhaustion, openFilesSoftLimit } from './process/fd-limit.js'
import { type HealthListener, listenForHealth } from './process/health-listener.js'

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
  // ioredis hangs the failed command on its errors: a handshake's HELLO/AUTH carries the password.
  'err.command.args',
  '*.err.command.args',
]

/** Shutdown budget: a stuck close exits 1 before an orchestrator's usual 10 s grace runs out. */
export const CLOSE_DELAY_MS = 9_000

/** pino: JSON lines on stdout by default, pino-pretty when stdout is a TTY (or LOG_FORMAT=pretty). */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>): Logger {
  const pretty =
    config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true)
  const options = {
    level: config.logLevel,
    base: { service: 'redis-pool-monitor' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  }
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } },
    })
  }
  // Written synchronously: the service logs state changes, not requests, so a line costs nothing
  // worth buffering, and pino's default asynchronous stdout flushes what is buffered at exit while
  // an earlier write may still be in flight: 'stopped' came out before 'shutting down'.
  return pino(options, pino.destination({ dest: 1, sync: true }))
}

export interface StartServerOptions {
  config: Config
  logger?: Logger
  /** Runs first on shutdown (the demo stops its workload and its redis-server here). */
  beforeClose?: () => Promise<void>
  /** Runs after the app closed. */
  afterClose?: () => Promise<void>
  /**
   * Reads the configuration again, for SIGHUP: the secret and certificate files are reread and
   * handed to the running app without a restart. Absent: SIGHUP is ignored (logged).
   */
  reloadConfig?: () => Config
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
  let fdExhaustions = 0
  let fdExhausted = false
  const fdGuard = installFdGuard({
    onExhausted: (err, where) => {
      fdExhaustions++
      if (fdExhaustions === 1 || !fdExhausted) logger.error({ err, where }, 'out of file descriptors')
      fdExhausted = true
    },
    onRecovered: () => {
      fdExhausted = false
      logger.info('file descriptors available again')
    },
  })
  let app: FastifyInstance
  try {
    app = await buildApp({ config, logger })
  } catch (err) {
    fdGuard.uninstall()
    throw err
  }

  // Each HTTP connection holds a descriptor: cap them below the open-files limit so a flood of
  // sockets is refused at accept instead of starving Redis connections and /proc reads.
  const softLimit = openFilesSoftLimit()
  const maxConnections = config.connections.max ?? defaultMaxConnections(softLimit)
  if (maxConnections > softLimit - FD_HEADROOM) {
    logger.warn(
      { maxConnections, openFilesLimit: softLimit },
      `MAX_CONNECTIONS leaves fewer than ${FD_HEADROOM} descriptors for Redis and files; raise ulimit -n or lower it`,
    )
  }
  app.server.maxConnections = maxConnections
  // After listen() Node has no error listener on the server: an accept failing with EMFILE would be
  // an uncaught exception. libuv closes the pending sockets itself; count it and carry on.
  app.server.on('error', (err) => {
    if (isFdExhaustion(err)) fdGuard.exhausted(err as NodeJS.ErrnoException, 'accept')
    else logger.error({ err }, 'HTTP server error')
  })
  let health: HealthListener | undefined

  const grace = closeWithGrace(
    {
      delay: CLOSE_DELAY_MS,
      // SIGHUP rereads the secrets (below); close-with-grace would otherwise shut down on it.
      skip: ['SIGHUP'],
      logger: {
        error: (msg: unknown) => logger.error(msg instanceof Error ? { err: msg } : { msg }, 'shutdown'),
      },
    },
    async ({ signal, err }) => {
      if (err) logger.error({ err }, 'unexpected error, shutting down')
      else logger.info({ signal }, 'shutting down: finishing in-flight requests and closing the pool')
      await options.beforeClose?.()
      await health?.close()
      await app.close()
      process.off('SIGHUP', onHangup)
      fdGuard.uninstall()
      await options.afterClose?.()
      logger.info('stopped')
    },
  )

  try {
    await app.listen({ host: config.host, port: config.port })
    if (config.connections.healthPort !== undefined) {
      health = await listenForHealth(app, { host: config.host, port: config.connections.healthPort })
    }
  } catch (err) {
    grace.uninstall()
    await health?.close()
    await app.close()
    fdGuard.uninstall()
    throw err
  }
  // SIGHUP (a rotated Kubernetes Secret, `kill -HUP`): reread REDIS_PASSWORD_FILE,
  // REDIS_SENTINEL_PASSWORD_FILE, REDIS_TARGET_PASSWORDS_FILE and REDIS_TLS_*. A file that no longer
  // parses is refused with the same one-line error as at start, and the running secrets stay.
  // Without a listener Node would die on SIGHUP.
  function onHangup() {
    if (!options.reloadConfig) {
      logger.warn('SIGHUP: this process cannot reread its configuration; ignored')
      return
    }
    let next: Config
    try {
      next = options.reloadConfig()
    } catch (err) {
      logger.error(`SIGHUP: kept the running secrets: ${(err as Error).message}`)
      return
    }
    app.secrets.reload(next).then(
      () => logger.info('SIGHUP: reread the secret and certificate files; new connections use them'),
      (err: unknown) => logger.error({ err }, 'SIGHUP: applying the reread secrets failed'),
    )
  }
  process.on('SIGHUP', onHangup)
  logger.info(
    {
      redis: config.redis.display,
      pool: config.pool.name,
      poolSize: config.pool.size,
      maxConnections,
      healthPort: config.connections.healthPort,
    },
    'redis-pool-monitor ready',
  )
  return app
}
