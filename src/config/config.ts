import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { globProblem } from '../collectors/glob.js'
import { ConfigError } from '../errors.js'
import { parseDuration } from '../history/duration.js'
import { SQLITE_NODE_VERSIONS, sqliteAvailable } from '../history/sqlite-runtime.js'
import {
  createEndpoint,
  DEFAULT_SENTINEL_PORT,
  type HostPort,
  parseHostPort,
  type RedisEndpoint,
  type TlsSettings,
} from '../redis/endpoint.js'
import { patternProblem } from '../targets/allow-list.js'
import { NO_PASSWORDS, parseTargetPasswords, type TargetPasswords } from '../targets/passwords.js'
import { withoutPassword } from '../targets/target.js'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const

export interface Config {
  /** Where Redis is (REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER, REDIS_TLS_*); holds secrets, never log it. */
  readonly redis: RedisEndpoint
  /** REDIS_TLS_* as read at start: the endpoint's TLS when REDIS_URL is rediss://, and rediss:// /scrape targets'. */
  readonly tls: TlsSettings
  readonly host: string
  readonly port: number
  readonly logLevel: (typeof LOG_LEVELS)[number]
  readonly logFormat: (typeof LOG_FORMATS)[number]
  readonly pool: {
    readonly name: string
    readonly size: number
    readonly probeIntervalMs: number
    readonly commandTimeoutMs: number
  }
  readonly scrapeTimeoutSeconds: number
  readonly metricsAuth: {
    readonly bearerToken: string | undefined
    readonly basic: { readonly user: string; readonly password: string } | undefined
  }
  readonly keyGroups: {
    readonly patterns: readonly string[]
    readonly auto: boolean
    readonly intervalMs: number
    readonly maxGroups: number
  }
  readonly status: {
    readonly memoryWarningPercent: number
    readonly memoryCriticalPercent: number
    readonly latencyWarningMs: number
    readonly latencyCriticalMs: number
    readonly hitRateWarningPercent: number
    readonly hitRateCriticalPercent: number
    readonly historySize: number
  }
  readonly history: {
    /** SQLite file of the status samples; memory only when undefined. */
    readonly file: string | undefined
    readonly retentionMs: number
    readonly intervalMs: number
  }
  readonly autoMemoryPurge: { readonly enabled: boolean; readonly minIntervalMs: number }
  readonly pressure: { readonly maxEventLoopDelayMs: number; readonly maxHeapUsedPercent: number }
  /** Run the synthetic workload through the pool (BENCH_POOL_LOAD). */
  readonly workload: boolean
  readonly connections: {
    /** HTTP connections served at once; undefined: derived from the open-files limit at start. */
    readonly max: number | undefined
    /** A second listener serving only /health/*; undefined: none. */
    readonly healthPort: number | undefined
  }
  /** GET /scrape?target= (SCRAPE_TARGETS, SCRAPE_TARGETS_MAX, REDIS_TARGET_PASSWORDS_FILE). */
  readonly scrape: {
    readonly targets: readonly string[]
    readonly maxTargets: number
    /** Holds secrets: never log it. */
    readonly passwords: TargetPasswords
  }
}

/** A parser for one variable: the raw string (or undefined) in, a value out or a zod issue. */
interface Variable<T> {
  default: string | undefined
  /** What a good value looks like, for the error line and the README. */
  expects: string
  /** Never echo the value back (URLs with passwords, tokens). */
  secret?: boolean
  schema: z.ZodType<T, string>
  description: string
}

const variable = <T>(v: Variable<T>) => v

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))

const decimal = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/)
    .transform(Number)
    .pipe(z.number().min(min).max(max))

const TRUE = ['1', 'true', 'yes', 'on']
const FALSE = ['0', 'false', 'no', 'off']
const bool = () =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((s) => TRUE.includes(s) || FALSE.includes(s))
    .transform((s) => TRUE.includes(s))

const optionalText = () =>
  z
    .string()
    .transform((s) => s.trim())
    .transform((s) => (s === '' ? undefined : s))

/** `a, b,,c` -> ['a', 'b', 'c']; unset or blank -> []. */
const commaList = () =>
  optionalText().transform((s) =>
    (s ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  )

/**
 * Every environment variable the service reads, with its default and what it expects.
 * Each has a CLI flag of the same meaning: `REDIS_URL` is `--redis-url`.
 */
export const VARIABLES = {
  REDIS_URL: variable({
    default: 'redis://127.0.0.1:6379',
    expects: 'a redis:// or rediss:// URL such as redis://user:password@host:6379/0',
    secret: true,
    schema: z.string().trim().min(1),
    description: 'Redis to monitor; user and password allowed',
  }),
  REDIS_PASSWORD_FILE: variable({
    default: undefined,
    expects: 'a readable file holding the Redis password',
    schema: optionalText(),
    description: 'file whose content is the password (a mounted Secret); wins over the URL',
  }),
  REDIS_SENTINELS: variable({
    default: undefined,
    expects: 'comma-separated host:port of Sentinels such as 10.0.0.1:26379,10.0.0.2:26379',
    schema: commaList()
      .transform((list) => list.map((p) => parseHostPort(p, DEFAULT_SENTINEL_PORT)))
      .refine((nodes) => nodes.every((n) => n !== undefined))
      .transform((nodes) => nodes as HostPort[]),
    description: 'Sentinels to ask for the master; REDIS_URL then gives only user, password, db and TLS',
  }),
  REDIS_SENTINEL_MASTER: variable({
    default: 'mymaster',
    expects: 'the master name configured at the Sentinels (letters, digits, dot, dash, underscore)',
    schema: z
      .string()
      .trim()
      .regex(/^[\w.-]{1,128}$/),
    description: "the master's name at the Sentinels",
  }),
  REDIS_SENTINEL_PASSWORD_FILE: variable({
    default: undefined,
    expects: "a readable file holding the Sentinels' password",
    schema: optionalText(),
    description: 'password of the Sentinels themselves (a mounted Secret)',
  }),
  REDIS_CLUSTER: variable({
    default: 'false',
    expects: 'true or false',
    schema: bool(),
    description: 'REDIS_URL names one node of a Redis Cluster: the pool routes by slot',
  }),
  REDIS_READ_FROM_REPLICAS: variable({
    default: 'false',
    expects: 'true or false',
    schema: bool(),
    description: 'with Sentinel or Cluster, reads may go to replicas',
  }),
  REDIS_TLS_CA_FILE: variable({
    default: undefined,
    expects: 'a readable PEM file of the CA certificates that sign the Redis server certificate',
    schema: optionalText(),
    description: 'private CA for rediss:// connections',
  }),
  REDIS_TLS_CERT_FILE: variable({
    default: undefined,
    expects: 'a readable PEM file holding the client certificate (with REDIS_TLS_KEY_FILE)',
    schema: optionalText(),
    description: 'client certificate, when the server requires one (tls-auth-clients)',
  }),
  REDIS_TLS_KEY_FILE: variable({
    default: undefined,
    expects: 'a readable PEM file holding the private key of REDIS_TLS_CERT_FILE',
    schema: optionalText(),
    description: 'private key of the client certificate',
  }),
  REDIS_TLS_SERVER_NAME: variable({
    default: undefined,
    expects: 'a host name to check on the server certificate, such as redis.internal',
    schema: optionalText().refine((s) => s === undefined || /^[\w.-]{1,253}$/.test(s)),
    description: 'name checked on the server certificate (SNI); default: the host actually dialled',
  }),
  REDIS_TLS_INSECURE_SKIP_VERIFY: variable({
    default: 'false',
    expects: 'true or false',
    schema: bool(),
    description: 'skip certificate verification (logs a warning at start)',
  }),
  HOST: variable({
    default: '0.0.0.0',
    expects: 'a listen address such as 0.0.0.0, 127.0.0.1 or ::',
    schema: z
      .string()
      .trim()
      .regex(/^[\w.:-]+$/),
    description: 'listen address',
  }),
  PORT: variable({
    default: '9122',
    expects: 'an integer port from 0 to 65535',
    schema: int(0, 65_535),
    description: 'listen port',
  }),
  LOG_LEVEL: variable({
    default: 'info',
    expects: `one of ${LOG_LEVELS.join(', ')}`,
    schema: z.string().trim().toLowerCase().pipe(z.enum(LOG_LEVELS)),
    description: 'pino level',
  }),
  LOG_FORMAT: variable({
    default: 'auto',
    expects: `one of ${LOG_FORMATS.join(', ')}`,
    schema: z.string().trim().toLowerCase().pipe(z.enum(LOG_FORMATS)),
    description: 'auto: pretty on a TTY, JSON otherwise',
  }),
  POOL_NAME: variable({
    default: 'default',
    expects: 'a name of letters, digits, dot, dash or underscore (the `pool` label)',
    schema: z
      .string()
      .trim()
      .regex(/^[\w.-]{1,64}$/),
    description: 'the `pool` label of the client-side metrics',
  }),
  POOL_SIZE: variable({
    default: '10',
    expects: 'an integer from 1 to 1000',
    schema: int(1, 1_000),
    description: 'connections in the pool',
  }),
  PROBE_INTERVAL_MS: variable({
    default: '5000',
    expects: 'an integer number of milliseconds from 100 to 3600000',
    schema: int(100, 3_600_000),
    description: 'how often the PING probe runs',
  }),
  COMMAND_TIMEOUT_MS: variable({
    default: '2000',
    expects: 'an integer number of milliseconds from 10 to 60000',
    schema: int(10, 60_000),
    description: 'timeout of every Redis command the service sends',
  }),
  SCRAPE_TIMEOUT_SECONDS: variable({
    default: '10',
    expects: 'a number of seconds from 0.5 to 300',
    schema: decimal(0.5, 300),
    description: 'scrape budget when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header',
  }),
  METRICS_BEARER_TOKEN: variable({
    default: undefined,
    expects: 'a non-empty token',
    secret: true,
    schema: optionalText(),
    description: '/metrics requires `Authorization: Bearer <token>` when set',
  }),
  METRICS_BASIC_AUTH: variable({
    default: undefined,
    expects: 'user:password with a non-empty user and password',
    secret: true,
    schema: optionalText().refine((s) => s === undefined || /^[^:]+:.+$/.test(s), 'expected user:password'),
    description: '/metrics requires HTTP basic auth with these credentials when set',
  }),
  KEY_GROUPS: variable({
    default: undefined,
    expects: 'comma-separated glob patterns such as market:*,candles:*',
    schema: commaList()
      .refine((patterns) => patterns.every((p) => !/\s/.test(p)))
      .superRefine((patterns, ctx) => {
        // A malformed glob caught here is one line at start, not a key-group scanner failing later.
        for (const pattern of patterns) {
          const problem = globProblem(pattern)
          if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { detail: true } })
        }
      }),
    description: 'glob patterns for key distribution (`redis_key_group_*`)',
  }),
  KEY_GROUPS_AUTO: variable({
    default: 'false',
    expects: 'true or false',
    schema: bool(),
    description: 'also group keys by their prefix up to the first `:`',
  }),
  KEY_GROUPS_INTERVAL_MS: variable({
    default: '60000',
    expects: 'an integer number of milliseconds from 1000 to 86400000',
    schema: int(1_000, 86_400_000),
    description: 'how often the background key-group scan runs (never on the scrape path)',
  }),
  KEY_GROUPS_MAX: variable({
    default: '100',
    expects: 'an integer from 1 to 10000',
    schema: int(1, 10_000),
    description: 'distinct key groups kept; the rest fold into `overflow`',
  }),
  STATUS_MEMORY_WARNING_PERCENT: variable({
    default: '75',
    expects: 'a percentage from 0 to 100',
    schema: decimal(0, 100),
    description: '/status turns WARNING at or above this memory use (of maxmemory)',
  }),
  STATUS_MEMORY_CRITICAL_PERCENT: variable({
    default: '90',
    expects: 'a percentage from 0 to 100',
    schema: decimal(0, 100),
    description: '/status turns CRITICAL at or above this memory use',
  }),
  STATUS_LATENCY_WARNING_MS: variable({
    default: '50',
    expects: 'a number of milliseconds',
    schema: decimal(0),
    description: '/status turns WARNING at or above this probe latency',
  }),
  STATUS_LATENCY_CRITICAL_MS: variable({
    default: '100',
    expects: 'a number of milliseconds',
    schema: decimal(0),
    description: '/status turns CRITICAL at or above this probe latency',
  }),
  STATUS_HIT_RATE_WARNING_PERCENT: variable({
    default: '50',
    expects: 'a percentage from 0 to 100',
    schema: decimal(0, 100),
    description: '/status turns WARNING below this keyspace hit rate',
  }),
  STATUS_HIT_RATE_CRITICAL_PERCENT: variable({
    default: '40',
    expects: 'a percentage from 0 to 100',
    schema: decimal(0, 100),
    description: '/status turns CRITICAL below this keyspace hit rate',
  }),
  STATUS_HISTORY_SIZE: variable({
    default: '100',
    expects: 'an integer from 1 to 100000',
    schema: int(1, 100_000),
    description: 'samples kept in memory for GET /status/history (all of it without HISTORY_FILE)',
  }),
  // --- durable history (src/history/) ---
  STATUS_HISTORY_INTERVAL_MS: variable({
    default: '5000',
    expects: 'an integer number of milliseconds from 100 to 3600000',
    schema: int(100, 3_600_000),
    description: 'how often a status sample is taken for GET /status/history',
  }),
  HISTORY_FILE: variable({
    default: undefined,
    expects: 'a path to an SQLite file in a writable directory',
    schema: optionalText(),
    description: 'keep status samples in this SQLite file across restarts (needs Node.js 22.13+)',
  }),
  HISTORY_RETENTION: variable({
    default: '7d',
    expects: 'a duration such as 36h, 7d or 4w (from 1h to 3650d)',
    // parseDuration gives undefined for a malformed value: NaN then fails the number check.
    schema: z
      .string()
      .transform((s) => parseDuration(s) ?? Number.NaN)
      .pipe(
        z
          .number()
          .min(3_600_000)
          .max(3650 * 86_400_000),
      ),
    description: 'samples older than this are deleted from HISTORY_FILE',
  }),
  AUTO_MEMORY_PURGE: variable({
    default: 'false',
    expects: 'true or false',
    schema: bool(),
    description: 'send MEMORY PURGE when memory use is CRITICAL (off by default: it changes the server)',
  }),
  AUTO_MEMORY_PURGE_MIN_INTERVAL_MS: variable({
    default: '300000',
    expects: 'an integer number of milliseconds from 1000 to 86400000',
    schema: int(1_000, 86_400_000),
    description: 'at most one MEMORY PURGE per this interval',
  }),
  MAX_EVENT_LOOP_DELAY_MS: variable({
    default: '1000',
    expects: 'an integer number of milliseconds (0 disables the check)',
    schema: int(0, 600_000),
    description: 'above this event-loop delay, routes other than /health/live and /metrics answer 503',
  }),
  MAX_HEAP_USED_PERCENT: variable({
    default: '90',
    expects: 'a percentage of the V8 heap limit from 0 to 100 (0 disables the check)',
    schema: decimal(0, 100),
    description: 'above this heap use, routes other than /health/live and /metrics answer 503',
  }),
  SCRAPE_TARGETS: variable({
    default: undefined,
    expects:
      'comma-separated host:port patterns, * matching any characters, such as redis-*.internal:6379,10.0.0.*',
    schema: commaList(),
    description: 'allow-list of GET /scrape?target= (unset and nothing discovered: /scrape answers 404)',
  }),
  SCRAPE_TARGETS_MAX: variable({
    default: '1000',
    expects: 'an integer from 1 to 100000',
    schema: int(1, 100_000),
    description:
      '/scrape targets whose connections are kept at once; the least recently scraped is closed first',
  }),
  REDIS_TARGET_PASSWORDS_FILE: variable({
    default: undefined,
    expects: 'a readable JSON file from target URL (redis://[user@]host:port) to password',
    schema: optionalText(),
    description: "passwords of /scrape targets (redis_exporter's --redis.password-file format)",
  }),
  BENCH_POOL_LOAD: variable({
    default: 'false',
    expects: 'true or false',
    schema: bool(),
    description: 'run a synthetic workload through the pool (benchmarks and the demo; never in production)',
  }),
  MAX_CONNECTIONS: variable({
    default: undefined,
    expects: 'an integer from 1 to 1000000 (unset: half the open-files soft limit, at most 4096)',
    schema: int(1, 1_000_000),
    description:
      'HTTP connections served at once; beyond it new sockets are closed (default: half the open-files soft limit, at most 4096)',
  }),
  HEALTH_PORT: variable({
    default: undefined,
    expects: 'an integer port from 1 to 65535, other than PORT',
    schema: int(1, 65_535),
    description: 'a second listener serving only /health/*, for probes a flood on PORT cannot starve',
  }),
} as const

export type EnvVar = keyof typeof VARIABLES
/** Every variable name the service reads, so deploy manifests can be checked against it. */
export const ENV_VARS = Object.keys(VARIABLES) as EnvVar[]

/** `REDIS_URL` -> `redis-url`: the CLI flag of each variable. */
export const flagName = (name: EnvVar) => name.toLowerCase().replaceAll('_', '-')

export interface ParseConfigOptions {
  /** Reads REDIS_PASSWORD_FILE; tests may pass their own. @default fs.readFileSync(path, 'utf8') */
  readFile?: (path: string) => string
  /** Whether node:sqlite loads here (HISTORY_FILE needs it); tests pass their own. */
  sqliteAvailable?: () => boolean
}

function describe(name: EnvVar, raw: string | undefined, error?: z.ZodError): string {
  const v: Variable<unknown> = VARIABLES[name]
  // A user:password@ pasted into a variable that is not marked secret (REDIS_SENTINELS,
  // SCRAPE_TARGETS) is masked before the 60-character cut, which could otherwise drop the '@'.
  const shown = raw === undefined ? '' : withoutPassword(raw)
  const got =
    v.secret || raw === undefined
      ? ''
      : ` (got ${JSON.stringify(shown.length > 60 ? `${shown.slice(0, 60)}…` : shown)})`
  // Only issues a schema marks as a detail (written for the user, never quoting a secret) are added.
  const details = (error?.issues ?? [])
    .filter((issue) => issue.code === 'custom' && (issue as { params?: { detail?: boolean } }).params?.detail)
    .map((issue) => issue.message)
  return `${name} expects ${v.expects}${got}${details.length > 0 ? `: ${details.join('; ')}` : ''}`
}

interface UrlParts {
  node: HostPort
  username: string | undefined
  password: string | undefined
  db: number
  tls: boolean
}

/** The parts of a redis URL, or a reason that never quotes the URL (it may hold a password). */
function parseRedisUrl(raw: string): UrlParts | string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'the value does not parse as a URL'
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return `the scheme is ${JSON.stringify(url.protocol.replace(/:$/, ''))}`
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (!host) return 'the host is missing'
  const path = url.pathname.replace(/^\//, '')
  if (path !== '' && !/^\d{1,2}$/.test(path)) return 'the database (path) is not a number from 0 to 99'
  let username: string | undefined
  let password: string | undefined
  try {
    username = url.username ? decodeURIComponent(url.username) : undefined
    password = url.password ? decodeURIComponent(url.password) : undefined
  } catch {
    return 'the user or password is not valid percent-encoding'
  }
  return {
    node: { host, port: url.port ? Number(url.port) : 6379 },
    username,
    password,
    db: path === '' ? 0 : Number(path),
    tls: url.protocol === 'rediss:',
  }
}

/** Reads a secret file; mounted Secrets usually end with one newline, the secret itself never does. */
function readSecret(
  name: EnvVar,
  path: string,
  readFile: (path: string) => string,
  problems: string[],
): string | undefined {
  try {
    const secret = readFile(path).replace(/\r?\n$/, '')
    if (secret === '') problems.push(`${name} expects a file holding the password; ${path} is empty`)
    return secret === '' ? undefined : secret
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    problems.push(`${name} expects ${VARIABLES[name].expects}; cannot read ${path} (${code})`)
    return undefined
  }
}

/** REDIS_TARGET_PASSWORDS_FILE, read and checked at start (and on SIGHUP). */
function readTargetPasswords(
  path: string | undefined,
  readFile: (path: string) => string,
  problems: string[],
): TargetPasswords {
  if (path === undefined) return NO_PASSWORDS
  let text: string
  try {
    text = readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    problems.push(
      `REDIS_TARGET_PASSWORDS_FILE expects ${VARIABLES.REDIS_TARGET_PASSWORDS_FILE.expects}; cannot read ${path} (${code})`,
    )
    return NO_PASSWORDS
  }
  const parsed = parseTargetPasswords(text)
  if ('problem' in parsed) {
    problems.push(
      `REDIS_TARGET_PASSWORDS_FILE expects ${VARIABLES.REDIS_TARGET_PASSWORDS_FILE.expects}; in ${path}, ${parsed.problem}`,
    )
    return NO_PASSWORDS
  }
  return parsed
}

type PemKind = 'certificates' | 'key'

/** Reads a PEM file and checks it parses as what it should hold, so a bad file fails at start. */
function readPem(
  name: EnvVar,
  path: string | undefined,
  kind: PemKind,
  readFile: (path: string) => string,
  problems: string[],
): string | undefined {
  if (path === undefined) return undefined
  let text: string
  try {
    text = readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    problems.push(`${name} expects ${VARIABLES[name].expects}; cannot read ${path} (${code})`)
    return undefined
  }
  try {
    if (kind === 'key') createPrivateKey(text)
    else {
      const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
      if (blocks.length === 0) throw new Error('no certificate')
      for (const block of blocks) new X509Certificate(block)
    }
  } catch {
    // Never quote the content: a key file is a secret.
    problems.push(
      `${name} expects ${VARIABLES[name].expects}; ${path} holds no valid PEM ${kind === 'key' ? 'private key' : 'certificate'}`,
    )
    return undefined
  }
  return text
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/**
 * Parses the service configuration from an environment object (tests pass literals; the CLI
 * passes process.env merged with its flags). Throws one ConfigError whose message is a single
 * line naming every bad variable and what it expects, never quoting a secret.
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  options: ParseConfigOptions = {},
): Config {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'))
  const problems: string[] = []
  const values = {} as { [K in EnvVar]: z.output<(typeof VARIABLES)[K]['schema']> }

  for (const name of ENV_VARS) {
    const v: Variable<unknown> = VARIABLES[name]
    const given = env[name]
    const raw = given === undefined || given.trim() === '' ? v.default : given
    if (raw === undefined) {
      ;(values as Record<string, unknown>)[name] = undefined
      continue
    }
    const result = v.schema.safeParse(raw)
    if (result.success) (values as Record<string, unknown>)[name] = result.data
    else problems.push(describe(name, raw, result.error))
  }

  let url: UrlParts | undefined
  if (values.REDIS_URL !== undefined) {
    const parsed = parseRedisUrl(values.REDIS_URL)
    if (typeof parsed === 'string')
      problems.push(`REDIS_URL expects ${VARIABLES.REDIS_URL.expects}; ${parsed}`)
    else url = parsed
  }
  const password =
    values.REDIS_PASSWORD_FILE !== undefined
      ? readSecret('REDIS_PASSWORD_FILE', values.REDIS_PASSWORD_FILE, readFile, problems)
      : url?.password
  const sentinelPassword =
    values.REDIS_SENTINEL_PASSWORD_FILE !== undefined
      ? readSecret('REDIS_SENTINEL_PASSWORD_FILE', values.REDIS_SENTINEL_PASSWORD_FILE, readFile, problems)
      : undefined
  const sentinels = values.REDIS_SENTINELS ?? []
  if (values.REDIS_CLUSTER && sentinels.length > 0)
    problems.push(
      'REDIS_CLUSTER expects false when REDIS_SENTINELS is set (a Redis Cluster has no Sentinels)',
    )
  if (values.REDIS_CLUSTER && url && url.db !== 0)
    problems.push('REDIS_URL expects database 0 with REDIS_CLUSTER=true (a Redis Cluster has only db 0)')
  if ((values.REDIS_TLS_CERT_FILE === undefined) !== (values.REDIS_TLS_KEY_FILE === undefined))
    problems.push(
      'REDIS_TLS_CERT_FILE expects REDIS_TLS_KEY_FILE beside it (a client certificate needs its key)',
    )
  const tls: TlsSettings = {
    ca: readPem('REDIS_TLS_CA_FILE', values.REDIS_TLS_CA_FILE, 'certificates', readFile, problems),
    cert: readPem('REDIS_TLS_CERT_FILE', values.REDIS_TLS_CERT_FILE, 'certificates', readFile, problems),
    key: readPem('REDIS_TLS_KEY_FILE', values.REDIS_TLS_KEY_FILE, 'key', readFile, problems),
    serverName: values.REDIS_TLS_SERVER_NAME,
    insecureSkipVerify: values.REDIS_TLS_INSECURE_SKIP_VERIFY,
  }

  const s = values
  for (const pattern of s.SCRAPE_TARGETS ?? []) {
    const problem = patternProblem(pattern)
    if (problem) problems.push(`SCRAPE_TARGETS expects ${VARIABLES.SCRAPE_TARGETS.expects}; ${problem}`)
  }
  const targetPasswords = readTargetPasswords(s.REDIS_TARGET_PASSWORDS_FILE, readFile, problems)
  if (
    s.STATUS_MEMORY_WARNING_PERCENT !== undefined &&
    s.STATUS_MEMORY_CRITICAL_PERCENT !== undefined &&
    s.STATUS_MEMORY_WARNING_PERCENT > s.STATUS_MEMORY_CRITICAL_PERCENT
  ) {
    problems.push(
      'STATUS_MEMORY_WARNING_PERCENT expects a value no higher than STATUS_MEMORY_CRITICAL_PERCENT',
    )
  }
  if (
    s.STATUS_LATENCY_WARNING_MS !== undefined &&
    s.STATUS_LATENCY_CRITICAL_MS !== undefined &&
    s.STATUS_LATENCY_WARNING_MS > s.STATUS_LATENCY_CRITICAL_MS
  ) {
    problems.push('STATUS_LATENCY_WARNING_MS expects a value no higher than STATUS_LATENCY_CRITICAL_MS')
  }

  if (s.HISTORY_FILE !== undefined && !(options.sqliteAvailable ?? sqliteAvailable)()) {
    problems.push(
      `HISTORY_FILE expects ${SQLITE_NODE_VERSIONS} for node:sqlite; this is Node.js ${process.versions.node} (unset HISTORY_FILE to keep history in memory)`,
    )
  }
  if (s.HEALTH_PORT !== undefined && s.HEALTH_PORT === s.PORT)
    problems.push(`HEALTH_PORT expects ${VARIABLES.HEALTH_PORT.expects} (both are ${s.PORT})`)

  if (problems.length > 0 || !url) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)

  const redis = createEndpoint({
    topology: sentinels.length > 0 ? 'sentinel' : s.REDIS_CLUSTER ? 'cluster' : 'standalone',
    node: url.node,
    username: url.username,
    password,
    db: url.db,
    tls: url.tls ? tls : undefined,
    sentinel:
      sentinels.length > 0
        ? { nodes: sentinels, masterName: s.REDIS_SENTINEL_MASTER, password: sentinelPassword }
        : undefined,
    readFromReplicas: s.REDIS_READ_FROM_REPLICAS,
  })

  const basic = s.METRICS_BASIC_AUTH
  const colon = basic?.indexOf(':') ?? -1
  const config: Config = {
    redis,
    tls,
    host: s.HOST,
    port: s.PORT,
    logLevel: s.LOG_LEVEL,
    logFormat: s.LOG_FORMAT,
    pool: {
      name: s.POOL_NAME,
      size: s.POOL_SIZE,
      probeIntervalMs: s.PROBE_INTERVAL_MS,
      commandTimeoutMs: s.COMMAND_TIMEOUT_MS,
    },
    scrapeTimeoutSeconds: s.SCRAPE_TIMEOUT_SECONDS,
    metricsAuth: {
      bearerToken: s.METRICS_BEARER_TOKEN,
      basic: basic ? { user: basic.slice(0, colon), password: basic.slice(colon + 1) } : undefined,
    },
    keyGroups: {
      patterns: s.KEY_GROUPS ?? [],
      auto: s.KEY_GROUPS_AUTO,
      intervalMs: s.KEY_GROUPS_INTERVAL_MS,
      maxGroups: s.KEY_GROUPS_MAX,
    },
    status: {
      memoryWarningPercent: s.STATUS_MEMORY_WARNING_PERCENT,
      memoryCriticalPercent: s.STATUS_MEMORY_CRITICAL_PERCENT,
      latencyWarningMs: s.STATUS_LATENCY_WARNING_MS,
      latencyCriticalMs: s.STATUS_LATENCY_CRITICAL_MS,
      hitRateWarningPercent: s.STATUS_HIT_RATE_WARNING_PERCENT,
      hitRateCriticalPercent: s.STATUS_HIT_RATE_CRITICAL_PERCENT,
      historySize: s.STATUS_HISTORY_SIZE,
    },
    history: {
      file: s.HISTORY_FILE,
      retentionMs: s.HISTORY_RETENTION,
      intervalMs: s.STATUS_HISTORY_INTERVAL_MS,
    },
    autoMemoryPurge: { enabled: s.AUTO_MEMORY_PURGE, minIntervalMs: s.AUTO_MEMORY_PURGE_MIN_INTERVAL_MS },
    pressure: { maxEventLoopDelayMs: s.MAX_EVENT_LOOP_DELAY_MS, maxHeapUsedPercent: s.MAX_HEAP_USED_PERCENT },
    workload: s.BENCH_POOL_LOAD,
    connections: { max: s.MAX_CONNECTIONS, healthPort: s.HEALTH_PORT },
    scrape: { targets: s.SCRAPE_TARGETS ?? [], maxTargets: s.SCRAPE_TARGETS_MAX, passwords: targetPasswords },
  }
  return deepFreeze(config)
}
