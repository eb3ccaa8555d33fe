import { describe, expect, it } from 'vitest'
import { ENV_VARS, flagName, VARIABLES } from '../../src/config/config.js'
import { runToExit } from '../helpers/service-process.js'

describe('redis-pool-monitor --help', () => {
  it('prints usage with the serve command and every flag with its variable and default, then exits 0', async () => {
    const result = await runToExit(['--help'])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain('Usage: redis-pool-monitor [command]')
    expect(result.stdout).toMatch(/^\s+serve\s/m)
    const lines = result.stdout.split('\n')
    for (const name of ENV_VARS) {
      // One line per variable: its flag, the variable, and the default the README's table states
      // (test/config/config.test.ts holds the table to VARIABLES).
      const line = lines.find((l) => l.includes(`[${name}] `))
      expect(line, name).toMatch(new RegExp(`^  --${flagName(name)} <v> +\\[${name}\\] `))
      const fallback = VARIABLES[name].default
      if (fallback === undefined) expect(line, name).not.toContain('(default ')
      else expect(line?.endsWith(` (default ${fallback})`), `${name}: ${line}`).toBe(true)
    }
  })

  it('answers -h and `serve --help` the same way', async () => {
    const [short, sub] = await Promise.all([runToExit(['-h']), runToExit(['serve', '--help'])])
    expect(short.code).toBe(0)
    expect(sub.code).toBe(0)
    expect(sub.stdout).toBe(short.stdout)
  })
})
