import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, startRedis } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import { REDIS_DEPLOY_DIR } from './support.js'

// deploy/redis/setup-redis.sh and rollback-redis.sh run for real under --root in a throwaway
// tree, and the redis.conf setup generates runs a real redis-server.

const execFileAsync = promisify(execFile)
const SETUP = join(REDIS_DEPLOY_DIR, 'setup-redis.sh')
const ROLLBACK = join(REDIS_DEPLOY_DIR, 'rollback-redis.sh')
const SCRIPTS = [
  SETUP,
  ROLLBACK,
  join(REDIS_DEPLOY_DIR, 'host-lib.sh'),
  join(REDIS_DEPLOY_DIR, 'kubernetes/init.sh'),
  join(REDIS_DEPLOY_DIR, 'kubernetes/probe.sh'),
]
const UNIT = join(REDIS_DEPLOY_DIR, 'redis-server.service')
const HOST_LIB = join(REDIS_DEPLOY_DIR, 'host-lib.sh')
const BACKUPS = 'var/backups/redis-setup'

/** What a Debian host has before setup: the package's redis.conf and an application env file. */
const DEBIAN_CONF = 'bind 127.0.0.1 -::1\nport 6379\ndaemonize yes\nlogfile /var/log/redis/redis-server.log\n'
const APP_ENV = 'NODE_ENV=production\nREDIS_URL=redis://old-host:6379/0\nLOG_LEVEL=info'

const work = mkdtempSync(join(tmpdir(), 'rpm-redis-host-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
let trees = 0

/** A fresh --root tree with the Debian files (modes and times set, to see them restored). */
function debianTree(): string {
  const root = join(work, `root-${++trees}`)
  mkdirSync(join(root, 'etc/redis'), { recursive: true })
  mkdirSync(join(root, 'srv/app'), { recursive: true })
  writeFileSync(join(root, 'etc/redis/redis.conf'), DEBIAN_CONF, { mode: 0o640 })
  writeFileSync(join(root, 'srv/app/.env'), APP_ENV, { mode: 0o644 })
  chmodSync(join(root, 'etc/redis/redis.conf'), 0o640)
  chmodSync(join(root, 'srv/app/.env'), 0o644)
  const past = new Date('2024-01-02T03:04:05Z')
  utimesSync(join(root, 'etc/redis/redis.conf'), past, past)
  utimesSync(join(root, 'srv/app/.env'), past, past)
  return root
}

interface Entry {
  type: 'file' | 'dir'
  mode: number
  bytes?: string
  mtimeMs?: number
}

/** Every file (bytes, mode, mtime) and directory (mode) under root, except the backups. */
function snapshot(root: string): Record<string, Entry> {
  const out: Record<string, Entry> = {}
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name
      if (path === 'var' || path.startsWith('var/')) continue
      const st = lstatSync(join(root, path))
      if (st.isDirectory()) {
        out[path] = { type: 'dir', mode: st.mode & 0o7777 }
        walk(path)
      } else {
        const bytes = readFileSync(join(root, path)).toString('base64')
        out[path] = { type: 'file', mode: st.mode & 0o7777, bytes, mtimeMs: st.mtimeMs }
      }
    }
  }
  walk('')
  return out
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** bash by its absolute path, so a PATH of shims sees every program the script runs, not bash. */
const BASH = spawnSync('sh', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim()

function run(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  const r = spawnSync(BASH, [script, ...args], { encoding: 'utf8', env, timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const setup = (root: string, ...args: string[]) =>
  run(SETUP, ['--root', root, '--app-env', '/srv/app/.env', ...args])
const rollback = (root: string, ...args: string[]) => run(ROLLBACK, ['--root', root, ...args])
const installedConf = (root: string) => readFileSync(join(root, 'etc/redis/redis.conf'), 'utf8')
const passwordOf = (root: string) => /^requirepass (\S+)$/m.exec(installedConf(root))![1]!
const backups = (root: string) =>
  existsSync(join(root, BACKUPS)) ? readdirSync(join(root, BACKUPS)).sort() : []

describe('setup-redis.sh and rollback-redis.sh under --root', () => {
  it('setup writes redis.conf and the app env file 0600 with one generated password, and the unit 0644', () => {
    const root = debianTree()
    const result = setup(root)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)

    const password = passwordOf(root)
    expect(password).toMatch(/^[0-9a-f]{64}$/)
    expect(statSync(join(root, 'etc/redis/redis.conf')).mode & 0o777).toBe(0o600)
    expect(statSync(join(root, 'srv/app/.env')).mode & 0o777).toBe(0o600)
    expect(statSync(join(root, 'etc/systemd/system/redis-server.service')).mode & 0o777).toBe(0o644)
    // The env file keeps its other lines in place; REDIS_URL points at loopback with that password.
    expect(readFileSync(join(root, 'srv/app/.env'), 'utf8')).toBe(
      `NODE_ENV=production\nREDIS_URL=redis://:${password}@127.0.0.1:6379/0\nLOG_LEVEL=info\n`,
    )
    // The installed unit is the repository's (MemoryMax already matches the default maxmemory).
    expect(readFileSync(join(root, 'etc/systemd/system/redis-server.service'), 'utf8')).toBe(
      readFileSync(UNIT, 'utf8'),
    )
  })

  it('rollback restores every file byte for byte (mode and times too) and removes what setup added', () => {
    const root = debianTree()
    const before = snapshot(root)
    expect(setup(root).code).toBe(0)
    expect(snapshot(root)).not.toEqual(before)

    const result = rollback(root)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(snapshot(root)).toEqual(before)
    // The backup stays, marked so that a second rollback does not apply it again.
    expect(backups(root)).toEqual([expect.stringMatching(/^\d{8}T\d{6}Z\.rolled-back$/)])
    const again = rollback(root)
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/nothing to roll back/)
    expect(snapshot(root)).toEqual(before)
  })

  it('a second setup run with the same options changes nothing and keeps the password', () => {
    const root = debianTree()
    expect(setup(root).code).toBe(0)
    const first = snapshot(root)
    const password = passwordOf(root)

    const second = setup(root)
    expect(second.code).toBe(0)
    expect(second.stdout).toMatch(/nothing to change/)
    expect(snapshot(root)).toEqual(first)
    expect(passwordOf(root)).toBe(password)
    expect(backups(root)).toHaveLength(1)
  })

  it('rollback after a second, changing run undoes that run only, then the first', () => {
    const root = debianTree()
    const before = snapshot(root)
    expect(setup(root).code).toBe(0)
    const afterFirst = snapshot(root)
    expect(setup(root, '--maxmemory', '1gb').code).toBe(0)
    expect(installedConf(root)).toMatch(/^maxmemory 1gb$/m)

    expect(rollback(root).code).toBe(0)
    expect(snapshot(root)).toEqual(afterFirst)
    expect(rollback(root).code).toBe(0)
    expect(snapshot(root)).toEqual(before)
  })

  it('--dry-run writes nothing, before and after a real run', () => {
    const root = debianTree()
    const before = snapshot(root)
    const dry = setup(root, '--dry-run')
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/would back up and replace .*\/etc\/redis\/redis\.conf/)
    expect(dry.stdout).toMatch(/would create .*\/etc\/systemd\/system\/redis-server\.service/)
    expect(snapshot(root)).toEqual(before)
    expect(existsSync(join(root, 'var'))).toBe(false)

    expect(setup(root).code).toBe(0)
    const installed = snapshot(root)
    expect(setup(root, '--dry-run', '--maxmemory', '512mb').code).toBe(0)
    expect(rollback(root, '--dry-run').code).toBe(0)
    expect(snapshot(root)).toEqual(installed)
    expect(backups(root)).toHaveLength(1)
  })

  it('--maxmemory and --maxmemory-policy replace redis.conf lines and MemoryMax follows', () => {
    const root = debianTree()
    expect(setup(root, '--maxmemory', '1gb', '--maxmemory-policy', 'allkeys-lfu').code).toBe(0)
    const conf = installedConf(root)
    expect(conf.match(/^maxmemory .*$/gm)).toEqual(['maxmemory 1gb'])
    expect(conf.match(/^maxmemory-policy .*$/gm)).toEqual(['maxmemory-policy allkeys-lfu'])
    // 2 x 1 GiB + 256 MiB.
    const unit = readFileSync(join(root, 'etc/systemd/system/redis-server.service'), 'utf8')
    expect(unit.match(/^MemoryMax=.*$/gm)).toEqual(['MemoryMax=2304M'])
  })

  it.each([
    [['--maxmemory', 'lots'], /^setup-redis: --maxmemory expects a size such as 256mb or 1gb, got: lots\n$/],
    [
      ['--maxmemory-policy', 'lru'],
      /^setup-redis: --maxmemory-policy expects one of: noeviction .*; got: lru\n$/,
    ],
    [
      ['--app-env', 'relative/.env'],
      /^setup-redis: --app-env expects an absolute path, got: relative\/\.env\n$/,
    ],
    [['--frobnicate'], /^setup-redis: unknown option: --frobnicate \(see --help\)\n$/],
  ])('refuses %j with one line on stderr, changing nothing', (args, message) => {
    const root = debianTree()
    const before = snapshot(root)
    const result = setup(root, ...args)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(message)
    expect(snapshot(root)).toEqual(before)
  })

  it('never puts the password on stdout, stderr or any command line', () => {
    // Every program on PATH is replaced by a shim that logs its argument list and runs the real one.
    const shims = join(work, 'shims')
    const log = join(work, 'argv.log')
    mkdirSync(shims)
    const dispatcher = join(work, 'log-argv.sh')
    writeFileSync(
      dispatcher,
      [
        '#!/bin/sh',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
        'name=${0##*/}',
        'printf \'%s\\n\' "$name $*" >> "$ARGV_LOG"',
        'IFS=:',
        'for dir in $REAL_PATH; do [ -x "$dir/$name" ] && exec "$dir/$name" "$@"; done',
        'exit 127',
        '',
      ].join('\n'),
      { mode: 0o755 },
    )
    const realPath = process.env['PATH'] ?? ''
    for (const dir of realPath.split(delimiter)) {
      if (!dir.startsWith('/') || !existsSync(dir)) continue
      for (const name of readdirSync(dir)) {
        if (!existsSync(join(shims, name))) symlinkSync(dispatcher, join(shims, name))
      }
    }
    const env = {
      ...process.env,
      PATH: `${shims}${delimiter}${realPath}`,
      REAL_PATH: realPath,
      ARGV_LOG: log,
    }

    const root = debianTree()
    const runs = [
      run(SETUP, ['--root', root, '--app-env', '/srv/app/.env', '--dry-run'], env),
      run(SETUP, ['--root', root, '--app-env', '/srv/app/.env'], env),
      run(SETUP, ['--root', root, '--app-env', '/srv/app/.env'], env),
    ]
    const password = passwordOf(root)
    runs.push(run(ROLLBACK, ['--root', root], env))
    for (const r of runs) expect(r.code).toBe(0)

    const argv = readFileSync(log, 'utf8')
    expect(argv).toMatch(/^openssl rand -hex 32$/m) // the shims saw the programs run
    expect(argv).toMatch(/^mktemp /m)
    for (const r of runs) {
      expect(r.stdout).not.toMatch(/[0-9a-f]{32}/)
      expect(r.stderr).not.toMatch(/[0-9a-f]{32}/)
    }
    expect(argv).not.toMatch(/[0-9a-f]{32}/)
    expect(argv).not.toContain(password)
  })
})

describe('shell and unit checks', () => {
  it.each(SCRIPTS)('shellcheck finds nothing in %s', (script) => {
    const result = spawnSync('shellcheck', ['--external-sources', script], {
      encoding: 'utf8',
      cwd: join(REDIS_DEPLOY_DIR, '../..'),
    })
    expect(result.error, 'shellcheck is missing: npm test installs it (scripts/ensure-system-tools.js)').toBe(
      undefined,
    )
    expect(`${result.stdout}${result.stderr}`).toBe('')
    expect(result.status).toBe(0)
  })

  it('shellcheck would report an unquoted expansion', () => {
    const broken = join(work, 'broken-setup.sh')
    copyFileSync(SETUP, broken)
    writeFileSync(broken, `${readFileSync(broken, 'utf8')}\nrm -rf $STAGE/x\n`)
    const result = spawnSync('shellcheck', ['--external-sources', broken], {
      encoding: 'utf8',
      cwd: join(REDIS_DEPLOY_DIR, '../..'),
    })
    expect(result.stdout).toMatch(/SC2086/)
    expect(result.status).not.toBe(0)
  })

  it('both scripts are executable and start with set -euo pipefail', () => {
    for (const script of [SETUP, ROLLBACK]) {
      expect(statSync(script).mode & 0o111).toBe(0o111)
      const [shebang, ...rest] = readFileSync(script, 'utf8').split('\n')
      expect(shebang).toBe('#!/usr/bin/env bash')
      expect(rest.find((l) => /^[a-z]/.test(l))).toBe('set -euo pipefail')
    }
  })

  // systemd-analyze is installed by npm test's pretest (Debian package `systemd`).
  it.each([
    ['the repository unit', () => UNIT],
    [
      'the unit setup installs for --maxmemory 1gb',
      () => {
        const root = debianTree()
        expect(setup(root, '--maxmemory', '1gb').code).toBe(0)
        return join(root, 'etc/systemd/system/redis-server.service')
      },
    ],
  ])('systemd-analyze verify passes %s without a diagnostic, security rates it 2.0 or lower', (_, unit) => {
    const copy = join(mkdtempSync(join(work, 'unit-')), 'redis-server.service')
    copyFileSync(unit(), copy)
    const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 60_000 })
    expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('')
    expect(verify.status).toBe(0)
    const security = spawnSync('systemd-analyze', ['security', '--offline=yes', copy], {
      encoding: 'utf8',
      timeout: 60_000,
    })
    const score = /Overall exposure level for .*?: ([\d.]+)/.exec(security.stdout)
    expect(score, security.stdout).not.toBeNull()
    expect(Number(score![1])).toBeLessThanOrEqual(2)
  })

  it('the unit runs Redis as its own user on /etc/redis/redis.conf, notifying systemd when ready', () => {
    const text = readFileSync(UNIT, 'utf8')
    const conf = readFileSync(join(REDIS_DEPLOY_DIR, 'redis.conf'), 'utf8')
    expect(text).toMatch(/^Type=notify$/m)
    expect(conf).toMatch(/^supervised systemd$/m)
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/redis-server \/etc\/redis\/redis\.conf$/m)
    expect(text).toMatch(/^User=redis$/m)
    // StateDirectory=redis is the `dir` of redis.conf, the only place Redis writes.
    expect(text).toMatch(/^StateDirectory=redis$/m)
    expect(conf).toMatch(/^dir \/var\/lib\/redis$/m)
    const maxclients = Number(/^maxclients (\d+)$/m.exec(conf)![1])
    expect(Number(/^LimitNOFILE=(\d+)$/m.exec(text)![1])).toBeGreaterThanOrEqual(maxclients + 32)
  })
})

describe('the redis.conf setup installs, run by a real redis-server', () => {
  let root: string
  let password: string
  let port: number
  let server: ChildProcess
  const cli = async (auth: string | undefined, ...args: string[]) => {
    const env = { ...process.env }
    delete env['REDISCLI_AUTH']
    if (auth !== undefined) env['REDISCLI_AUTH'] = auth
    const { stdout, stderr } = await execFileAsync(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(port), ...args],
      { env, timeout: 10_000 },
    )
    return `${stderr}${stdout}`.trim()
  }
  const config = async (name: string) => (await cli(password, 'CONFIG', 'GET', name)).split('\n')[1]

  beforeAll(async () => {
    root = debianTree()
    expect(setup(root).code).toBe(0)
    password = passwordOf(root)
    port = await freePort()
    const data = mkdtempSync(join(work, 'data-'))
    // The installed file as it is; only the port and the data directory change, on the command line.
    // (test/helpers/redis-server.ts cannot serve here: it sets bind, protected mode and persistence.)
    server = spawn(
      'redis-server',
      [join(root, 'etc/redis/redis.conf'), '--port', String(port), '--dir', data],
      // `supervised systemd` must not reach a systemd that may be running this test.
      { stdio: 'ignore', env: { ...process.env, NOTIFY_SOCKET: '' } },
    )
    await waitFor(async () => (await cli(password, 'PING')) === 'PONG', {
      what: 'redis-server from redis.conf',
    })
  })

  afterAll(async () => {
    if (server.exitCode !== null) return
    const gone = new Promise((r) => server.once('exit', r))
    server.kill('SIGKILL')
    await gone
  })

  it('applies the memory, persistence and connection settings', async () => {
    expect(await config('maxmemory')).toBe(String(256 * 1024 * 1024))
    expect(await config('maxmemory-policy')).toBe('allkeys-lru')
    expect(await config('maxmemory-samples')).toBe('5')
    expect(await config('appendonly')).toBe('yes')
    expect(await config('appendfsync')).toBe('everysec')
    expect(await config('save')).toBe('3600 1 300 100 60 10000')
    expect(await config('tcp-keepalive')).toBe('60')
    expect(await config('maxclients')).toBe('1000')
    expect(await config('protected-mode')).toBe('yes')
  })

  it('requires AUTH: no password and a wrong one are refused, the installed one is accepted', async () => {
    expect(await cli(undefined, 'PING')).toMatch(/^NOAUTH Authentication required/)
    expect(await cli('wrong-password', 'PING')).toMatch(/^AUTH failed: WRONGPASS/)
    expect(await cli(password, 'PING')).toBe('PONG')
    expect(await config('requirepass')).toBe(password)
  })

  it('listens on loopback only', async () => {
    expect(await config('bind')).toBe('127.0.0.1 -::1')
    // The kernel's own table of listening sockets on that port (state 0A), IPv4 and IPv6.
    const tables = ['/proc/net/tcp', '/proc/net/tcp6'].filter((t) => existsSync(t)) // tcp6: IPv6 enabled
    const listening = tables.flatMap((table) =>
      readFileSync(table, 'utf8')
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((f) => f[3] === '0A' && Number.parseInt(f[1]!.split(':')[1]!, 16) === port)
        .map((f) => f[1]!.split(':')[0]!),
    )
    expect(listening.length).toBeGreaterThan(0)
    for (const address of listening) {
      expect(['0100007F', '00000000000000000000000001000000']).toContain(address)
    }
  })

  /** setup-redis.sh's verification phase (host-lib.sh's verify_redis) against a local port. */
  function verify(port: number, password: string, maxmemory: number, policy: string) {
    const file = join(work, 'verify-password')
    writeFileSync(file, password, { mode: 0o600 })
    const script = '. "$1"; PROG=setup-redis; verify_redis "$2" "$(cat "$3")" "$4" "$5"'
    const args = ['-c', script, 'verify', HOST_LIB, String(port), file, String(maxmemory), policy]
    return spawnSync(BASH, args, { encoding: 'utf8', timeout: 60_000 })
  }

  it("passes setup's verification phase, which names what is wrong in one line", async () => {
    const ok = verify(port, password, 256 * 1024 * 1024, 'allkeys-lru')
    expect(ok.stderr).toBe('')
    expect(ok.stdout).toMatch(/^setup-redis: PING: PONG$/m)
    expect(ok.stdout).toMatch(
      new RegExp(`^setup-redis: listening on loopback only: 127\\.0\\.0\\.1:${port}`, 'm'),
    )
    expect(ok.status).toBe(0)

    const policy = verify(port, password, 256 * 1024 * 1024, 'volatile-lru')
    expect(policy.stderr).toBe('setup-redis: maxmemory-policy is allkeys-lru, expected volatile-lru\n')
    expect(policy.status).toBe(1)
    const wrong = verify(port, 'not-the-password', 256 * 1024 * 1024, 'allkeys-lru')
    expect(wrong.stderr).toMatch(
      /^setup-redis: Redis on 127\.0\.0\.1:\d+ refuses the password: AUTH failed: WRONGPASS/,
    )
    expect(wrong.status).toBe(1)
  })

  it('the verification phase fails a Redis that listens beyond loopback', async () => {
    const open = await startRedis({ password, args: ['--bind', '0.0.0.0'] })
    try {
      const result = verify(open.port, password, 0, 'noeviction')
      expect(result.stderr).toBe(
        `setup-redis: Redis listens on 0.0.0.0:${open.port}, expected loopback only\n`,
      )
      expect(result.status).toBe(1)
    } finally {
      await open.stop()
    }
  })
})
