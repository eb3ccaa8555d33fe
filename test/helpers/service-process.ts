import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './redis-server.js'
import { waitFor } from './wait-for.js'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** What the package `bin` and the Dockerfile's CMD run. */
export const ENTRY = join(ROOT, 'bin', 'redis-pool-monitor.js')

/** The process tests need dist/: `npm test` builds before vitest; say so when it is missing. */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) {
    throw new Error('dist/cli.js is missing: run `npm run build` before these tests (npm test does)')
  }
}

type Exit = { code: number | null; signal: NodeJS.Signals | null }

export interface ServiceProcess {
  readonly child: ChildProcess
  readonly port: number
  readonly baseUrl: string
  /** Everything the process wrote so far. */
  stdout(): string
  stderr(): string
  /** Resolves with the exit code and signal once the process ends. */
  readonly exited: Promise<Exit>
  /** fetch against the service; the response body is read and kept for secret checks. */
  get(
    path: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: string; headers: Headers }>
  /** Every response body and header served so far. */
  served(): string
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<Exit>
}

export interface RunOptions {
  /** Environment on top of a minimal one (PATH, HOME); never the test runner's whole environment. */
  env?: Record<string, string>
  args?: string[]
  /** Node flags before the entry point, e.g. the image's (see image-command.ts). */
  nodeFlags?: string[]
  /** Soft limit on open files (`ulimit -n`) for the service, set by a shell in between. */
  openFilesLimit?: number
  /** Wait until /health/live answers. @default true */
  waitForListening?: boolean
  timeoutMs?: number
}

/** What the service logs once it listens on every port (src/server.ts). */
const READY_LINE = '"msg":"redis-pool-monitor ready"'

/** The minimal environment every run starts from: never the test runner's whole environment. */
const baseEnv = () => ({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' })

/**
 * Spawns the entry point with `node`, collecting its output as it comes. With `openFilesLimit`,
 * through a shell that lowers `ulimit -n` first and then execs node (same pid, same signals).
 */
function spawnEntry(argv: string[], env: NodeJS.ProcessEnv, openFilesLimit?: number) {
  const [command, args] =
    openFilesLimit === undefined
      ? [process.execPath, argv]
      : ['/bin/sh', ['-c', `ulimit -n ${openFilesLimit} && exec "$0" "$@"`, process.execPath, ...argv]]
  const child = spawn(command, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const output = { stdout: '', stderr: '' }
  child.stdout?.on('data', (d: Buffer) => {
    output.stdout += d.toString('utf8')
  })
  child.stderr?.on('data', (d: Buffer) => {
    output.stderr += d.toString('utf8')
  })
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  )
  return { child, output, exited }
}

/** Runs the real entry point, with `node` (no npm in between, as in the image). */
export async function runService(options: RunOptions = {}): Promise<ServiceProcess> {
  assertBuilt()
  const port = Number(options.env?.['PORT'] ?? (await freePort()))
  const env = {
    ...baseEnv(),
    HOST: '127.0.0.1',
    LOG_FORMAT: 'json',
    ...options.env,
    PORT: String(port),
  }
  const { child, output, exited } = spawnEntry(
    [...(options.nodeFlags ?? []), ENTRY, ...(options.args ?? ['serve'])],
    env,
    options.openFilesLimit,
  )
  let served = ''
  const baseUrl = `http://127.0.0.1:${port}`

  const get: ServiceProcess['get'] = async (path, headers = {}) => {
    const res = await fetch(`${baseUrl}${path}`, { headers, signal: AbortSignal.timeout(20_000) })
    const body = await res.text()
    served += `${res.status} ${JSON.stringify([...res.headers])}\n${body}\n`
    return { status: res.status, body, headers: res.headers }
  }

  const service: ServiceProcess = {
    child,
    port,
    baseUrl,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    exited,
    get,
    served: () => served,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        const result = await exited
        clearTimeout(timer)
        return result
      }
      return exited
    },
  }

  if (options.waitForListening ?? true) {
    const logsInfo = ['trace', 'debug', 'info'].includes((options.env?.['LOG_LEVEL'] ?? 'info').toLowerCase())
    let gone = false
    void exited.then(() => {
      gone = true
    })
    await waitFor(
      async () => {
        if (gone) throw new Error(`service exited early: ${output.stderr.trim() || output.stdout.trim()}`)
        const res = await fetch(`${baseUrl}/health/live`).catch(() => undefined)
        // Read, so the connection goes back idle instead of holding a slot of MAX_CONNECTIONS.
        await res?.text().catch(() => undefined)
        // The start-up lines reach this process through a pipe, in no fixed order with the
        // answer: where info is logged, a start is complete once its ready line has been read.
        return res?.status === 200 && (!logsInfo || output.stdout.includes(READY_LINE))
      },
      { timeoutMs: options.timeoutMs ?? 15_000, what: 'the service to listen and log that it is ready' },
    ).catch(async (e) => {
      await service.stop(1_000)
      throw e
    })
  }
  return service
}

/** Runs the entry point to completion (bad config, --help) and returns its output and exit code. */
export async function runToExit(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<{
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}> {
  assertBuilt()
  const started = Date.now()
  const { child, output, exited } = spawnEntry([ENTRY, ...args], { ...baseEnv(), ...env })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const { code, signal } = await exited
  clearTimeout(timer)
  return { code, signal, ...output, ms: Date.now() - started }
}
