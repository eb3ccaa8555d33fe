import { createServer, type Server } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { HTTP_SERVER_OPTIONS } from './request-timeout.js'

/** Probes are few (kubelet, a load balancer): a small cap keeps this listener's descriptors bounded. */
export const HEALTH_LISTENER_MAX_CONNECTIONS = 64

const isHealthPath = (url: string | undefined) => url === '/health' || /^\/health[/?]/.test(url ?? '')

export interface HealthListener {
  readonly server: Server
  close(): Promise<void>
}

/**
 * A second listener for /health/* only (HEALTH_PORT): a flood on the main port fills that port's
 * MAX_CONNECTIONS, never these. Requests go through the same Fastify routes (hooks, under-pressure,
 * metrics); anything else is 404 here.
 */
export async function listenForHealth(
  app: FastifyInstance,
  { host, port }: { host: string; port: number },
): Promise<HealthListener> {
  const server = createServer(HTTP_SERVER_OPTIONS, (req, res) => {
    if (isHealthPath(req.url)) {
      app.routing(req, res)
      return
    }
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' })
    res.end(
      JSON.stringify({
        statusCode: 404,
        error: 'Not Found',
        message: 'this listener (HEALTH_PORT) serves /health, /health/live and /health/ready only',
      }),
    )
  })
  server.maxConnections = HEALTH_LISTENER_MAX_CONNECTIONS
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      }),
  }
}
