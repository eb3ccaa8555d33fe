import { spawn } from 'node:child_process'
import { assertBuilt, ENTRY, ROOT } from '../helpers/service-process.js'

/** A minimal environment: never the test runner's own (it could hold a REDIS_URL). */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    ...extra,
  }
}

export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  elapsedMs: number
}

/** Runs `redis-pool-monitor <args>` to its end (SIGKILL after `killAfterMs`, so a hang fails instead of stalling). */
export function runView(
  args: string[],
  env: Record<string, string> = {},
  killAfterMs = 20_000,
): Promise<Finished> {
  assertBuilt()
  const startedAt = Date.now()
  const child = spawn(process.execPath, [ENTRY, ...args], {
    cwd: ROOT,
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => {
      clearTimeout(killer)
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - startedAt })
    })
  })
}
