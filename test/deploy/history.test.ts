import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PersistentVolumeClaim } from 'kubernetes-models/v1'
import { describe, expect, it } from 'vitest'
import {
  KUBERNETES_DIR,
  kustomizeBuild,
  type Manifest,
  parseYamlDocuments,
  ROOT,
  readYamlDocuments,
  SYSTEMD_DIR,
} from './support.js'

const OVERLAY = join(ROOT, 'deploy', 'overlays', 'history-pvc')
const STATE_DIR = '/var/lib/redis-pool-monitor'

const deployment = readYamlDocuments(join(KUBERNETES_DIR, 'deployment.yaml'))[0]!
const container = deployment.spec.template.spec.containers[0]
const historyFile = container.env.find((e: Manifest) => e.name === 'HISTORY_FILE')?.value as string

describe('where the history file lives', () => {
  it('Kubernetes: HISTORY_FILE sits on the history volume, an emptyDir of 64Mi by default, beside a read-only root', () => {
    expect(historyFile).toBe(`${STATE_DIR}/history.db`)
    const mount = container.volumeMounts.find((m: Manifest) => historyFile.startsWith(`${m.mountPath}/`))
    expect(mount).toEqual({ name: 'history', mountPath: STATE_DIR })
    const volume = deployment.spec.template.spec.volumes.find((v: Manifest) => v.name === 'history')
    expect(volume.emptyDir).toEqual({ sizeLimit: '64Mi' })
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true)
  })

  const rendered = kustomizeBuild(OVERLAY)
  it('the history-pvc overlay swaps the emptyDir for a valid 256Mi claim and rolls out by Recreate', () => {
    expect(rendered.stderr).toBe('')
    expect(rendered.ok).toBe(true)
    const objects = parseYamlDocuments(rendered.stdout, 'history-pvc overlay')
    const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim')!
    expect(() => new PersistentVolumeClaim(claim as never).validate()).not.toThrow()
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce'])
    expect(claim.spec.resources.requests).toEqual({ storage: '256Mi' })
    const pod = objects.find((o) => o.kind === 'Deployment')!
    expect(pod.spec.strategy).toEqual({ type: 'Recreate' })
    expect(pod.spec.replicas).toBe(1)
    const volume = pod.spec.template.spec.volumes.find((v: Manifest) => v.name === 'history')
    expect(volume).toEqual({ name: 'history', persistentVolumeClaim: { claimName: claim.metadata.name } })
    expect(pod.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(true)
  })

  it('systemd: the unit has a StateDirectory= and the example HISTORY_FILE lives in it', () => {
    const unit = readFileSync(join(SYSTEMD_DIR, 'redis-pool-monitor.service'), 'utf8')
    expect(unit).toMatch(/^StateDirectory=redis-pool-monitor$/m)
    expect(unit).toMatch(/^ProtectSystem=strict$/m)
    const env = readFileSync(join(SYSTEMD_DIR, 'redis-pool-monitor.env.example'), 'utf8')
    expect(env).toMatch(new RegExp(`^#HISTORY_FILE=${STATE_DIR}/history\\.db$`, 'm'))
  })
})
