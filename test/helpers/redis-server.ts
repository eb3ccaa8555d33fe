import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

// Ports this test process was handed: the kernel may hand the same free port to two asks in a
// row (seen: HEALTH_PORT and PORT both 38607), before either is listened on.
const handedOut = new Set<number>()

/** Asks the kernel for a free loopback port, never one this process was handed before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await kernelFreePort()
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}

function kernelFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

export interface RedisServerOptions {
  password?: string
  /** Extra `--name value` pairs for redis-server, e.g. ['--maxmemory', '10mb']. */
  args?: string[]
  port?: number
  /**
   * A config file given to the server before the flags (flags win over the file). With one, the
   * server keeps the file's persistence settings instead of running without persistence.
   */
  configFile?: string
  /** Runs `redis-server <configFile> --sentinel` (a Sentinel needs a writable config file). */
  sentinel?: boolean
}

export interface RedisServer {
  readonly port: number
  readonly host: string
  /** redis:// URL including the password when there is one. */
  readonly url: string
  readonly pid: number | undefined
  /** Runs redis-cli against the server and returns its stdout. */
  cli(...args: string[]): Promise<string>
  /** SIGKILL: the server dies at once, sockets reset. */
  kill(): Promise<void>
  /** SIGSTOP: the server freezes, sockets stay open and silent. */
  pause(): void
  /** SIGCONT after pause(). */
  resume(): void
  /** True while the process runs (paused counts as running). */
  readonly running: boolean
  /** Starts the server again on the same port after kill(); `args` replaces the extra flags. */
  restart(args?: string[]): Promise<void>
  /** Kills the server and removes its directory. */
  stop(): Promise<void>
}

/**
 * Starts a real redis-server on a free loopback port, without persistence,
 * in a throwaway directory. One per test file.
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort())
  const host = '127.0.0.1'
  const dir = mkdtempSync(join(tmpdir(), 'rpm-redis-'))
  let child: ChildProcess | undefined

  if (options.sentinel && !options.configFile) throw new Error('a Sentinel needs a configFile')
  const persistence = options.configFile ? [] : ['--save', '', '--appendonly', 'no']
  let extraArgs = options.args ?? []
  const argv = () => [
    ...(options.configFile ? [options.configFile] : []),
    ...(options.sentinel ? ['--sentinel'] : []),
    '--port',
    String(port),
    '--bind',
    host,
    ...persistence,
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    ...(options.password ? ['--requirepass', options.password] : []),
    ...extraArgs,
  ]

  const cli = async (...args: string[]) => {
    const auth = options.password ? ['--no-auth-warning', '-a', options.password] : []
    const { stdout } = await execFileAsync('redis-cli', ['-h', host, '-p', String(port), ...auth, ...args], {
      timeout: 10_000,
      maxBuffer: 64 * 1024 * 1024,
    })
    return stdout
  }

  const launch = async () => {
    child = spawn('redis-server', argv(), { stdio: ['ignore', 'ignore', 'pipe'] })
    const started = child
    const exited = new Promise<never>((_, reject) =>
      started.once('exit', (code) => reject(new Error(`redis-server exited early with code ${code}`))),
    )
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        const out = await Promise.race([cli('PING'), exited])
        if (out.trim() === 'PONG') return
      } catch (err) {
        if (started.exitCode !== null || Date.now() > deadline) throw err
      }
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  const kill = async () => {
    const current = child
    if (!current || current.exitCode !== null || current.signalCode !== null) return
    const gone = new Promise((r) => current.once('exit', r))
    current.kill('SIGCONT')
    current.kill('SIGKILL')
    await gone
  }

  await launch()

  return {
    port,
    host,
    url: options.password
      ? `redis://:${encodeURIComponent(options.password)}@${host}:${port}`
      : `redis://${host}:${port}`,
    get pid() {
      return child?.pid
    },
    cli,
    kill,
    pause: () => {
      child?.kill('SIGSTOP')
    },
    resume: () => {
      child?.kill('SIGCONT')
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null
    },
    restart: async (args?: string[]) => {
      await kill()
      if (args) extraArgs = args
      await launch()
    },
    stop: async () => {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
