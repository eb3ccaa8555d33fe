import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Registry } from 'prom-client'
import type { Config } from '../config/config.js'
import { renderOpenMetrics } from '../metrics/openmetrics.js'

export const SCRAPE_TIMEOUT_HEADER = 'x-prometheus-scrape-timeout-seconds'

/**
 * The part of the scrape budget kept for rendering and the network: 10 %, at least 200 ms,
 * at most 1 s. A 3 s budget gives collection 2.7 s.
 */
export function collectBudgetMs(budgetSeconds: number): number {
  const budgetMs = budgetSeconds * 1000
  const margin = Math.min(1_000, Math.max(200, budgetMs * 0.1))
  return Math.max(50, Math.round(budgetMs - margin))
}

/** The header's budget when it is a positive number, else the configured default. */
export function scrapeBudgetSeconds(header: string | string[] | undefined, fallback: number): number {
  const value = Number(Array.isArray(header) ? header[0] : header)
  return Number.isFinite(value) && value > 0 ? Math.min(value, 300) : fallback
}

/**
 * What /metrics serves, most preferred first when the client ranks them equally (no Accept, or
 * a wildcard): Prometheus text. The parameters let an Accept naming `version` or `charset` match.
 */
export const METRICS_TYPES = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
} as const
type Format = keyof typeof METRICS_TYPES

/** The format @fastify/accepts picks (q-values, q=0 excluding a type, wildcards), or undefined: 406. */
export function negotiate(request: FastifyRequest): Format | undefined {
  const picked = request.accepts().type([METRICS_TYPES.text, METRICS_TYPES.openmetrics])
  if (picked === METRICS_TYPES.openmetrics) return 'openmetrics'
  return picked === METRICS_TYPES.text ? 'text' : undefined
}

// Rendered with public prom-client API only (see metrics/openmetrics.ts); /scrape imports it from here.
export { renderOpenMetrics }

/** 406 with a JSON reason: the Accept header allows neither format. */
export function notAcceptable(reply: FastifyReply) {
  return reply.code(406).send({
    statusCode: 406,
    error: 'Not Acceptable',
    message: `serves ${METRICS_TYPES.text} or ${METRICS_TYPES.openmetrics}; the Accept header allows neither`,
  })
}

export interface MetricsRoutesOptions {
  config: Config
}

/**
 * GET /metrics: always 200 while the process lives. Server-side collection gets the scrape budget
 * (X-Prometheus-Scrape-Timeout-Seconds, else SCRAPE_TIMEOUT_SECONDS) minus a margin, so a frozen
 * Redis still yields an answer in time, with redis_up 0 and redis_monitor_last_scrape_error 1.
 */
export default async function metricsRoutes(fastify: FastifyInstance, { config }: MetricsRoutesOptions) {
  fastify.get('/metrics', { preHandler: fastify.requireMetricsAuth }, async (request, reply) => {
    const format = negotiate(request)
    if (format === undefined) return notAcceptable(reply)
    const budget = scrapeBudgetSeconds(request.headers[SCRAPE_TIMEOUT_HEADER], config.scrapeTimeoutSeconds)
    const body = await scrape(format, collectBudgetMs(budget))
    return reply
      .type(format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE)
      .send(body)
  })

  // Scrapes arriving while one is collecting and rendering share its result: a flood of /metrics
  // requests then costs one rendering, not one each, and the event loop stays free for the probes.
  const inFlight = new Map<string, Promise<string>>()
  function scrape(format: 'text' | 'openmetrics', timeoutMs: number): Promise<string> {
    const key = `${format}:${timeoutMs}`
    let work = inFlight.get(key)
    if (work === undefined) {
      work = (async () => {
        await fastify.serverStats.collect({ timeoutMs })
        const registry = fastify.metricsRegistry
        return format === 'openmetrics' ? renderOpenMetrics(registry) : registry.metrics()
      })().finally(() => inFlight.delete(key))
      inFlight.set(key, work)
    }
    return work
  }
}
