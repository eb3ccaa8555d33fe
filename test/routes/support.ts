import type { FastifyInstance } from 'fastify'
import { type BuildAppOptions, buildApp } from '../../src/app.js'
import { parseConfig } from '../../src/config/config.js'
import { waitFor } from '../helpers/wait-for.js'

/** An app (never listening) on a config parsed from env literals, as the entry point would. */
export async function appFor(
  env: Record<string, string>,
  options: Omit<BuildAppOptions, 'config'> = {},
): Promise<FastifyInstance> {
  const app = await buildApp({ config: parseConfig({ PROBE_INTERVAL_MS: '200', ...env }), ...options })
  await app.ready()
  return app
}

/** Waits until the pool's first probe succeeded, so readiness reflects Redis. */
export async function whenReady(app: FastifyInstance): Promise<void> {
  await waitFor(() => app.poolMonitor.health().ready, {
    timeoutMs: 10_000,
    what: 'the first successful probe',
  })
}

/** Sample value of one series in Prometheus text, or undefined when absent. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}
