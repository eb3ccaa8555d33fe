import { createHash, timingSafeEqual } from 'node:crypto'
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

type Format = 'openmetrics' | 'text' | 'unacceptable'
export function negotiate(accept: string | undefined): Format {
  if (accept === undefined || accept.trim() === '') return 'text'
  const types = accept
    .split(',')
    .map((part) => part.split(';')[0]?.trim().toLowerCase())
    .filter(Boolean)
  if (types.includes('application/openmetrics-text')) return 'openmetrics'
  if (types.some((t) => t === 'text/plain' || t === 'text/*' || t === '*/*')) return 'text'
  return 'unacceptable'
}

const digest = (s: string) => createHash('sha256').update(s).digest()
/** Constant time whatever the lengths: compare digests, not the strings. */
const sameSecret = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected))

export function authorized(header: string | undefined, auth: Config['metricsAuth']): boolean {
  if (auth.bearerToken === undefined && auth.basic === undefined) return true
  if (header === undefined) return false
  const [scheme = '', credentials = ''] = header.trim().split(/\s+/, 2)
  if (auth.bearerToken !== undefined && scheme.toLowerCase() === 'bearer') {
    return sameSecret(credentials, auth.bearerToken)
  }
  if (auth.basic !== undefined && scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8')
    return sameSecret(decoded, `${auth.basic.user}:${auth.basic.password}`)
  }
  return false
}

// Rendered with public prom-client API only (see metrics/openmetrics.ts); /scrape imports it from here.
export { renderOpenMetrics }

export function unauthorized(reply: FastifyReply, auth: Config['metricsAuth']) {
  const schemes = [
    auth.bearerToken !== undefined ? 'Bearer realm="metrics"' : '',
    auth.basic ? 'Basic realm="metrics"' : '',
  ]
  return reply
    .code(401)
    .header('www-authenticate', schemes.filter(Boolean).join(', '))
    .send({ statusCode: 401, error: 'Unauthorized', message: 'valid credentials are required for /metrics' })
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
  fastify.get('/metrics', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!authorized(request.headers.authorization, config.metricsAuth))
      return unauthorized(reply, config.metricsAuth)
    const format = negotiate(request.headers.accept)
    if (format === 'unacceptable') {
      return reply.code(406).send({
        statusCode: 406,
        error: 'Not Acceptable',
        message: 'serves text/plain; version=0.0.4 or application/openmetrics-text',
      })
    }
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
