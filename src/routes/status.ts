import type { FastifyInstance } from 'fastify'

/** GET /status: the Redis snapshot with the pool's latency and breaker (history: routes/history.ts). */
export default async function statusRoutes(fastify: FastifyInstance) {
  fastify.get('/status', async () => {
    // Right after start the first collection may still be on its way: judge it, not its absence
    // (which reads as CRITICAL "did not answer"). Bounded by the background collection's budget.
    await fastify.serverStats.firstCollection()
    const health = fastify.poolMonitor.health()
    const latencyMs = health.lastProbe?.ok ? health.lastProbe.latencyMs : undefined
    return fastify.serverStats.status({ latencyMs, breaker: health.breaker, sentinel: health.sentinel })
  })
}
