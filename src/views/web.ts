import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
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

interface Asset {
  type: string
  body: Buffer
  cache: string
}

function loadAssets(): Map<string, Asset> {
  const require = createRequire(import.meta.url)
  const uplot = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'))
  const own = (file: string, type: string): Asset => ({
    type,
    body: readFileSync(join(PUBLIC_DIR, file)),
    cache: 'no-cache',
  })
  // uPlot's file names carry no version: let browsers keep them for a day, not forever.
  const vendor = (file: string, type: string): Asset => ({
    type,
    body: readFileSync(join(uplot, file)),
    cache: 'public, max-age=86400',
  })
  return new Map([
    ['/', own('index.html', 'text/html; charset=utf-8')],
    [`${ASSET_PREFIX}/app.js`, own('app.js', 'text/javascript; charset=utf-8')],
    [`${ASSET_PREFIX}/app.css`, own('app.css', 'text/css; charset=utf-8')],
    [
      `${ASSET_PREFIX}/vendor/uPlot.iife.min.js`,
      vendor('uPlot.iife.min.js', 'text/javascript; charset=utf-8'),
    ],
    [`${ASSET_PREFIX}/vendor/uPlot.min.css`, vendor('uPlot.min.css', 'text/css; charset=utf-8')],
  ])
}

/**
 * The built-in status page: `GET /` and its few static files under /ui, read once at
 * registration (a fixed list, so no path from a request ever reaches the file system). The page
 * polls `GET /status` and `GET /status/history`, which the service app serves.
 */
async function webViews(fastify: FastifyInstance) {
  const assets = loadAssets()
  for (const [url, asset] of assets) {
    fastify.get(url, async (_request, reply) => {
      reply.type(asset.type).header('cache-control', asset.cache).header('x-content-type-options', 'nosniff')
      if (url === '/') reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
      return asset.body
    })
  }
}

export const webViewsPlugin = fp(webViews, { name: 'rpm-web-views', fastify: '5.x' })
