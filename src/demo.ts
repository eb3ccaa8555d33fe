// `npm run demo`: a throwaway redis-server on a free port, the service with a synthetic workload
// through its pool (so every metric moves), and the URLs to open. Ctrl+C stops all of it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseConfig } from './config/config.js'
import { WORKLOAD_KEY_GROUPS } from './plugins/workload.js'
import { createLogger, startServer } from './server.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function freePort(preferred = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (preferred !== 0 && err.code === 'EADDRINUSE') resolve(freePort(0))
      else reject(err)
    })
    server.listen(preferred, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : preferred))
    })
  })
}

function ensureRedisServer(): void {
  const result = spawnSync(
    process.execPath,
    [join(root, 'scripts', 'ensure-system-tools.js'), 'redis-server', 'redis-cli'],
    {
      stdio: 'inherit',
    },
  )
  if (result.status !== 0) process.exit(1)
}

async function startRedis(port: number): Promise<{ child: ChildProcess; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-demo-redis-'))
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  )
  // Whatever way the demo ends, the throwaway server goes with it.
  const kill = () => child.kill('SIGKILL')
  process.once('exit', kill)
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`)
    const ping = spawnSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8' })
    if (ping.stdout?.trim() === 'PONG') break
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await gone
      }
      process.off('exit', kill)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

ensureRedisServer()
const redisPort = await freePort()
const redis = await startRedis(redisPort)
const port = process.env['PORT'] ? Number(process.env['PORT']) : await freePort(9122)
const config = parseConfig({
  REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  HOST: '127.0.0.1',
  PORT: String(port),
  LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
  POOL_SIZE: '4',
  PROBE_INTERVAL_MS: '1000',
  KEY_GROUPS: WORKLOAD_KEY_GROUPS.join(','),
  KEY_GROUPS_INTERVAL_MS: '5000',
  BENCH_POOL_LOAD: 'true',
})
const logger = createLogger(config)
await startServer({ config, logger, afterClose: () => redis.stop() })

const base = `http://127.0.0.1:${port}`
process.stdout.write(
  [
    '',
    `redis-pool-monitor demo: redis-server on 127.0.0.1:${redisPort}, a synthetic workload through a pool of 4`,
    `  status page    ${base}/`,
    `  metrics        ${base}/metrics`,
    `  liveness       ${base}/health/live`,
    `  readiness      ${base}/health/ready`,
    `  health         ${base}/health`,
    `  status         ${base}/status`,
    `  history        ${base}/status/history`,
    'Ctrl+C stops the service, the workload and redis-server.',
    '',
  ].join('\n'),
)
