import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'

/** Where the page's own files live: `public/` at the package root (src/views and dist/views alike). */
export const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'public')

/** URL prefix of the page's assets; index.html refers to them relative to `/`. */
export const ASSET_PREFIX = '/ui'

// Everything the page loads comes from this service: it works offline and behind strict egress.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const NOSNIFF = 'x-content-type-options'
/** RFC 9239: JavaScript is text/javascript (the mime table @fastify/send uses still says application/). */
const javascript = (reply: FastifyReply, path: string) => {
  if (path.endsWith('.js')) reply.header('content-type', 'text/javascript; charset=utf-8')
}

/**
 * The built-in status page: `GET /` and its few static files under /ui, through @fastify/static
 * (ETag, Last-Modified, ranges, path normalisation). Routes are made for the files present at
 * registration (`wildcard: false`) and `allowedPath` narrows them to the page's own, so no other
 * file of either folder is served. The page polls `GET /status` and `GET /status/history`, which the
 * service app serves.
 */
async function webViews(fastify: FastifyInstance) {
  const require = createRequire(import.meta.url)
  const uplot = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'))
  const index = readFileSync(join(PUBLIC_DIR, 'index.html'))
  fastify.get('/', async (_request, reply) => {
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header(NOSNIFF, 'nosniff')
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
    return index
  })
  const own = new Set(['/app.js', '/app.css'])
  await fastify.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: `${ASSET_PREFIX}/`,
    wildcard: false,
    index: false,
    allowedPath: (path) => own.has(path),
    cacheControl: false,
    setHeaders: (reply, path) => {
      javascript(reply, path)
      reply.header('cache-control', 'no-cache')
      reply.header(NOSNIFF, 'nosniff')
    },
  })
  const vendor = new Set(['/uPlot.iife.min.js', '/uPlot.min.css'])
  await fastify.register(fastifyStatic, {
    root: uplot,
    prefix: `${ASSET_PREFIX}/vendor/`,
    decorateReply: false,
    wildcard: false,
    index: false,
    allowedPath: (path) => vendor.has(path),
    cacheControl: false,
    // uPlot's file names carry no version: let browsers keep them for a day, not forever.
    setHeaders: (reply, path) => {
      javascript(reply, path)
      reply.header('cache-control', 'public, max-age=86400')
      reply.header(NOSNIFF, 'nosniff')
    },
  })
}

export const webViewsPlugin = fp(webViews, { name: 'rpm-web-views', fastify: '5.x' })
