import type { FastifyInstance } from 'fastify'
import { historyQuery } from '../history/query.js'

export interface HistoryRouteOptions {
  /** Samples answered when the request names neither since nor limit (STATUS_HISTORY_SIZE). */
  defaultLimit: number
}

/**
 * GET /status/history?since=<ISO time or 15m/1h/7d>&limit=N: the newest N samples (all since
 * `since` when there is no limit, at most HISTORY_MAX_ITEMS), oldest first. 400 with a JSON
 * reason for a bad parameter.
 */
export default async function historyRoutes(fastify: FastifyInstance, options: HistoryRouteOptions) {
  fastify.get<{ Querystring: { since?: string; limit?: string } }>(
    '/status/history',
    async (request, reply) => {
      const query = historyQuery(request.query, Date.now(), options.defaultLimit)
      if (typeof query === 'string') {
        return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: query })
      }
      return fastify.serverStats.history(query)
    },
  )
}
