import type { FastifyInstance, onResponseHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { serviceMetrics } from '../metrics/definitions.js'
import { createFastHistogram, type Observe } from '../monitor/fast-histogram.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The one registry /metrics serves; created per app, never prom-client's global one. */
    metricsRegistry: Registry
    /**
     * The onResponse hook that feeds http_request_duration_seconds for one route label. Routes get
     * theirs when they are added; a not-found handler's scope adds `responseTimer(UNMATCHED_ROUTE)`.
     */
    responseTimer(route: string): onResponseHookHandler
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

  // One onResponse hook per route, made when the route is added, so the template is a closure
  // value: reading request.routeOptions builds an object on every request, and a string key per
  // request would be hashed on every lookup. Children are bound per (method, status code).
  function responseTimer(route: string): onResponseHookHandler {
    const byMethod = new Map<string, Map<number, Observe>>()
    return (request, reply, done) => {
      let byStatus = byMethod.get(request.method)
      if (byStatus === undefined) {
        byStatus = new Map()
        byMethod.set(request.method, byStatus)
      }
      let observe = byStatus.get(reply.statusCode)
      if (observe === undefined) {
        observe = duration.child({ method: request.method, route, status_code: String(reply.statusCode) })
        byStatus.set(reply.statusCode, observe)
      }
      observe(reply.elapsedTime / 1000)
      done()
    }
  }

  fastify.decorate('metricsRegistry', registry)
  fastify.decorate('responseTimer', responseTimer)
  fastify.addHook('onRoute', (route) => {
    const own = route.onResponse === undefined ? [] : [route.onResponse].flat()
    route.onResponse = [...own, responseTimer(route.url)]
  })
  fastify.addHook('onClose', (_instance, done) => {
    registry.clear()
    done()
  })
}

export default fp(registryPlugin, { name: 'rpm-registry', fastify: '5.x' })
