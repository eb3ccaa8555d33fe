import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.js'
import {
  directives,
  hostInstalledConf,
  memoryCeilingMiB,
  redisBytes,
  runInitScript,
  sentinelSettings,
  setting,
} from './redis-conf.js'
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
  REDIS_DEPLOY_DIR,
  readYamlDocuments,
  strictFieldErrors,
} from './support.js'

// deploy/redis/kubernetes (the Kustomize base), ../example (the base plus the Secret) and ../monitor
// (deploy/kubernetes pointed at these Sentinels), checked offline the way deploy/kubernetes is:
// kubernetes-models, the strict field check, and what kustomize renders from them.

const BASE = join(REDIS_DEPLOY_DIR, 'kubernetes')
const EXAMPLE = join(REDIS_DEPLOY_DIR, 'example')
const MONITOR = join(REDIS_DEPLOY_DIR, 'monitor')
const REDIS_CONF = readFileSync(join(REDIS_DEPLOY_DIR, 'redis.conf'), 'utf8')
const SENTINEL_CONF = readFileSync(join(REDIS_DEPLOY_DIR, 'sentinel.conf'), 'utf8')
const INIT = join(BASE, 'init.sh')
const PROBE = join(BASE, 'probe.sh')
const UID = 999
const SECRET = 'redis-auth'
const RESTRICTED_VOLUMES = ['configMap', 'emptyDir', 'persistentVolumeClaim', 'projected', 'secret']

const kustomization = readYamlDocuments(join(BASE, 'kustomization.yaml'))[0]!
const manifestFiles = readdirSync(BASE)
  .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml' && f !== COMMON_LABELS)
  .sort()
const sources = manifestFiles.flatMap((name) =>
  readYamlDocuments(join(BASE, name)).map((manifest) => ({ name, manifest })),
)
const { labels: commonLabels, fieldSpecs: labelPaths } = commonLabelsOf(BASE)

function named(kind: string, name: string): Manifest {
  const found = sources.filter((s) => s.manifest.kind === kind && s.manifest.metadata.name === name)
  expect(found, `${kind} ${name}`).toHaveLength(1)
  return found[0]!.manifest
}
const redis = () => named('StatefulSet', 'redis')
const sentinel = () => named('StatefulSet', 'redis-sentinel')
const statefulSets = () => [redis(), sentinel()]
const podSpecs = () => statefulSets().map((s) => s.spec.template.spec)
const allContainers = (): Manifest[] =>
  podSpecs().flatMap((p) => [...p.containers, ...(p.initContainers ?? [])])
const podLabels = (s: Manifest) => ({ ...s.spec.template.metadata.labels, ...commonLabels })
const redisPort = Number(setting(REDIS_CONF, 'port'))
const sentinelPort = Number(setting(SENTINEL_CONF, 'port'))
const [masterName, , , quorum] = sentinelSettings(SENTINEL_CONF)['monitor']!.split(' ')

const rendered = kustomizeBuild(BASE)
const renderedExample = kustomizeBuild(EXAMPLE)
const renderedMonitor = kustomizeBuild(MONITOR)
const renderedObjects = (build: typeof rendered, name: string) =>
  parseYamlDocuments(build.stdout, name).map((manifest) => ({ name, manifest }))

const work = mkdtempSync(join(tmpdir(), 'rpm-redis-k8s-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('deploy/redis/kubernetes sources', () => {
  it.each(manifestFiles)('%s validates with kubernetes-models', (file) => {
    for (const { manifest } of sources.filter((s) => s.name === file)) {
      const kind = KINDS[kindKey(manifest)]
      expect(kind, kindKey(manifest)).toBeDefined()
      expect(() => new kind!.model(manifest as never).validate()).not.toThrow()
    }
  })

  // One type-check for all: each costs seconds of TypeScript compiler time.
  it('has no unknown or mistyped field anywhere: the sources and everything rendered', () => {
    expect(
      strictFieldErrors([
        ...sources,
        ...renderedObjects(rendered, 'rendered base'),
        ...renderedObjects(renderedExample, 'rendered example'),
        ...renderedObjects(renderedMonitor, 'rendered monitor overlay'),
      ]),
    ).toEqual([])
  })

  it('lists every manifest, and generates its ConfigMaps from redis.conf, sentinel.conf and the scripts', () => {
    expect([...kustomization.resources].sort()).toEqual(manifestFiles)
    expect(kustomization.configMapGenerator).toEqual([
      { name: 'redis-config', files: ['redis.conf', 'sentinel.conf'] },
      { name: 'redis-scripts', files: ['init.sh', 'probe.sh'] },
    ])
    // deploy/redis/*.conf are the same files: links, since kustomize reads nothing outside the base.
    for (const conf of ['redis.conf', 'sentinel.conf']) {
      expect(lstatSync(join(REDIS_DEPLOY_DIR, conf)).isSymbolicLink()).toBe(true)
      expect(readlinkSync(join(REDIS_DEPLOY_DIR, conf))).toBe(`kubernetes/${conf}`)
    }
  })

  it('holds no Secret and no password: pods refer to the Secret redis-auth by name only', () => {
    expect(sources.filter((s) => s.manifest.kind === 'Secret')).toEqual([])
    for (const spec of podSpecs()) {
      const secrets = spec.volumes.filter((v: Manifest) => v.secret)
      expect(secrets.map((v: Manifest) => v.secret.secretName)).toEqual([SECRET])
      // 0440, readable through fsGroup only.
      expect(secrets[0].secret.defaultMode).toBe(0o440)
      expect(spec.securityContext.fsGroup).toBe(UID)
      for (const c of [...spec.containers, ...spec.initContainers]) {
        for (const e of c.env ?? []) expect(e.value ?? '', `${c.name} ${e.name}`).not.toMatch(/pass/i)
      }
    }
    for (const file of [...manifestFiles, 'init.sh', 'probe.sh', 'redis.conf', 'sentinel.conf']) {
      const text = readFileSync(join(BASE, file), 'utf8')
      expect(text, file).not.toMatch(/^\s*(requirepass|masterauth)\s+\S/m)
      expect(text, file).not.toMatch(/\s-a\s/)
    }
  })

  it('runs Redis as a StatefulSet of one master and two replicas on 1Gi volumes from volumeClaimTemplates', () => {
    const set = redis()
    expect(set.spec.replicas).toBe(3)
    expect(set.spec.podManagementPolicy).toBe('OrderedReady')
    expect(set.spec.volumeClaimTemplates).toEqual([
      {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ])
    const [container] = set.spec.template.spec.containers
    expect(container.command).toEqual(['redis-server', '/etc/redis/redis.conf'])
    // The volume is mounted where redis.conf keeps its data.
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: setting(REDIS_CONF, 'dir') })
    expect(container.ports).toEqual([{ name: 'redis', containerPort: redisPort, protocol: 'TCP' }])
  })

  it('runs three Sentinels: enough for the quorum of sentinel.conf with one of them gone', () => {
    const replicas = sentinel().spec.replicas
    expect(replicas).toBe(3)
    expect(masterName).toBe('mymaster')
    expect(Number(quorum)).toBe(2)
    expect(Number(quorum)).toBeGreaterThan(replicas / 2)
    expect(Number(quorum)).toBeLessThanOrEqual(replicas - 1)
    expect(sentinelSettings(SENTINEL_CONF)['down-after-milliseconds']).toBe('mymaster 5000')
    const [container] = sentinel().spec.template.spec.containers
    expect(container.command).toEqual(['redis-sentinel', '/etc/redis-sentinel/sentinel.conf'])
    expect(container.ports).toEqual([{ name: 'sentinel', containerPort: sentinelPort, protocol: 'TCP' }])
  })

  it('has init containers copy the ConfigMap into a writable emptyDir that the server then runs from', () => {
    for (const [set, role, dir] of [
      [redis(), 'redis', '/etc/redis'],
      [sentinel(), 'sentinel', '/etc/redis-sentinel'],
    ] as const) {
      const spec = set.spec.template.spec
      const [init] = spec.initContainers
      expect(init.command).toEqual(['sh', '/scripts/init.sh', role])
      expect(init.image).toBe(spec.containers[0].image)
      const volume = (name: string) => spec.volumes.find((v: Manifest) => v.name === name)
      const initMount = init.volumeMounts.find((m: Manifest) => m.mountPath === dir)
      expect(initMount.readOnly ?? false).toBe(false)
      expect(volume(initMount.name).emptyDir).toBeDefined()
      const source = init.volumeMounts.find((m: Manifest) => m.mountPath === '/etc/redis-source')
      expect(source.readOnly).toBe(true)
      expect(volume(source.name).configMap.name).toBe('redis-config')
      // The server reads its file from that volume, never from the ConfigMap itself.
      const serverMount = spec.containers[0].volumeMounts.find((m: Manifest) => m.name === initMount.name)
      expect(serverMount.mountPath).toBe(dir)
      expect(spec.containers[0].volumeMounts.map((m: Manifest) => m.name)).not.toContain(source.name)
    }
    // Sentinel rewrites its file; Redis only reads its own.
    expect(sentinel().spec.template.spec.containers[0].volumeMounts[0].readOnly ?? false).toBe(false)
    expect(redis().spec.template.spec.containers[0].volumeMounts[0].readOnly).toBe(true)
  })

  it('probes with probe.sh (REDISCLI_AUTH), liveness tolerant of LOADING, readiness wanting PONG', () => {
    const probe = readFileSync(PROBE, 'utf8')
    expect(probe).toMatch(/^export REDISCLI_AUTH$/m)
    for (const [set, port] of [
      [redis(), redisPort],
      [sentinel(), sentinelPort],
    ] as const) {
      const c = set.spec.template.spec.containers[0]
      expect(c.livenessProbe.exec.command).toEqual(['sh', '/scripts/probe.sh', String(port), 'live'])
      expect(c.readinessProbe.exec.command).toEqual(['sh', '/scripts/probe.sh', String(port), 'ready'])
      expect(c.livenessProbe.timeoutSeconds).toBeGreaterThanOrEqual(3) // probe.sh's own timeout
    }
    const startup = redis().spec.template.spec.containers[0].startupProbe
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(300)
  })

  it('runs every container, init containers too, under the restricted profile as uid 999', () => {
    for (const spec of podSpecs()) {
      expect(spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: UID,
        runAsGroup: UID,
        seccompProfile: { type: 'RuntimeDefault' },
      })
      expect(spec.automountServiceAccountToken).toBe(false)
      expect(named('ServiceAccount', spec.serviceAccountName).automountServiceAccountToken).toBe(false)
      for (const v of spec.volumes) {
        const types = Object.keys(v).filter((k) => k !== 'name')
        expect(types).toHaveLength(1)
        expect(RESTRICTED_VOLUMES).toContain(types[0])
      }
      for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) expect(spec[field]).toBeUndefined()
    }
    for (const c of allContainers()) {
      expect(c.securityContext, c.name).toEqual({
        runAsNonRoot: true,
        runAsUser: UID,
        runAsGroup: UID,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      })
    }
  })

  it('sizes Redis from maxmemory: requests a full cache, limits it like the systemd unit does', () => {
    const mib = (q: string) => Number.parseInt(q, 10) * (q.endsWith('Gi') ? 1024 : 1)
    const millicores = (q: string) => (q.endsWith('m') ? Number.parseInt(q, 10) : Number(q) * 1000)
    for (const c of allContainers()) {
      const { requests, limits } = c.resources
      expect(mib(requests.memory)).toBeLessThanOrEqual(mib(limits.memory))
      expect(millicores(requests.cpu)).toBeLessThanOrEqual(millicores(limits.cpu))
    }
    const maxmemory = redisBytes(setting(REDIS_CONF, 'maxmemory')!)
    const { requests, limits } = redis().spec.template.spec.containers[0].resources
    expect(mib(requests.memory)).toBeGreaterThanOrEqual(maxmemory / 1024 ** 2)
    expect(mib(limits.memory)).toBe(memoryCeilingMiB(maxmemory))
    const unit = readFileSync(join(REDIS_DEPLOY_DIR, 'redis-server.service'), 'utf8')
    expect(/^MemoryMax=(\d+)M$/m.exec(unit)![1]).toBe(String(memoryCeilingMiB(maxmemory)))
  })

  it('gives each StatefulSet its headless Service (published before ready) and the Sentinels a client Service', () => {
    for (const set of statefulSets()) {
      const headless = named('Service', set.spec.serviceName)
      expect(headless.spec.clusterIP).toBe('None')
      expect(headless.spec.publishNotReadyAddresses).toBe(true)
      expect(matches(headless.spec.selector, podLabels(set))).toBe(true)
      expect(matches(headless.spec.selector, podLabels(set === redis() ? sentinel() : redis()))).toBe(false)
    }
    const client = named('Service', 'redis-sentinel')
    expect(client.spec.clusterIP).toBeUndefined()
    expect(client.spec.ports).toEqual([
      { name: 'sentinel', port: sentinelPort, targetPort: 'sentinel', protocol: 'TCP' },
    ])
    expect(matches(client.spec.selector, podLabels(sentinel()))).toBe(true)
    expect(matches(client.spec.selector, podLabels(redis()))).toBe(false)
  })

  it('lets one Redis pod and one Sentinel go at a time', () => {
    for (const set of statefulSets()) {
      const budget = named('PodDisruptionBudget', set.metadata.name)
      expect(budget.spec.maxUnavailable).toBe(1)
      expect(matches(budget.spec.selector.matchLabels, podLabels(set))).toBe(true)
      expect(budget.spec.selector.matchLabels).toEqual(set.spec.selector.matchLabels)
    }
  })

  it('lets only Redis, Sentinels, the application and the monitor reach 6379 and 26379', () => {
    const policy = named('NetworkPolicy', 'redis')
    for (const set of statefulSets())
      expect(matches(policy.spec.podSelector.matchLabels, podLabels(set))).toBe(true)
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress'])
    expect(policy.spec.ingress).toHaveLength(1)
    const [rule] = policy.spec.ingress
    expect(rule.ports).toEqual([
      { port: redisPort, protocol: 'TCP' },
      { port: sentinelPort, protocol: 'TCP' },
    ])
    const peers = rule.from.map((f: Manifest) => f.podSelector.matchLabels)
    expect(peers).toEqual([
      { 'app.kubernetes.io/name': 'redis' },
      { 'redis-client': 'true' },
      { 'app.kubernetes.io/name': 'redis-pool-monitor' },
    ])
    // The monitor's own pods (deploy/kubernetes) carry the label the policy admits.
    const [monitor] = readYamlDocuments(join(KUBERNETES_DIR, 'deployment.yaml'))
    expect(matches(peers[2], monitor!.spec.template.metadata.labels)).toBe(true)
    const egressPorts = policy.spec.egress.flatMap((e: Manifest) => e.ports)
    expect(egressPorts).toEqual([
      { port: redisPort, protocol: 'TCP' },
      { port: sentinelPort, protocol: 'TCP' },
      { port: 53, protocol: 'UDP' },
      { port: 53, protocol: 'TCP' },
    ])
  })
})

describe('init.sh, run here as the init containers run it', () => {
  const passwordFile = join(work, 'redis-password')
  const nowhere = '127.0.0.1:1'
  function init(role: string, password: string, env: Record<string, string>) {
    writeFileSync(passwordFile, `${password}\n`)
    const target = join(work, `${role}.conf`)
    rmSync(target, { force: true })
    const run = runInitScript(role, { passwordFile, target }, env)
    let output: string | undefined
    try {
      output = readFileSync(target, 'utf8')
    } catch {}
    return { code: run.status, stdout: run.stdout, stderr: run.stderr, output }
  }
  const PASSWORD = 'f00dfeedf00dfeedf00dfeedf00dfeed'
  const FQDN = (pod: string, service: string) => `${pod}.${service}.cache.svc.cluster.local`

  it('redis: the ConfigMap file unchanged, then only the pod settings; on a first start redis-1 follows redis-0', () => {
    const result = init('redis', PASSWORD, { FQDN: FQDN('redis-1', 'redis-headless'), SENTINELS: nowhere })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.output!.startsWith(REDIS_CONF)).toBe(true)
    expect(directives(result.output!.slice(REDIS_CONF.length))).toEqual([
      { name: 'bind', args: '* -::*' },
      { name: 'supervised', args: 'no' },
      { name: 'replica-announce-ip', args: FQDN('redis-1', 'redis-headless') },
      { name: 'replicaof', args: `${FQDN('redis-0', 'redis-headless')} ${redisPort}` },
      { name: 'requirepass', args: PASSWORD },
      { name: 'masterauth', args: PASSWORD },
    ])
  })

  it('redis: redis-0 on a first start is the master (no replicaof)', () => {
    const result = init('redis', PASSWORD, { FQDN: FQDN('redis-0', 'redis-headless'), SENTINELS: nowhere })
    expect(result.code).toBe(0)
    expect(setting(result.output!, 'replicaof')).toBeUndefined()
  })

  it('sentinel: the monitor line names the first master, quorum kept; password and announced name appended', () => {
    const fqdn = FQDN('redis-sentinel-2', 'redis-sentinel-headless')
    const result = init('sentinel', PASSWORD, { FQDN: fqdn, SENTINELS: nowhere })
    expect(result.code).toBe(0)
    const expected = SENTINEL_CONF.replace(
      /^sentinel monitor mymaster \S+ \d+ 2$/m,
      `sentinel monitor mymaster ${FQDN('redis-0', 'redis-headless')} ${redisPort} 2`,
    )
    expect(expected).not.toBe(SENTINEL_CONF)
    expect(result.output!.startsWith(expected)).toBe(true)
    expect(directives(result.output!.slice(expected.length))).toEqual([
      { name: 'sentinel', args: `announce-ip ${fqdn}` },
      { name: 'sentinel', args: `auth-pass mymaster ${PASSWORD}` },
      { name: 'requirepass', args: PASSWORD },
    ])
  })

  it.each([
    ['the example placeholder', readFileSync(join(EXAMPLE, 'redis-password'), 'utf8').trim(), /placeholder/],
    ['an empty Secret', '', /no password yet/],
    ['a password with a quote', `${PASSWORD}"x`, /letters, digits and \. _ ~ - only/],
    ['a short password', 'abc123', /shorter than 16/],
  ])('refuses %s with one line and writes nothing', (_, password, message) => {
    const result = init('redis', password, { FQDN: FQDN('redis-0', 'redis-headless'), SENTINELS: nowhere })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(message)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.output).toBeUndefined()
  })
})

describe('one source of truth', () => {
  it('the host install carries every setting of the ConfigMap, adding only the password', () => {
    // The ConfigMap as the cluster receives it.
    const configMapConf = parseYamlDocuments(rendered.stdout, 'kustomize').find(
      (o) => o.kind === 'ConfigMap' && o.data['redis.conf'],
    )!.data['redis.conf']
    expect(configMapConf).toBe(REDIS_CONF)
    const installed = hostInstalledConf()
    const added = directives(installed).slice(directives(configMapConf).length)
    expect(directives(installed).slice(0, directives(configMapConf).length)).toEqual(
      directives(configMapConf),
    )
    expect(added.map((d) => d.name)).toEqual(['requirepass'])
  })

  it('host flags change only maxmemory and maxmemory-policy', () => {
    const installed = directives(
      hostInstalledConf('--maxmemory', '2gb', '--maxmemory-policy', 'volatile-lru'),
    )
    const source = directives(REDIS_CONF)
    const changed = source.flatMap((d, i) => (installed[i]!.args === d.args ? [] : [installed[i]]))
    expect(changed).toEqual([
      { name: 'maxmemory', args: '2gb' },
      { name: 'maxmemory-policy', args: 'volatile-lru' },
    ])
  })

  it('redis.conf holds the settings the deployment promises', () => {
    expect(setting(REDIS_CONF, 'maxmemory')).toBe('256mb')
    expect(setting(REDIS_CONF, 'maxmemory-policy')).toBe('allkeys-lru')
    expect(setting(REDIS_CONF, 'maxmemory-samples')).toBe('5')
    expect(setting(REDIS_CONF, 'appendonly')).toBe('yes')
    expect(setting(REDIS_CONF, 'appendfsync')).toBe('everysec')
    expect(setting(REDIS_CONF, 'save')).toMatch(/^(\d+ \d+ ?)+$/)
    expect(setting(REDIS_CONF, 'protected-mode')).toBe('yes')
    expect(setting(REDIS_CONF, 'bind')).toBe('127.0.0.1 -::1')
    expect(setting(REDIS_CONF, 'supervised')).toBe('systemd')
    expect(Number(setting(REDIS_CONF, 'tcp-keepalive'))).toBeGreaterThan(0)
    expect(Number(setting(REDIS_CONF, 'maxclients'))).toBeGreaterThan(0)
  })
})

describe('kustomize build', () => {
  const objects = () => parseYamlDocuments(rendered.stdout, 'kustomize deploy/redis/kubernetes')

  it('renders the base: every object validates, with the common labels and the hashed ConfigMaps', () => {
    expect(rendered.stderr).toBe('')
    expect(rendered.ok).toBe(true)
    const all = objects()
    for (const o of all) expect(() => new KINDS[kindKey(o)]!.model(o as never).validate()).not.toThrow()
    for (const o of all) expect(o.metadata.labels, `${o.kind} ${o.metadata.name}`).toMatchObject(commonLabels)
    const configMaps = all.filter((o) => o.kind === 'ConfigMap')
    expect(configMaps.map((c) => c.metadata.name)).toEqual([
      expect.stringMatching(/^redis-config-[a-z0-9]+$/),
      expect.stringMatching(/^redis-scripts-[a-z0-9]+$/),
    ])
    expect(configMaps[0]!.data).toEqual({ 'redis.conf': REDIS_CONF, 'sentinel.conf': SENTINEL_CONF })
    expect(configMaps[1]!.data).toEqual({
      'init.sh': readFileSync(INIT, 'utf8'),
      'probe.sh': readFileSync(PROBE, 'utf8'),
    })
    for (const set of all.filter((o) => o.kind === 'StatefulSet')) {
      const names = set.spec.template.spec.volumes
        .filter((v: Manifest) => v.configMap)
        .map((v: Manifest) => v.configMap.name)
      expect(names.sort()).toEqual(configMaps.map((c) => c.metadata.name).sort())
      for (const c of [...set.spec.template.spec.containers, ...set.spec.template.spec.initContainers]) {
        expect(c.image).toBe(`redis:${kustomization.images[0].newTag}`)
      }
    }
    expect(kustomization.images[0].newTag).toMatch(/^7\.\d+\.\d+-alpine$/)
  })

  it('adds the common labels to metadata and pod templates only: every selector renders as written', () => {
    expect(labelPaths).toEqual([
      { path: 'metadata/labels', create: true },
      { path: 'spec/template/metadata/labels', kind: 'StatefulSet', create: true },
      { path: 'spec/volumeClaimTemplates[]/metadata/labels', kind: 'StatefulSet', create: true },
    ])
    const selectorsOf = (objects: Manifest[]) =>
      objects.map((o) => ({
        id: `${o.kind} ${o.metadata.name}`,
        selector: o.spec?.selector ?? o.spec?.podSelector,
      }))
    const rendered = objects().filter((o) => o.kind !== 'ConfigMap')
    expect(selectorsOf(rendered).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      selectorsOf(sources.map((s) => s.manifest)).sort((a, b) => a.id.localeCompare(b.id)),
    )
    for (const set of rendered.filter((o) => o.kind === 'StatefulSet')) {
      expect(set.spec.template.metadata.labels).toMatchObject(commonLabels)
    }
  })

  it('renders the example with the Secret redis-auth from its placeholder file, at a fixed name', () => {
    const example = renderedExample
    expect(example.stderr).toBe('')
    const all = parseYamlDocuments(example.stdout, 'kustomize example')
    const secrets = all.filter((o) => o.kind === 'Secret')
    expect(secrets).toHaveLength(1)
    expect(secrets[0]!.metadata).toMatchObject({ name: SECRET, namespace: 'redis' })
    const placeholder = readFileSync(join(EXAMPLE, 'redis-password'), 'utf8')
    expect(placeholder).toMatch(/^REPLACE-ME/)
    expect(Buffer.from(secrets[0]!.data['redis-password'], 'base64').toString()).toBe(placeholder)
    for (const o of all) expect(() => new KINDS[kindKey(o)]!.model(o as never).validate()).not.toThrow()
  })

  it('renders the monitor overlay pointed at these Sentinels, with the Secret and egress it needs', () => {
    const overlay = renderedMonitor
    expect(overlay.stderr).toBe('')
    const all = parseYamlDocuments(overlay.stdout, 'kustomize monitor')
    for (const o of all) expect(() => new KINDS[kindKey(o)]!.model(o as never).validate()).not.toThrow()
    for (const o of all) expect(o.metadata.namespace).toBe('redis')
    const configMap = all.find((o) => o.kind === 'ConfigMap')!
    const deployment = all.find((o) => o.kind === 'Deployment')!
    const container = deployment.spec.template.spec.containers[0]
    const env = { ...configMap.data }
    for (const e of container.env) env[e.name] = e.value
    // The three Sentinel pods, by their names under the headless Service, on sentinel.conf's port.
    const headless = sentinel().spec.serviceName
    expect(env['REDIS_SENTINELS']!.split(',')).toEqual(
      [0, 1, 2].map((i) => `${sentinel().metadata.name}-${i}.${headless}:${sentinelPort}`),
    )
    expect(env['REDIS_SENTINEL_MASTER']).toBe(masterName)
    // Redis and the Sentinels share the one password, read from the Secret mounted as a file.
    expect(env['REDIS_SENTINEL_PASSWORD_FILE']).toBe(env['REDIS_PASSWORD_FILE'])
    const mount = container.volumeMounts.find((m: Manifest) =>
      env['REDIS_PASSWORD_FILE']!.startsWith(`${m.mountPath}/`),
    )
    const volume = deployment.spec.template.spec.volumes.find((v: Manifest) => v.name === mount.name)
    expect(volume.secret.secretName).toBe(SECRET)
    // The image runs Node 24, which has node:sqlite for HISTORY_FILE, whatever Node runs this test.
    const config = parseConfig(env, { readFile: () => 'placeholder\n', sqliteAvailable: () => true })
    expect(config.redis.topology).toBe('sentinel')
    expect(config.redis.sentinel).toMatchObject({ masterName, password: 'placeholder' })
    expect(config.redis.sentinel!.nodes).toHaveLength(3)
    expect(config.redis.password).toBe('placeholder')
    const policy = all.find((o) => o.kind === 'NetworkPolicy')!
    const ports = policy.spec.egress.flatMap((e: Manifest) => e.ports.map((p: Manifest) => p.port))
    expect(ports).toEqual(expect.arrayContaining([redisPort, sentinelPort]))
  })
})
