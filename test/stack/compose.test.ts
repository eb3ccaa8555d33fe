import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, readYaml, run } from './support.js'

// Docker has no engine here: the file is checked statically, and the configuration it mounts
// into Prometheus is checked with promtool in the same layout the container sees.

interface Service {
  image?: string
  build?: { context: string; dockerfile?: string }
  volumes?: string[]
  ports?: string[]
  healthcheck?: { test: string[] }
  environment?: Record<string, string>
}
interface Compose {
  services: Record<string, Service>
  volumes: Record<string, unknown>
}

const compose = readYaml<Compose>(join(ROOT, 'docker-compose.monitoring.yml'))

/** Short-syntax volume entries split into source, target and mode. */
const mounts = (service: Service) =>
  (service.volumes ?? []).map((entry) => {
    const [source = '', target = '', mode = ''] = entry.split(':')
    const bind = source.startsWith('.') || isAbsolute(source)
    return { source, target, mode, bind, hostPath: bind ? resolve(ROOT, source) : undefined }
  })

describe('docker-compose.monitoring.yml', () => {
  const temp: string[] = []
  afterAll(() => {
    for (const dir of temp) rmSync(dir, { recursive: true, force: true })
  })

  it('runs the service, Redis, Prometheus, Alertmanager, Grafana and node-exporter', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['alertmanager', 'grafana', 'node-exporter', 'prometheus', 'redis', 'redis-pool-monitor'].sort(),
    )
  })

  it('builds the service from the repository Dockerfile', () => {
    const build = compose.services['redis-pool-monitor']?.build
    expect(build?.context).toBe('.')
    expect(existsSync(join(ROOT, build?.context ?? '', build?.dockerfile ?? 'Dockerfile'))).toBe(true)
  })

  it("publishes every port on 127.0.0.1 only, and Redis not on the host's 6379", () => {
    const published = Object.fromEntries(
      Object.entries(compose.services).map(([name, service]) => [name, service.ports ?? []]),
    )
    // The README's demo URLs (9122, 9090, 9093, 3000) and Redis on 16379; node-exporter stays inside.
    expect(published).toEqual({
      redis: ['127.0.0.1:16379:6379'],
      'redis-pool-monitor': ['127.0.0.1:9122:9122'],
      prometheus: ['127.0.0.1:9090:9090'],
      alertmanager: ['127.0.0.1:9093:9093'],
      grafana: ['127.0.0.1:3000:3000'],
      'node-exporter': [],
    })
  })

  it('pins every image to a version tag', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) continue
      expect(service.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+[\w.-]*$/)
    }
  })

  it('gives every service a healthcheck', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.healthcheck?.test.length ?? 0, name).toBeGreaterThan(0)
    }
  })

  it('mounts only files that exist, configuration read-only, data on declared named volumes', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const mount of mounts(service)) {
        if (mount.bind) {
          expect(existsSync(mount.hostPath ?? ''), `${name}: ${mount.source}`).toBe(true)
          expect(mount.mode.split(','), `${name}: ${mount.source} read-only`).toContain('ro')
        } else {
          expect(Object.keys(compose.volumes), `${name}: volume ${mount.source}`).toContain(mount.source)
        }
      }
    }
  })

  it("takes Grafana's admin password from the environment with a local-only default", () => {
    expect(compose.services.grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's interpolation syntax, not JavaScript's
      '${GRAFANA_ADMIN_PASSWORD:-admin}',
    )
  })

  it('gives Prometheus what prometheus/README says: four jobs every 15 s, the alert rules, the Alertmanager', () => {
    const config = readYaml<{
      global: { scrape_interval: string }
      rule_files: string[]
      alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> }
      scrape_configs: Array<{
        job_name: string
        scrape_interval?: string
        static_configs: Array<{ targets: string[] }>
      }>
    }>(join(ROOT, 'prometheus/prometheus.yml'))
    expect(config.global.scrape_interval).toBe('15s')
    expect(config.rule_files).toEqual(['alerts/*.yml'])
    expect(config.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets))).toEqual([
      'alertmanager:9093',
    ])
    expect(
      Object.fromEntries(
        config.scrape_configs.map((job) => [
          job.job_name,
          [job.scrape_interval ?? '15s', ...job.static_configs.flatMap((c) => c.targets)],
        ]),
      ),
    ).toEqual({
      'redis-pool-monitor': ['15s', 'redis-pool-monitor:9122'],
      'node-exporter': ['15s', 'node-exporter:9100'],
      alertmanager: ['15s', 'alertmanager:9093'],
      prometheus: ['15s', 'localhost:9090'],
    })
  })

  it('mounts a Prometheus configuration that passes promtool check config, rule files included', async () => {
    // Rebuild the container's /etc/prometheus from the mounts, so relative rule paths resolve alike.
    const root = mkdtempSync(join(tmpdir(), 'rpm-compose-'))
    temp.push(root)
    for (const mount of mounts(compose.services.prometheus ?? {})) {
      if (!mount.bind || !mount.target.startsWith('/etc/prometheus')) continue
      const destination = join(root, relative('/etc/prometheus', mount.target))
      mkdirSync(dirname(destination), { recursive: true })
      cpSync(mount.hostPath ?? '', destination, { recursive: true })
    }
    const result = await run('promtool', ['check', 'config', join(root, 'prometheus.yml')])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stdout).toMatch(/SUCCESS: \d+ rules found/)
  })
})
