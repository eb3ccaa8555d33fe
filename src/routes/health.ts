import type { FastifyInstance } from 'fastify'
import { checkHealth } from '../health/health.js'

/** GET /health/live: the event loop answers. Never touches Redis, never under pressure's 503. */
export async function liveRoutes(fastify: FastifyInstance) {
  // A response schema lets Fastify serialize with a compiled stringifier: probes hit this often.
  fastify.get(
    '/health/live',
    { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({ status: 'ok' }),
  )
}

export interface HealthRoutesOptions {
  /** Epoch ms the service started. */
  startedAt: number
  /** Budget of the live PING behind GET /health. @default 1000 */
  checkTimeoutMs?: number
}

/** GET /health/ready (from the latest probe and the breaker) and GET /health (detailed). */
export async function healthRoutes(fastify: FastifyInstance, options: HealthRoutesOptions) {
  fastify.get('/health/ready', async (_request, reply) => {
    const health = fastify.poolMonitor.health()
    // With Sentinels: which node is master and whether they agree, in both answers.
    const sentinel = health.sentinel ? { sentinel: health.sentinel } : {}
    // PING answers for a user refused INFO: ready would be a lie, every server-side family is off.
    const reason = health.reason ?? fastify.serverStats.commandDenied.reason('info')
    if (reason === undefined) return { status: 'ready', circuit_breaker_state: health.breaker, ...sentinel }
    return reply.code(503).send({
      status: 'not_ready',
      reason,
      circuit_breaker_state: health.breaker,
      ...sentinel,
    })
  })

  fastify.get('/health', async (_request, reply) => {
    const report = await checkHealth(fastify.poolMonitor, {
      startedAt: options.startedAt,
      timeoutMs: options.checkTimeoutMs ?? 1_000,
    })
    return reply.code(report.status === 'unhealthy' ? 503 : 200).send(report)
  })
}
