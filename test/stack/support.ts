import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import * as cacheDefinitions from '../../src/metrics/cache.js'
import * as clusterDefinitions from '../../src/metrics/cluster.js'
import * as definitions from '../../src/metrics/definitions.js'
import * as sentinelDefinitions from '../../src/metrics/sentinel.js'
import { freePort } from '../helpers/redis-server.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'

const execFileAsync = promisify(execFile)

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const PROMETHEUS_DIR = join(ROOT, 'prometheus')
export const ALERTS_DIR = join(PROMETHEUS_DIR, 'alerts')
export const RULE_TESTS_DIR = join(PROMETHEUS_DIR, 'tests')
export const ALERTMANAGER_DIR = join(PROMETHEUS_DIR, 'alertmanager')

export interface AlertRule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}
export interface RuleFile {
  groups: Array<{ name: string; interval?: string; rules: AlertRule[] }>
}

export const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f))

export const readYaml = <T>(path: string): T => parse(readFileSync(path, 'utf8')) as T

/** Every rule file of prometheus/alerts/, parsed, keyed by file name. */
export function ruleFiles(): Map<string, RuleFile> {
  return new Map(
    yamlFiles(ALERTS_DIR).map((path) => [path.slice(ALERTS_DIR.length + 1), readYaml<RuleFile>(path)]),
  )
}

export const alertRules = (): AlertRule[] =>
  [...ruleFiles().values()].flatMap((file) => file.groups.flatMap((g) => g.rules))

/**
 * The repository's rules with every `for` replaced by `forDuration`, for tests that cannot wait
 * minutes. Derived from the rule files themselves, so there is never a second copy to drift.
 */
export function withShortFor(file: RuleFile, forDuration: string): RuleFile {
  return {
    groups: file.groups.map((group) => ({
      ...group,
      rules: group.rules.map((rule) => (rule.for === undefined ? rule : { ...rule, for: forDuration })),
    })),
  }
}

/** Metric family names defined in src/metrics/ (definitions.ts, cache.ts: the only places names are spelled). */
export function definedMetricNames(): Set<string> {
  const names = new Set<string>()
  const visit = (value: unknown) => {
    if (value === null || typeof value !== 'object') return
    const name = (value as { name?: unknown }).name
    if (typeof name === 'string') names.add(name)
    else for (const child of Object.values(value)) visit(child)
  }
  for (const module of [definitions, cacheDefinitions, clusterDefinitions, sentinelDefinitions])
    for (const value of Object.values(module)) visit(value)
  return names
}

const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'rate',
  'increase',
  'histogram_quantile',
  'by',
  'without',
  'and',
  'or',
  'unless',
  'offset',
  'topk',
  'sort_desc',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'delta',
  'le',
])

/** Metric names an expression selects (identifiers not inside {...} and not functions or keywords). */
export function metricNamesIn(expr: string): string[] {
  const outsideBraces = expr.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ')
  const withoutGroupings = outsideBraces.replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
  // Numbers (durations such as 5m included) are consumed whole so their suffix is no name.
  const found = withoutGroupings.match(/\d[\w.]*|[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []
  return [...new Set(found)].filter(
    (word) => !/^\d/.test(word) && !PROMQL_WORDS.has(word) && !/^(Inf|NaN)$/.test(word),
  )
}

/** A histogram's or counter's series name back to its family name. */
export const familyOf = (series: string, defined: Set<string>) => {
  if (defined.has(series)) return series
  const base = series.replace(/_(bucket|count|sum)$/, '')
  return defined.has(base) ? base : undefined
}

/** Runs a command; resolves with its output whatever the exit code. */
export async function run(
  command: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      cwd: options.cwd ?? ROOT,
      timeout: 60_000,
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? String(err),
    }
  }
}

/** The first of `names` found on PATH (Debian calls Alertmanager prometheus-alertmanager). */
export function onPath(...names: string[]): string {
  for (const name of names) {
    for (const dir of (process.env.PATH ?? '').split(':')) {
      if (dir && existsSync(join(dir, name))) return join(dir, name)
    }
  }
  throw new Error(`none of ${names.join(', ')} is installed (run: node scripts/ensure-system-tools.js)`)
}

export interface Child {
  readonly process: ChildProcess
  /** Everything the process wrote so far (stdout and stderr), for failure messages. */
  output(): string
  stop(): Promise<void>
}

/** Spawns a long-running process and keeps its output for diagnostics. */
export function startChild(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return {
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await gone
      clearTimeout(timer)
    },
  }
}

/** GETs JSON from a Prometheus or Alertmanager HTTP API. */
export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) })
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

/** Waits until `url` answers 2xx; on failure the error carries the process's latest output. */
export async function waitForReady(url: string, child: Child, timeoutMs = 30_000) {
  try {
    await waitFor(
      async () => {
        if (child.process.exitCode !== null) throw new Error(`exited with code ${child.process.exitCode}`)
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
        return response.ok
      },
      { timeoutMs, intervalMs: 200, what: url },
    )
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- output ---\n${child.output().slice(-3_000)}`)
  }
}

/** The address the examples in prometheus/examples give the service. */
export const EXAMPLE_SERVICE = 'redis-pool-monitor:9122'

interface ExampleJob {
  http_sd_configs?: Array<{ url: string; refresh_interval?: string }>
  [key: string]: unknown
}

export interface ExamplePrometheus {
  readonly child: Child
  /** Base URL of its HTTP API. */
  readonly api: string
  stop(): Promise<void>
}

/**
 * A real prometheus running one of prometheus/examples with the service's address swapped for
 * `instance`, 1 s scrape, evaluation and HTTP SD refresh intervals, and the repository's rule files
 * with `for` shortened to 2 s, so a test sees discovery, the dashboard's queries and the alerts
 * within seconds. Files live in `dir`, which the caller removes.
 */
export async function startExamplePrometheus(options: {
  dir: string
  example: string
  instance: string
}): Promise<ExamplePrometheus> {
  const { dir, example, instance } = options
  const rulesDir = join(dir, 'alerts')
  mkdirSync(rulesDir)
  for (const [name, file] of ruleFiles()) {
    writeFileSync(join(rulesDir, basename(name)), stringify(withShortFor(file, '2s') satisfies RuleFile))
  }
  const swap = (job: ExampleJob) =>
    JSON.parse(JSON.stringify(job).replaceAll(EXAMPLE_SERVICE, instance)) as ExampleJob
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [join(rulesDir, '*.yml')],
    scrape_configs: readYaml<{ scrape_configs: ExampleJob[] }>(example)
      .scrape_configs.map(swap)
      .map((job) =>
        job.http_sd_configs
          ? { ...job, http_sd_configs: job.http_sd_configs.map((sd) => ({ ...sd, refresh_interval: '1s' })) }
          : job,
      ),
  }
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config))
  const port = await freePort()
  const child = startChild('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ])
  const api = `http://127.0.0.1:${port}`
  await waitForReady(`${api}/-/ready`, child)
  return { child, api, stop: () => child.stop() }
}

/** A scrape job of prometheus/examples, as far as the tests read it. */
export interface ExampleScrapeJob {
  job_name: string
  metrics_path?: string
  static_configs?: Array<{ targets: string[] }>
  http_sd_configs?: Array<{ url: string; refresh_interval?: string }>
  relabel_configs?: Array<{ source_labels?: string[]; target_label: string; replacement?: string }>
}

/** Prometheus' /api/v1/query answer. */
export interface QueryResult {
  data: { resultType?: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }
}

/** Prometheus' /api/v1/alerts answer. */
export interface AlertsResult {
  data: {
    alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }>
  }
}

/** The generated Grafana dashboard, as far as the tests read it. */
export interface DashboardJson {
  panels: Array<{ type: string; title: string; targets?: Array<{ expr: string; refId: string }> }>
}

/**
 * The relabelling every /scrape example job ends with: the Redis address becomes `?target=` and the
 * `instance` label, and Prometheus dials the service instead.
 */
export const SCRAPE_THROUGH_SERVICE_RELABEL = [
  { source_labels: ['__address__'], target_label: '__param_target' },
  { source_labels: ['__param_target'], target_label: 'instance' },
  { target_label: '__address__', replacement: EXAMPLE_SERVICE },
]

/**
 * Asserts that job `jobName` of the example file discovers its targets at `discoveryPath` on the
 * service (HTTP SD) and sends each to /scrape?target= on the service.
 */
export function expectDiscoveredThroughScrape(example: string, jobName: string, discoveryPath: string): void {
  const job = readYaml<{ scrape_configs: ExampleScrapeJob[] }>(example).scrape_configs.find(
    (j) => j.job_name === jobName,
  )
  expect(job?.http_sd_configs?.[0]?.url).toBe(`http://${EXAMPLE_SERVICE}${discoveryPath}`)
  expect(job?.metrics_path).toBe('/scrape')
  expect(job?.relabel_configs).toEqual(SCRAPE_THROUGH_SERVICE_RELABEL)
}

/** An instant query against a running Prometheus' HTTP API. */
export const queryPrometheus = (api: string, expr: string) =>
  getJson<QueryResult>(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`)

/** Names of the alerts firing on series of job `job`. */
export async function firingAlerts(api: string, job: string): Promise<Set<string | undefined>> {
  const r = await getJson<AlertsResult>(`${api}/api/v1/alerts`)
  return new Set(
    r.data.alerts.filter((a) => a.state === 'firing' && a.labels.job === job).map((a) => a.labels.alertname),
  )
}

/** The generated Grafana dashboard of grafana/dashboards/. */
export const readDashboard = () =>
  readYaml<DashboardJson>(join(ROOT, 'grafana', 'dashboards', 'redis-pool-monitor.json'))

/** The panels of the dashboard row titled `title` (fails the test when there is no such row). */
export function dashboardRow(title: string): DashboardJson['panels'] {
  const panels = readDashboard().panels
  const start = panels.findIndex((p) => p.type === 'row' && p.title === title)
  expect(start).toBeGreaterThan(0)
  const next = panels.findIndex((p, i) => i > start && p.type === 'row')
  return panels.slice(start + 1, next === -1 ? undefined : next)
}

/**
 * Waits until each `what` has answered with a finite value through at least one of its
 * expressions (a query may be listed several times under one `what`, once per job to try); the
 * failure names every `what` still empty.
 */
export async function waitForEveryQueryData(
  api: string,
  queries: ReadonlyArray<{ what: string; expr: string }>,
  what: string,
): Promise<void> {
  const empty = new Set(queries.map((q) => q.what))
  await waitFor(
    async () => {
      for (const q of queries) {
        if (!empty.has(q.what)) continue
        const result = await queryPrometheus(api, q.expr)
        if (result.data.result.some((s) => Number.isFinite(Number(s.value[1])))) empty.delete(q.what)
      }
      return empty.size === 0
    },
    { timeoutMs: 60_000, intervalMs: 1_000, what },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; still empty: ${[...empty].join(', ')}`)
  })
}

/**
 * The checks of one discovery example that need no running Prometheus: `promtool check config`
 * accepts the file, and job `job` discovers at `discoveryPath` and sends each target to /scrape.
 */
export function describeDiscoveryExample(title: string, example: string, job: string, discoveryPath: string) {
  describe(title, () => {
    it('passes promtool check config', async () => {
      const result = await run('promtool', ['check', 'config', example])
      expect(result.code, result.stdout + result.stderr).toBe(0)
    })

    it(`discovers nodes at ${discoveryPath} and sends each to /scrape?target= on the service`, () => {
      expectDiscoveredThroughScrape(example, job, discoveryPath)
    })
  })
}

/** The service and a Prometheus running a discovery example against it. */
export interface ExampleStack {
  readonly service: ServiceProcess
  readonly prometheus: ExamplePrometheus
  /** Base URL of Prometheus' HTTP API. */
  readonly api: string
  /** The service's `host:port`, as Prometheus dials it. */
  readonly instance: string
  /** Stops Prometheus, then the service, and removes the files. */
  stop(): Promise<void>
}

/**
 * Starts the service (PROBE_INTERVAL_MS 500, LOG_LEVEL warn, plus `env`) and a Prometheus running
 * `example` against it (startExamplePrometheus), in a throwaway directory.
 */
export async function startExampleStack(options: {
  example: string
  env: Record<string, string>
}): Promise<ExampleStack> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-example-stack-'))
  let service: ServiceProcess | undefined
  try {
    service = await runService({ env: { PROBE_INTERVAL_MS: '500', LOG_LEVEL: 'warn', ...options.env } })
    const instance = `127.0.0.1:${service.port}`
    const prometheus = await startExamplePrometheus({ dir, example: options.example, instance })
    const started = service
    return {
      service,
      prometheus,
      api: prometheus.api,
      instance,
      stop: async () => {
        await prometheus.stop()
        await started.stop()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    await service?.stop()
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

/** One of Prometheus' /api/v1/targets active targets, as far as the tests read it. */
export interface ActiveTarget {
  labels: Record<string, string>
  scrapePool: string
  scrapeUrl: string
  health: string
}

/** Waits until the active targets of scrape pool (job) `job` satisfy `done`; returns them. */
export async function waitForTargets(
  api: string,
  job: string,
  done: (targets: ActiveTarget[]) => boolean,
  what: string,
): Promise<ActiveTarget[]> {
  return waitFor(
    async () => {
      const r = await getJson<{ data: { activeTargets: ActiveTarget[] } }>(`${api}/api/v1/targets`)
      const mine = r.data.activeTargets.filter((t) => t.scrapePool === job)
      return done(mine) ? mine : undefined
    },
    { timeoutMs: 30_000, what },
  )
}

/**
 * The queries of dashboard panels with Grafana's variables filled in, named `<panel> [<refId>]`; one
 * entry per job in `jobs`, all under the same name (waitForEveryQueryData counts a name answered
 * when any of them answers).
 */
export function panelQueries(
  panels: DashboardJson['panels'],
  vars: { jobs: readonly string[]; instance: string; rateInterval: string },
): Array<{ what: string; expr: string }> {
  return panels.flatMap((panel) =>
    (panel.targets ?? []).flatMap((target) =>
      vars.jobs.map((job) => ({
        what: `${panel.title} [${target.refId}]`,
        expr: target.expr
          .replaceAll('$job', job)
          .replaceAll('$instance', vars.instance)
          .replaceAll('$__rate_interval', vars.rateInterval),
      })),
    ),
  )
}
