import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REDIS_DEPLOY_DIR } from './support.js'

/** One directive of a redis.conf or sentinel.conf: its name (lower case) and its arguments. */
export interface Directive {
  name: string
  args: string
}

/** The directives of a config file in order, without comments and blank lines. */
export function directives(text: string): Directive[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [name, ...rest] = line.split(/\s+/)
      return { name: name!.toLowerCase(), args: rest.join(' ') }
    })
}

/** The value Redis ends up with for a single-valued directive: the last occurrence wins. */
export function setting(text: string, name: string): string | undefined {
  return directives(text)
    .filter((d) => d.name === name)
    .at(-1)?.args
}

/** `sentinel <sub> <master> <value>` lines of a sentinel.conf as sub -> value. */
export function sentinelSettings(text: string): Record<string, string> {
  return Object.fromEntries(
    directives(text)
      .filter((d) => d.name === 'sentinel')
      .map((d) => {
        const [sub, ...rest] = d.args.split(' ')
        return [sub!, rest.join(' ')]
      }),
  )
}

/** Redis memory units: k/m/g are powers of 1000, kb/mb/gb of 1024. */
export function redisBytes(size: string): number {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(size)
  if (!m) throw new Error(`not a Redis size: ${size}`)
  const unit = { b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 }
  return Number(m[1]) * unit[(m[2] ?? 'b').toLowerCase() as keyof typeof unit]
}

/** What the memory limit of Redis must be: twice maxmemory (a fork may copy every page) plus 256 MiB. */
export const memoryCeilingMiB = (maxmemoryBytes: number) => Math.ceil((2 * maxmemoryBytes) / 1024 ** 2) + 256

/** Runs setup-redis.sh under --root in a fresh tree and returns the redis.conf it installs. */
export function hostInstalledConf(...args: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'rpm-redis-installed-'))
  try {
    mkdirSync(join(root, 'etc'))
    const run = spawnSync('bash', [join(REDIS_DEPLOY_DIR, 'setup-redis.sh'), '--root', root, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    })
    if (run.status !== 0) throw new Error(`setup-redis.sh failed: ${run.stderr}`)
    return readFileSync(join(root, 'etc/redis/redis.conf'), 'utf8')
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

/**
 * deploy/redis/kubernetes/init.sh for `role`, as an init container runs it: the ConfigMap's files
 * from deploy/redis, the password from `passwordFile`, the result written to `target`.
 */
export function runInitScript(
  role: string,
  paths: { passwordFile: string; target: string },
  env: Record<string, string>,
) {
  return spawnSync('sh', [join(REDIS_DEPLOY_DIR, 'kubernetes', 'init.sh'), role], {
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      ...process.env,
      PASSWORD_FILE: paths.passwordFile,
      SOURCE_DIR: REDIS_DEPLOY_DIR,
      TARGET: paths.target,
      ...env,
    },
  })
}
