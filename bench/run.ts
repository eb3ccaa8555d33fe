// Runs every benchmark scenario in bench/scenarios/ one after another (never in parallel, so they
// do not steal each other's cores) and leaves the merged figures in bench/results/latest.json.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RESULTS_FILE } from './lib/results.js'

const here = dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const scenarios = readdirSync(join(here, 'scenarios'))
  .filter((f) => f.endsWith('.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()

let failed = 0
for (const file of scenarios) {
  process.stdout.write(`\n== ${file}\n`)
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'scenarios', file)], {
    stdio: 'inherit',
    timeout: 15 * 60_000,
  })
  if (result.status !== 0) {
    failed++
    process.stdout.write(`!! ${file} failed (status ${result.status}, signal ${result.signal})\n`)
  }
}
process.stdout.write(`\nresults: ${RESULTS_FILE}\n`)
process.exit(failed > 0 ? 1 : 0)
