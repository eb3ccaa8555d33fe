import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ENV_VARS, parseConfig, VARIABLES } from '../../src/config/config.js'
import {
  COMMON_LABELS,
  commonLabelsOf,
  KINDS,
  KUBERNETES_DIR,
  kindKey,
  kustomizeBuild,
  type Manifest,
  matches,
  parseYamlDocuments,
  ROOT,
  readYamlDocuments,
  strictFieldErrors,
} from './support.js'

const KUSTOMIZATION = 'kustomization.yaml'
const SECRET_EXAMPLE = 'secret.example.yaml'
const UID = 10001
const SELECTOR = {
  'app.kubernetes.io/name': 'redis-pool-monitor',
  'app.kubernetes.io/instance': 'redis-pool-monitor',
}
/** Pod Security Standards, restricted profile: the volume types it allows. */
const RESTRICTED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]
/** Fields the base's kustomization uses; kustomize 4.5 (kubectl 1.24) knows each of them. */
const KUSTOMIZATION_FIELDS = {
  top: ['apiVersion', 'kind', 'transformers', 'resources', 'images'],
  images: ['name', 'newName', 'newTag', 'digest'],
}

const packageVersion = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string
const manifestFiles = readdirSync(KUBERNETES_DIR)
  .filter((f) => /\.ya?ml$/.test(f) && f !== KUSTOMIZATION && f !== COMMON_LABELS)
  .sort()

let kustomization: Manifest
let all: { name: string; manifest: Manifest }[]
let commonLabels: Record<string, string>
let labelPaths: { path: string; kind?: string; create?: boolean }[]

function one(kind: string): Manifest {
  const found = all.filter(({ name, manifest }) => manifest.kind === kind && name !== SECRET_EXAMPLE)
  expect(found, `exactly one ${kind}`).toHaveLength(1)
  return found[0]!.manifest
}

const deployment = () => one('Deployment')
const podSpec = () => deployment().spec.template.spec
const container = () => podSpec().containers[0]
/** The pod's labels once kustomize added the common ones to the template. */
const podLabels = () => ({ ...deployment().spec.template.metadata.labels, ...commonLabels })

/** The value PORT takes in the container: `env` wins over `envFrom`, which wins over the default. */
function effectiveEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const from of container().envFrom ?? []) {
    const configMap = all.find(
      ({ manifest }) => manifest.kind === 'ConfigMap' && manifest.metadata.name === from.configMapRef?.name,
    )
    expect(configMap, `ConfigMap ${from.configMapRef?.name} referenced by envFrom`).toBeDefined()
    Object.assign(env, configMap!.manifest.data)
  }
  for (const e of container().env ?? []) env[e.name] = e.value
  return env
}

/** A probe or Service port (name or number) resolved against the container's ports. */
function containerPortOf(port: string | number): number | undefined {
  const ports: { name?: string; containerPort: number }[] = container().ports ?? []
  return typeof port === 'number'
    ? ports.find((p) => p.containerPort === port)?.containerPort
    : ports.find((p) => p.name === port)?.containerPort
}

beforeAll(() => {
  kustomization = readYamlDocuments(join(KUBERNETES_DIR, KUSTOMIZATION))[0]!
  all = manifestFiles.flatMap((name) =>
    readYamlDocuments(join(KUBERNETES_DIR, name)).map((manifest) => ({ name, manifest })),
  )
  ;({ labels: commonLabels, fieldSpecs: labelPaths } = commonLabelsOf(KUBERNETES_DIR))
})

describe('deploy/kubernetes manifests', () => {
  it.each(manifestFiles)('%s parses as YAML into objects of known kinds', (file) => {
    const docs = readYamlDocuments(join(KUBERNETES_DIR, file))
    expect(docs.length).toBeGreaterThan(0)
    for (const doc of docs) expect(Object.keys(KINDS)).toContain(kindKey(doc))
  })

  it.each(manifestFiles)('%s validates with kubernetes-models', (file) => {
    for (const manifest of readYamlDocuments(join(KUBERNETES_DIR, file))) {
      const { model } = KINDS[kindKey(manifest)]!
      expect(() => new model(manifest as never).validate()).not.toThrow()
    }
  })

  it('no manifest carries a field its model does not know', () => {
    expect(strictFieldErrors(all)).toEqual([])
  })

  it('the unknown-field check rejects misspelt and mistyped fields at any depth', () => {
    const broken = structuredClone(all)
    const deploy = broken.find(({ manifest }) => manifest.kind === 'Deployment')!.manifest
    deploy.spec.template.spec.containers[0].livenessProbe.httpGet.paht = '/health/live'
    deploy.spec.template.spec.securityContext.runAsUsr = UID
    const rule = broken.find(({ manifest }) => manifest.kind === 'PrometheusRule')!.manifest
    rule.spec.groups[0].rules[0].severity = 'critical'
    const service = broken.find(({ manifest }) => manifest.kind === 'Service')!.manifest
    service.spec.ports[0].port = '9122'

    const errors = strictFieldErrors(broken)
    expect(errors).toHaveLength(4)
    expect(errors.join('\n')).toMatch(/deployment\.yaml: .*'"paht"' does not exist/)
    expect(errors.join('\n')).toMatch(/deployment\.yaml: .*'"runAsUsr"' does not exist/)
    expect(errors.join('\n')).toMatch(/prometheusrule\.yaml: .*'"severity"' does not exist/)
    expect(errors.join('\n')).toMatch(/service\.yaml: Type 'string' is not assignable to type 'number'/)
  })

  it('the Secret is only an example with a placeholder, never a real password', () => {
    const [secret] = readYamlDocuments(join(KUBERNETES_DIR, SECRET_EXAMPLE))
    expect(secret!.kind).toBe('Secret')
    expect(secret!.data).toBeUndefined()
    expect(Object.values(secret!.stringData)).toEqual([expect.stringMatching(/^REPLACE-ME/)])
  })
})

describe('deploy/kubernetes/kustomization.yaml', () => {
  it('lists every manifest except the Secret example, and every listed file exists', () => {
    const resources: string[] = kustomization.resources
    expect(new Set(resources).size).toBe(resources.length)
    for (const r of resources) expect(existsSync(join(KUBERNETES_DIR, r)), r).toBe(true)
    expect([...resources].sort()).toEqual(manifestFiles.filter((f) => f !== SECRET_EXAMPLE))
    expect(resources).not.toContain(SECRET_EXAMPLE)
  })

  it('uses only kustomization fields it is known to support', () => {
    expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1')
    expect(kustomization.kind).toBe('Kustomization')
    expect(Object.keys(kustomization).sort()).toEqual([...KUSTOMIZATION_FIELDS.top].sort())
    expect(kustomization.transformers).toEqual([COMMON_LABELS])
    for (const i of kustomization.images) {
      expect(KUSTOMIZATION_FIELDS.images).toEqual(expect.arrayContaining(Object.keys(i)))
    }
  })

  it('adds the app.kubernetes.io labels everywhere and to the pod template, never to selectors', () => {
    expect(Object.keys(commonLabels).sort()).toEqual(
      [
        'app.kubernetes.io/component',
        'app.kubernetes.io/instance',
        'app.kubernetes.io/managed-by',
        'app.kubernetes.io/name',
        'app.kubernetes.io/part-of',
        'app.kubernetes.io/version',
      ].sort(),
    )
    expect(commonLabels).toMatchObject(SELECTOR)
    expect(labelPaths).toEqual([
      { path: 'metadata/labels', create: true },
      { path: 'spec/template/metadata/labels', kind: 'Deployment', create: true },
    ])
  })

  it('pins the image tag and the version label to the package version', () => {
    const image = container().image as string
    expect(kustomization.images).toEqual([{ name: image, newTag: packageVersion }])
    expect(commonLabels['app.kubernetes.io/version']).toBe(packageVersion)
  })

  const rendered = kustomizeBuild(KUBERNETES_DIR)
  it('kustomize renders it, with the common labels on every object and the selectors untouched', () => {
    expect(rendered.stderr).toBe('')
    expect(rendered.ok).toBe(true)
    const objects = parseYamlDocuments(rendered.stdout, 'kustomize output')
    expect(objects.map(kindKey).sort()).toEqual(
      all
        .filter(({ name }) => name !== SECRET_EXAMPLE)
        .map(({ manifest }) => kindKey(manifest))
        .sort(),
    )
    for (const o of objects) expect(o.metadata.labels, `${o.kind} labels`).toMatchObject(commonLabels)
    const deploy = objects.find((o) => o.kind === 'Deployment')!
    expect(deploy.spec.template.metadata.labels).toMatchObject(commonLabels)
    expect(deploy.spec.selector.matchLabels).toEqual(SELECTOR)
    expect(objects.find((o) => o.kind === 'Service')!.spec.selector).toEqual(SELECTOR)
    expect(objects.find((o) => o.kind === 'PodDisruptionBudget')!.spec.selector.matchLabels).toEqual(SELECTOR)
    expect(deploy.spec.template.spec.containers[0].image).toBe(`redis-pool-monitor:${packageVersion}`)
    const policy = objects.find((o) => o.kind === 'NetworkPolicy')!
    expect(policy.spec.ingress[0].from[0].podSelector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'prometheus',
    })
    // The rendered objects are what the cluster receives: check them like the sources.
    expect(strictFieldErrors(objects.map((manifest) => ({ name: 'rendered', manifest })))).toEqual([])
  })

  it('the overlay example of deploy/README.md renders on top of the base', () => {
    const readme = readFileSync(join(ROOT, 'deploy', 'README.md'), 'utf8')
    const example = /```yaml\n(apiVersion: kustomize[\s\S]*?)```/.exec(readme)?.[1]
    expect(example).toBeDefined()
    const dir = mkdtempSync(join(tmpdir(), 'rpm-overlay-'))
    try {
      cpSync(KUBERNETES_DIR, join(dir, 'deploy', 'kubernetes'), { recursive: true })
      mkdirSync(join(dir, 'my-overlay'))
      writeFileSync(join(dir, 'my-overlay', KUSTOMIZATION), example!)
      const overlay = kustomizeBuild(join(dir, 'my-overlay'))
      expect(overlay.stderr).toBe('')
      expect(overlay.ok).toBe(true)
      const objects = parseYamlDocuments(overlay.stdout, 'overlay output')
      for (const o of objects) expect(o.metadata.namespace).toBe('redis-monitoring')
      const monitoring = objects.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'))
      expect(monitoring).toHaveLength(2)
      for (const o of monitoring) expect(o.metadata.labels.release).toBe('kube-prometheus-stack')
      const config = objects.find((o) => o.kind === 'ConfigMap')!
      expect(parseConfig(config.data, { readFile: () => 'x' }).redis.display).toBe(
        'redis://redis-master.cache.svc:6379/0',
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('Deployment: probes and ports', () => {
  it('listens on the container ports named metrics and health, the same numbers as PORT and HEALTH_PORT', () => {
    const ports = container().ports
    expect(ports).toEqual([
      { name: 'metrics', containerPort: 9122, protocol: 'TCP' },
      { name: 'health', containerPort: 9123, protocol: 'TCP' },
    ])
    expect(Number(effectiveEnv()['PORT'])).toBe(ports[0].containerPort)
    expect(VARIABLES.PORT.default).toBe(String(ports[0].containerPort))
    expect(Number(effectiveEnv()['HEALTH_PORT'])).toBe(ports[1].containerPort)
  })

  it('startup and liveness probes GET /health/live, readiness GETs /health/ready, on the health port', () => {
    const { startupProbe, livenessProbe, readinessProbe } = container()
    expect(startupProbe.httpGet.path).toBe('/health/live')
    expect(livenessProbe.httpGet.path).toBe('/health/live')
    expect(readinessProbe.httpGet.path).toBe('/health/ready')
    for (const probe of [startupProbe, livenessProbe, readinessProbe]) {
      expect(probe.httpGet.scheme ?? 'HTTP').toBe('HTTP')
      expect(containerPortOf(probe.httpGet.port)).toBe(Number(effectiveEnv()['HEALTH_PORT']))
    }
  })

  it('gives the process time to start and a stuck event loop about 30 s before a restart', () => {
    const { startupProbe, livenessProbe, readinessProbe } = container()
    expect(startupProbe.periodSeconds * startupProbe.failureThreshold).toBeGreaterThanOrEqual(30)
    const livenessWindow = livenessProbe.periodSeconds * livenessProbe.failureThreshold
    expect(livenessWindow).toBeGreaterThanOrEqual(30)
    expect(livenessProbe.timeoutSeconds).toBeGreaterThanOrEqual(3)
    expect(livenessProbe.initialDelaySeconds ?? 0).toBe(0) // the startup probe covers start-up
    expect(readinessProbe.timeoutSeconds).toBeGreaterThanOrEqual(3)
  })

  it('exposes the metrics port through the Service and the ServiceMonitor scrapes /metrics on it', () => {
    const service = one('Service')
    const monitor = one('ServiceMonitor')
    expect(service.spec.ports).toHaveLength(1)
    const [port] = service.spec.ports
    expect(port.name).toBe('metrics')
    expect(containerPortOf(port.targetPort)).toBe(Number(effectiveEnv()['PORT']))
    expect(service.spec.publishNotReadyAddresses).toBe(true)
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })])
  })

  it('selects its own pods from the Deployment, Service, PDB and NetworkPolicy, and the Service from the ServiceMonitor', () => {
    const labels = podLabels()
    expect(deployment().spec.selector.matchLabels).toEqual(SELECTOR)
    expect(matches(one('Service').spec.selector, labels)).toBe(true)
    expect(matches(one('PodDisruptionBudget').spec.selector.matchLabels, labels)).toBe(true)
    expect(matches(one('NetworkPolicy').spec.podSelector.matchLabels, labels)).toBe(true)
    const serviceLabels = { ...one('Service').metadata.labels, ...commonLabels }
    expect(matches(one('ServiceMonitor').spec.selector.matchLabels, serviceLabels)).toBe(true)
  })

  it('has CPU and memory requests and limits, requests below limits', () => {
    const { requests, limits } = container().resources
    for (const r of ['cpu', 'memory']) {
      expect(requests[r], `requests.${r}`).toBeDefined()
      expect(limits[r], `limits.${r}`).toBeDefined()
    }
    const mib = (q: string) => Number.parseInt(q, 10) * (q.endsWith('Gi') ? 1024 : 1)
    const millicores = (q: string) => (q.endsWith('m') ? Number.parseInt(q, 10) : Number(q) * 1000)
    expect(mib(requests.memory)).toBeLessThanOrEqual(mib(limits.memory))
    expect(millicores(requests.cpu)).toBeLessThanOrEqual(millicores(limits.cpu))
  })
})

describe('Deployment: restricted security profile', () => {
  it('runs as the numeric non-root user 10001 with seccomp RuntimeDefault at pod level', () => {
    expect(podSpec().securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: UID,
      runAsGroup: UID,
      seccompProfile: { type: 'RuntimeDefault' },
    })
    for (const hostField of ['hostNetwork', 'hostPID', 'hostIPC']) expect(podSpec()[hostField]).toBeFalsy()
  })

  it('runs its container without privileges, capabilities or a writable root filesystem', () => {
    for (const c of [...podSpec().containers, ...(podSpec().initContainers ?? [])]) {
      expect(c.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: UID,
        runAsGroup: UID,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      })
      expect(c.securityContext.privileged ?? false).toBe(false)
      expect(c.securityContext.capabilities.add).toBeUndefined()
      for (const p of c.ports ?? []) expect(p.hostPort).toBeUndefined()
    }
  })

  it('gives /tmp an emptyDir and uses only volume types the restricted profile allows', () => {
    const volumes: Manifest[] = podSpec().volumes
    for (const v of volumes) {
      const types = Object.keys(v).filter((k) => k !== 'name')
      expect(types).toHaveLength(1)
      expect(RESTRICTED_VOLUMES).toContain(types[0])
    }
    const tmp = container().volumeMounts.find((m: Manifest) => m.mountPath === '/tmp')
    expect(volumes.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined()
  })

  it('mounts no service account token', () => {
    expect(podSpec().automountServiceAccountToken).toBe(false)
    const account = one('ServiceAccount')
    expect(podSpec().serviceAccountName).toBe(account.metadata.name)
    expect(account.automountServiceAccountToken).toBe(false)
  })

  it('reads the Redis password from the Secret mounted read-only as a file, through REDIS_PASSWORD_FILE', () => {
    const file = effectiveEnv()['REDIS_PASSWORD_FILE']!
    const mount = container().volumeMounts.find((m: Manifest) => file.startsWith(`${m.mountPath}/`))
    expect(mount?.readOnly).toBe(true)
    const volume = podSpec().volumes.find((v: Manifest) => v.name === mount.name)
    const [example] = readYamlDocuments(join(KUBERNETES_DIR, SECRET_EXAMPLE))
    expect(volume.secret.secretName).toBe(example!.metadata.name)
    expect(volume.secret.optional ?? false).toBe(false)
    expect(volume.secret.items).toEqual([
      { key: 'redis-password', path: file.slice(mount.mountPath.length + 1) },
    ])
    expect(Object.keys(example!.stringData)).toEqual(['redis-password'])
    // Readable by the service's group only (fsGroup), not by every user in the container.
    expect(volume.secret.defaultMode).toBe(0o440)
    expect(podSpec().securityContext.fsGroup).toBe(UID)
  })

  it('lets Prometheus in on the metrics port only, and out only to Redis and DNS', () => {
    const policy = one('NetworkPolicy')
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress'])
    expect(policy.spec.ingress).toHaveLength(1)
    const [ingress] = policy.spec.ingress
    expect(ingress.from).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
    ])
    expect(ingress.ports).toEqual([{ port: 'metrics', protocol: 'TCP' }])
    expect(containerPortOf(ingress.ports[0].port)).toBe(9122)
    const egressPorts = policy.spec.egress.flatMap((e: Manifest) => e.ports)
    expect(egressPorts).toEqual(
      expect.arrayContaining([
        { port: 6379, protocol: 'TCP' },
        { port: 53, protocol: 'UDP' },
        { port: 53, protocol: 'TCP' },
      ]),
    )
    expect(egressPorts).toHaveLength(3)
  })

  it('rolls out by starting the new pod and waiting for it to be ready before the old one goes', () => {
    expect(deployment().spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    })
    expect(container().readinessProbe.httpGet.path).toBe('/health/ready')
  })

  it('never blocks a node drain at one replica', () => {
    expect(deployment().spec.replicas).toBe(1)
    expect(one('PodDisruptionBudget').spec).toMatchObject({
      maxUnavailable: 1,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    })
  })
})

describe('configuration in the manifests', () => {
  it('sets only variables the config schema knows', () => {
    const names = [...Object.keys(one('ConfigMap').data), ...container().env.map((e: Manifest) => e.name)]
    expect(names.length).toBeGreaterThan(0)
    expect(ENV_VARS).toEqual(expect.arrayContaining(names))
  })

  it('keeps secrets out of the ConfigMap and the plain env: no password in REDIS_URL, no token', () => {
    const env = effectiveEnv()
    for (const e of container().env) expect(e.valueFrom?.secretKeyRef, e.name).toBeUndefined()
    for (const [name, value] of Object.entries(env)) {
      if (name === 'REDIS_URL') expect(new URL(value).password).toBe('')
      else expect(VARIABLES[name as keyof typeof VARIABLES]?.secret ?? false, name).toBe(false)
    }
  })

  it('is a configuration the service accepts', () => {
    // The image runs Node 24, which has node:sqlite for HISTORY_FILE, whatever Node runs this test.
    const config = parseConfig(effectiveEnv(), {
      readFile: () => 'placeholder\n',
      sqliteAvailable: () => true,
    })
    expect(config.port).toBe(9122)
    expect(config.redis.options.password).toBe('placeholder')
  })
})
