import { describe, expect, it } from 'vitest'
import { ENV_VARS, flagName } from '../../src/config/config.js'
import { runToExit } from '../helpers/service-process.js'

describe('redis-pool-monitor --help', () => {
  it('prints usage with the serve command and every flag, then exits 0', async () => {
    const result = await runToExit(['--help'])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain('Usage: redis-pool-monitor [command]')
    expect(result.stdout).toMatch(/^\s+serve\s/m)
    for (const name of ENV_VARS) {
      expect(result.stdout).toContain(`--${flagName(name)}`)
      expect(result.stdout).toContain(`[${name}]`)
    }
  })

  it('answers -h and `serve --help` the same way', async () => {
    const [short, sub] = await Promise.all([runToExit(['-h']), runToExit(['serve', '--help'])])
    expect(short.code).toBe(0)
    expect(sub.code).toBe(0)
    expect(sub.stdout).toBe(short.stdout)
  })
})
