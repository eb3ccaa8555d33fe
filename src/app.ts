import { getHeapStatistics } from 'node:v8'
import fastifyAccepts from '@fastify/accepts'
import underPressure from '@fastify/under-pressure'
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify'
import fp from 'fastify-plugin'
import pino, { type Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config } from './config/config.js'
import clusterDiscoveryPlugin from './plugins/cluster-discovery.js'
import historyPlugin from './plugins/history.js'
import metricsAuthPlugin from './plugins/metrics-auth.js'
import nodeDiscoveryPlugin from './plugins/node-discovery.js'
import poolMonitorPlugin from './plugins/pool-monitor.js'
import registryPlugin, { UNMATCHED_ROUTE } from './plugins/registry.js'
import scrapeTargetsPlugin from './plugins/scrape-targets.js'
import secretsPlugin from './plugins/secrets.js'
import serverStatsPlugin from './plugins/server-stats.js'
import workloadPlugin, { type WorkloadOptions } from './plugins/workload.js'
import { HTTP_SERVER_OPTIONS, REQUEST_TIMEOUT_MS } from './process/request-timeout.js'
import discoveryRoutes from './routes/discovery.js'
import { healthRoutes, liveRoutes } from './routes/health.js'
import historyRoutes from './routes/history.js'
import metricsRoutes from './routes/metrics.js'
import scrapeRoutes from './routes/scrape.js'
import statusRoutes from './routes/status.js'
import { webViewsPlugin } from './views/web.js'

export interface ServiceAppOptions {
  config: Config
  /** Registry to fill instead of a new one per app. */
  registry?: Registry
  /** Under-pressure sampling period; tests shorten it. @default 1000 */
  pressureSampleIntervalMs?: number
  /** Epoch ms the service started, for uptime_seconds. @default Date.now() at registration */
  startedAt?: number
  /** Synthetic load through the pool (demo, benchmarks). @default config.workload */
  workload?: boolean | WorkloadOptions
}

/**
 * The service as a plugin: resources (registry, pool monitor, server stats), then the routes.
 * /health/live and /metrics sit outside @fastify/under-pressure's scope so event-loop or heap
 * pressure never fails a liveness probe (a restart storm) or blanks a scrape; the other routes
 * answer 503 under pressure.
 */
async function serviceApp(fastify: FastifyInstance, options: ServiceAppOptions) {
  const { config } = options
  await fastify.register(secretsPlugin, { config })
  await fastify.register(registryPlugin, options.registry ? { registry: options.registry } : {})
  await fastify.register(poolMonitorPlugin, { config })
  await fastify.register(historyPlugin, { config })
  await fastify.register(serverStatsPlugin, { config })
  await fastify.register(scrapeTargetsPlugin, { config })
  await fastify.register(clusterDiscoveryPlugin, { config })
  await fastify.register(nodeDiscoveryPlugin, { config })
  const workload = options.workload ?? config.workload
  if (workload) await fastify.register(workloadPlugin, workload === true ? {} : workload)

  // Keep-alive sockets would hold close() open until the client drops them (Node closes idle ones
  // only once, when close starts): keep closing them as in-flight requests finish.
  let idleSweep: NodeJS.Timeout | undefined
  fastify.addHook('preClose', (done) => {
    idleSweep = setInterval(() => fastify.server.closeIdleConnections(), 50)
    idleSweep.unref()
    done()
  })
  fastify.addHook('onClose', (_instance, done) => {
    clearInterval(idleSweep)
    done()
  })

  // Unmatched requests have no route to carry a timer: the not-found handler's scope times them.
  await fastify.register(async function notFound(scope) {
    scope.addHook('onResponse', fastify.responseTimer(UNMATCHED_ROUTE))
    scope.setNotFoundHandler((request, reply) => {
      reply.code(404).send({
        statusCode: 404,
        error: 'Not Found',
        message: `no route for ${request.method} here; routes: /, /metrics, /scrape, /health/live, /health/ready, /health, /status, /status/history`,
      })
    })
  })
  fastify.setErrorHandler((err: FastifyError, request, reply) => {
    const statusCode = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500
    if (statusCode >= 500) request.log.error({ err, reqId: request.id }, 'request failed')
    // 5xx details stay in the log; 4xx messages describe the caller's own input.
    reply.code(statusCode).send({
      statusCode,
      code: err.code,
      error: statusCode >= 500 ? 'Internal Server Error' : err.name,
      message: statusCode >= 500 ? 'internal error; see the service log' : err.message,
    })
  })

  await fastify.register(liveRoutes)
  await fastify.register(fastifyAccepts)
  await fastify.register(metricsAuthPlugin, { auth: config.metricsAuth })
  await fastify.register(metricsRoutes, { config })
  await fastify.register(discoveryRoutes, {
    config,
    cluster: fastify.clusterDiscovery,
    nodes: fastify.nodeDiscovery,
  })
  // A scrape like /metrics: outside under-pressure's scope for the same reason.
  await fastify.register(scrapeRoutes, { config })

  await fastify.register(async function pressured(scope) {
    const heapLimit = getHeapStatistics().heap_size_limit
    await scope.register(underPressure, {
      maxEventLoopDelay: config.pressure.maxEventLoopDelayMs,
      maxHeapUsedBytes: Math.round((heapLimit * config.pressure.maxHeapUsedPercent) / 100),
      sampleInterval: options.pressureSampleIntervalMs ?? 1_000,
      retryAfter: 10,
    })
    await scope.register(healthRoutes, { startedAt: options.startedAt ?? Date.now() })
    await scope.register(statusRoutes)
    await scope.register(historyRoutes, { defaultLimit: config.status.historySize })
    await scope.register(webViewsPlugin)
  })
}

export const app = fp(serviceApp, { name: 'redis-pool-monitor', fastify: '5.x' })

export interface BuildAppOptions extends ServiceAppOptions {
  /** pino logger; silent when absent (tests). */
  logger?: Logger
}

/** A Fastify instance with the service registered. It never listens: server.ts does, tests inject. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { logger, ...appOptions } = options
  const fastify = Fastify({
    loggerInstance: logger ?? pino({ level: 'silent' }),
    // An exporter is scraped and probed every few seconds: one log line per request is noise.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: pino runs its redaction over every child's bindings, a cost on
    // each probe and scrape for lines that almost never come (request logging is off). The error
    // handler names the request id itself.
    childLoggerFactory: (logger) => logger,
    return503OnClosing: true,
    // Fastify sets requestTimeout on the server itself after creating it with `http`.
    http: HTTP_SERVER_OPTIONS,
    requestTimeout: REQUEST_TIMEOUT_MS,
  })
  try {
    await fastify.register(app, appOptions)
  } catch (err) {
    // Plugins registered before the failing one hold Redis connections and timers: release them,
    // or the process would neither serve nor exit.
    await fastify.close().catch(() => {})
    throw err
  }
  return fastify as unknown as FastifyInstance
}
