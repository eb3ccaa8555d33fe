import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

describe('close()', () => {
  it('leaves nothing running: a script that only used the monitor exits on its own', async () => {
    const script = fileURLToPath(new URL('./fixtures/use-and-close.ts', import.meta.url))
    const child = fork(script, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, REDIS_PORT: String(redis.port) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d) => (stdout += d))
    child.stderr?.on('data', (d) => (stderr += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    )
    clearTimeout(killer)
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' })
    expect(stdout.trim()).toBe('ok')
  })
})
