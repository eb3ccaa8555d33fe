import type { FastifyInstance } from 'fastify'

/** GET /status (Redis snapshot with the pool's latency and breaker) and GET /status/history. */
export default async function statusRoutes(fastify: FastifyInstance) {
  fastify.get('/status', async () => {
    const health = fastify.poolMonitor.health()
    const latencyMs = health.lastProbe?.ok ? health.lastProbe.latencyMs : undefined
    return fastify.serverStats.status({ latencyMs, breaker: health.breaker })
  })

  fastify.get('/status/history', async () => fastify.serverStats.history())
}
