import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** bench/results/latest.json, or BENCH_RESULTS_FILE (a run on another node keeps its own file). */
export const RESULTS_FILE =
  process.env['BENCH_RESULTS_FILE'] ||
  join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'latest.json')

/** Merges one scenario's figures into bench/results/latest.json, keeping the other scenarios' keys. */
export function mergeResults(scenario: string, figures: Record<string, unknown>): void {
  const current: Record<string, unknown> = existsSync(RESULTS_FILE)
    ? JSON.parse(readFileSync(RESULTS_FILE, 'utf8'))
    : {}
  const scenarios = (current['scenarios'] as Record<string, unknown> | undefined) ?? {}
  scenarios[scenario] = { ...figures, measured_at: new Date().toISOString() }
  const next = {
    ...current,
    ...figures,
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model,
      memory_gb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    scenarios,
  }
  writeFileSync(RESULTS_FILE, `${JSON.stringify(next, null, 2)}\n`)
}
