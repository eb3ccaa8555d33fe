import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { serviceMetrics } from '../metrics/definitions.js'
import { createFastHistogram, type Observe } from '../monitor/fast-histogram.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The one registry /metrics serves; created per app, never prom-client's global one. */
    metricsRegistry: Registry
  }
}

/** The `route` label of requests that matched no route: one series, whatever URL was asked. */
export const UNMATCHED_ROUTE = 'unmatched'

export interface RegistryPluginOptions {
  /** A registry to fill instead of a new one (tests read it directly). */
  registry?: Registry
}

/**
 * The app's Registry with prom-client's default process/Node metrics and
 * http_request_duration_seconds, labelled by route template (never the raw URL).
 */
async function registryPlugin(fastify: FastifyInstance, options: RegistryPluginOptions) {
  const registry = options.registry ?? new Registry()
  collectDefaultMetrics({ register: registry })
  // The cheap histogram of the pool monitor: a bound child per (method, route, status) is a bucket
  // scan, where prom-client's observe() hashes the label object on every request. Cardinality is
  // bounded: route templates plus one `unmatched`, HTTP methods, status codes.
  const duration = createFastHistogram(serviceMetrics.httpRequestDuration, registry)
  const observers = new Map<string, Observe>()

  fastify.decorate('metricsRegistry', registry)
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE
    const key = `${request.method} ${route} ${reply.statusCode}`
    let observe = observers.get(key)
    if (observe === undefined) {
      observe = duration.child({ method: request.method, route, status_code: String(reply.statusCode) })
      observers.set(key, observe)
    }
    observe(reply.elapsedTime / 1000)
    done()
  })
  fastify.addHook('onClose', (_instance, done) => {
    registry.clear()
    done()
  })
}

export default fp(registryPlugin, { name: 'rpm-registry', fastify: '5.x' })
