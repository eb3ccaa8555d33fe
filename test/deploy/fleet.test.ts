import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.js'
import { createAllowList } from '../../src/targets/allow-list.js'
import { isProblem, parseTarget } from '../../src/targets/target.js'
import {
  KINDS,
  kindKey,
  kustomizeBuild,
  type Manifest,
  parseYamlDocuments,
  ROOT,
  strictFieldErrors,
} from './support.js'

const OVERLAY = join(ROOT, 'deploy', 'overlays', 'fleet')

const rendered = kustomizeBuild(OVERLAY)
const objects = rendered.ok ? parseYamlDocuments(rendered.stdout, 'fleet overlay') : []
const find = (kind: string) => objects.find((o) => o.kind === kind)!

describe('deploy/overlays/fleet: N replicas behind one Service scrape a fleet', () => {
  it('renders, and every object is valid for its kind, unknown fields included', () => {
    expect(rendered.stderr).toBe('')
    expect(rendered.ok).toBe(true)
    for (const o of objects) {
      const kind = KINDS[kindKey(o)]
      expect(kind, kindKey(o)).toBeDefined()
      expect(() => new kind!.model(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow()
    }
    expect(strictFieldErrors(objects.map((manifest) => ({ name: manifest.kind, manifest })))).toEqual([])
  })

  it('the HorizontalPodAutoscaler owns the replica count: two at least, the Deployment sets none', () => {
    const hpa = find('HorizontalPodAutoscaler')
    const deployment = find('Deployment')
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    })
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2)
    expect(deployment.spec.replicas).toBeUndefined()
  })

  it("the service's configuration parses, and its allow-list covers every Probe and ScrapeConfig target", () => {
    const container = find('Deployment').spec.template.spec.containers[0]
    const env = Object.fromEntries(
      [...container.env, ...Object.entries(find('ConfigMap').data).map(([name, value]) => ({ name, value }))]
        .filter((e: Manifest) => typeof e.value === 'string')
        .map((e: Manifest) => [e.name, e.value]),
    )
    // The image runs Node 24; HISTORY_FILE's node:sqlite check is about the Node running this test.
    delete env['HISTORY_FILE']
    const passwordsFile = env['REDIS_TARGET_PASSWORDS_FILE']
    const config = parseConfig(env, {
      readFile: (path) => (path === passwordsFile ? '{"redis://redis-a.cache.svc:6379": "x"}' : 'secret'),
    })
    const mount = container.volumeMounts.find((m: Manifest) => passwordsFile.startsWith(`${m.mountPath}/`))
    const volume = find('Deployment').spec.template.spec.volumes.find((v: Manifest) => v.name === mount.name)
    expect(volume.secret.secretName).toBe('redis-pool-monitor-targets')
    const allow = createAllowList(config.scrape.targets)
    const probeTargets: string[] = find('Probe').spec.targets.staticConfig.static
    const scrapeTargets: string[] = find('ScrapeConfig').spec.staticConfigs[0].targets
    expect(scrapeTargets).toEqual(probeTargets)
    for (const raw of probeTargets) {
      const target = parseTarget(raw)
      if (isProblem(target)) throw new Error(target.problem)
      expect(allow.allows(target.hostPort), raw).toBe(true)
    }
  })

  it('Probe and ScrapeConfig send every target to /scrape on the Service', () => {
    const service = find('Service')
    const port = service.spec.ports.find((p: Manifest) => p.name === 'metrics').port
    const probe = find('Probe')
    expect(probe.spec.prober).toMatchObject({
      path: '/scrape',
      url: `${service.metadata.name}.monitoring.svc:${port}`,
    })
    const scrape = find('ScrapeConfig')
    expect(scrape.spec.metricsPath).toBe('/scrape')
    expect(scrape.spec.relabelings).toEqual([
      { sourceLabels: ['__address__'], targetLabel: '__param_target' },
      { sourceLabels: ['__param_target'], targetLabel: 'instance' },
      { targetLabel: '__address__', replacement: probe.spec.prober.url },
    ])
  })
})
