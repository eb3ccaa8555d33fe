import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sqliteAvailable } from '../../src/history/index.js'
import { imageCommand } from '../helpers/image-command.js'
import { freePort, type RedisServer, startRedis } from '../helpers/redis-server.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'
import { KUBERNETES_DIR, readYamlDocuments, SYSTEMD_DIR } from './support.js'

// The probes and the environment of deploy/, run for real: the service started with exactly the
// variables the pod (ConfigMap + env) or the systemd unit (env file + credential) gives it,
// against a real redis-server that wants a password.

const PASSWORD = 'deploy-test-password-9f3c'
let redis: RedisServer
let dir: string
let passwordFile: string

/** The container's environment: envFrom the ConfigMap, then its own env on top. */
function podEnv(): Record<string, string> {
  const [configMap] = readYamlDocuments(join(KUBERNETES_DIR, 'configmap.yaml'))
  const [deployment] = readYamlDocuments(join(KUBERNETES_DIR, 'deployment.yaml'))
  const env: Record<string, string> = { ...configMap!.data }
  for (const e of deployment!.spec.template.spec.containers[0].env) env[e.name] = e.value
  return env
}

function systemdEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of readFileSync(join(SYSTEMD_DIR, 'redis-pool-monitor.env.example'), 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim())
    if (m) env[m[1]!] = m[2]!
  }
  return env
}

/**
 * What differs on this machine: the Redis address (the manifests name `redis:6379`), the password
 * file's path (the Secret mount or %d), a free port instead of 9122 and loopback instead of all
 * interfaces. Everything else is taken from deploy/ as written.
 */
async function localised(env: Record<string, string>): Promise<Record<string, string>> {
  const url = new URL(env['REDIS_URL']!)
  url.host = `${redis.host}:${redis.port}`
  expect(url.password).toBe('')
  // The pod's HISTORY_FILE lives on its volume; here, in the test's directory. The image runs Node 24;
  // a runtime without node:sqlite (Node 20) runs the pod's environment without it.
  const { HISTORY_FILE: historyFile, ...rest } = env
  const history: Record<string, string> =
    historyFile && sqliteAvailable() ? { HISTORY_FILE: join(dir, 'history.db') } : {}
  return {
    ...rest,
    ...history,
    REDIS_URL: url.toString(),
    REDIS_PASSWORD_FILE: passwordFile,
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
  }
}

function expectNoPassword(service: ServiceProcess) {
  expect(service.served()).not.toContain(PASSWORD)
  expect(service.stdout()).not.toContain(PASSWORD)
  expect(service.stderr()).not.toContain(PASSWORD)
}

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD })
  dir = mkdtempSync(join(tmpdir(), 'rpm-deploy-'))
  passwordFile = join(dir, 'redis-password')
  // A mounted Secret made with --from-file usually ends in a newline.
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o400 })
})

afterAll(async () => {
  await redis?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('the deploy/ environments, run for real', () => {
  it('with the systemd env file and the credential, the service answers all three probes', async () => {
    const service = await runService({
      env: await localised(systemdEnv()),
      nodeFlags: imageCommand().nodeFlags,
    })
    try {
      await waitFor(async () => (await service.get('/health/ready')).status === 200, {
        timeoutMs: 20_000,
        what: '/health/ready to answer 200',
      })
      expect((await service.get('/health/live')).status).toBe(200)
      const metrics = await service.get('/metrics')
      expect(metrics.status).toBe(200)
      expect(metrics.body).toMatch(/^redis_up 1$/m)
      expectNoPassword(service)
    } finally {
      await service.stop()
    }
  })

  it('with the pod environment, a Redis outage fails readiness but never liveness', async () => {
    const service = await runService({ env: await localised(podEnv()), nodeFlags: imageCommand().nodeFlags })
    try {
      await waitFor(async () => (await service.get('/health/ready')).status === 200, {
        timeoutMs: 20_000,
        what: '/health/ready to answer 200',
      })
      expect((await service.get('/health/live')).status).toBe(200)

      await redis.kill()
      // PROBE_INTERVAL_MS (5 s in the ConfigMap) plus COMMAND_TIMEOUT_MS bound how soon it notices.
      await waitFor(async () => (await service.get('/health/ready')).status === 503, {
        timeoutMs: 20_000,
        what: '/health/ready to answer 503 with Redis down',
      })
      for (let i = 0; i < 3; i++) {
        expect((await service.get('/health/live')).status).toBe(200)
        const metrics = await service.get('/metrics')
        expect(metrics.status).toBe(200)
        expect(metrics.body).toMatch(/^redis_up 0$/m)
      }

      await redis.restart()
      await waitFor(async () => (await service.get('/health/ready')).status === 200, {
        timeoutMs: 30_000,
        what: '/health/ready to recover once Redis is back',
      })
      expectNoPassword(service)
    } finally {
      await service.stop()
    }
  })
})
