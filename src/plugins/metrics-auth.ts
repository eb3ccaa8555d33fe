import { createHash, timingSafeEqual } from 'node:crypto'
import fastifyBasicAuth from '@fastify/basic-auth'
import fastifyBearerAuth from '@fastify/bearer-auth'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config/config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * preHandler guarding /metrics (and any route that serves what /metrics serves): 401 with a JSON
     * reason and WWW-Authenticate unless the request carries a configured credential.
     */
    requireMetricsAuth(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>
  }
}

export interface MetricsAuthOptions {
  auth: Config['metricsAuth']
}

type Verify = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void

const digest = (s: string) => createHash('sha256').update(s).digest()
/** Constant time whatever the lengths: compare digests, not the strings. */
const sameSecret = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected))

/**
 * METRICS_BEARER_TOKEN through @fastify/bearer-auth (the whole rest of the header must equal the
 * token, compared in constant time), METRICS_BASIC_AUTH through @fastify/basic-auth (strict header
 * syntax); either works when both are set. Failures are not logged: a scraper with a stale token
 * would write one line per scrape.
 */
async function metricsAuthPlugin(fastify: FastifyInstance, { auth }: MetricsAuthOptions) {
  const schemes: Record<string, Verify> = {}
  if (auth.bearerToken !== undefined) {
    await fastify.register(fastifyBearerAuth, {
      keys: [auth.bearerToken],
      addHook: false,
      // RFC 7235: the scheme name is case-insensitive (`bearer` works as well as `Bearer`).
      specCompliance: 'rfc6749',
      verifyErrorLogLevel: '',
    })
    schemes['bearer'] = fastify.verifyBearerAuth as unknown as Verify
  }
  if (auth.basic !== undefined) {
    const { user, password } = auth.basic
    await fastify.register(fastifyBasicAuth, {
      validate: async (givenUser: string, givenPassword: string) => {
        // Both compared, always: which half was wrong must not show in the timing.
        const userOk = sameSecret(givenUser, user)
        const passwordOk = sameSecret(givenPassword, password)
        if (!userOk || !passwordOk) throw new Error('wrong user or password')
      },
    })
    schemes['basic'] = fastify.basicAuth as unknown as Verify
  }
  const challenge = [
    auth.bearerToken !== undefined ? 'Bearer realm="metrics"' : '',
    auth.basic !== undefined ? 'Basic realm="metrics"' : '',
  ]
    .filter(Boolean)
    .join(', ')

  fastify.decorate('requireMetricsAuth', async (request: FastifyRequest, reply: FastifyReply) => {
    if (challenge === '') return undefined
    const header = request.headers.authorization ?? ''
    const verify = schemes[header.slice(0, header.indexOf(' ')).toLowerCase()]
    const ok =
      verify !== undefined &&
      (await new Promise<boolean>((resolve) => verify(request, reply, (err) => resolve(err === undefined))))
    if (ok) return undefined
    return reply
      .code(401)
      .header('www-authenticate', challenge)
      .send({
        statusCode: 401,
        error: 'Unauthorized',
        message: `valid credentials are required for ${request.routeOptions.url ?? 'this route'}`,
      })
  })
}

export default fp(metricsAuthPlugin, { name: 'rpm-metrics-auth', fastify: '5.x' })
