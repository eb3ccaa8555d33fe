import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Registry } from 'prom-client'
import type { Config } from '../config/config.js'
import {
  collectBudgetMs,
  negotiate,
  notAcceptable,
  SCRAPE_TIMEOUT_HEADER,
  scrapeBudgetSeconds,
} from './metrics.js'

export interface ScrapeRoutesOptions {
  config: Config
}

/** One query value: a repeated parameter is a malformed request, not a choice to guess at. */
function single(value: unknown): string | undefined | null {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : null
}

/**
 * GET /scrape?target=<redis://host:port | host:port>[&check-keys=<globs>]: redis_exporter's
 * multi-target route, behind /metrics' auth and the SCRAPE_TARGETS allow-list (see src/targets/).
 * Always 200 for an allowed target, with redis_up 0 when it cannot be reached within the budget.
 */
export default async function scrapeRoutes(fastify: FastifyInstance, { config }: ScrapeRoutesOptions) {
  const options = { preHandler: fastify.requireMetricsAuth }
  fastify.get('/scrape', options, async (request: FastifyRequest, reply: FastifyReply) => {
    const format = negotiate(request)
    if (format === undefined) return notAcceptable(reply)
    const query = (request.query ?? {}) as Record<string, unknown>
    const target = single(query['target'])
    const checkKeys = single(query['check-keys'])
    if (target === null || checkKeys === null) {
      return reply.code(400).send({
        statusCode: 400,
        code: 'RPM_SCRAPE_TARGET_INVALID',
        error: 'Bad Request',
        message: 'Invalid /scrape request: give target and check-keys at most once each',
      })
    }
    const budget = scrapeBudgetSeconds(request.headers[SCRAPE_TIMEOUT_HEADER], config.scrapeTimeoutSeconds)
    const text = await fastify.scrapeTargets.scrape(
      { target, checkKeys, timeoutMs: collectBudgetMs(budget) },
      format,
    )
    return reply
      .type(format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE)
      .send(text)
  })
}
