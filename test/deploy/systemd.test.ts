import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ENV_VARS, parseConfig, VARIABLES } from '../../src/config/config.js'
import { imageCommand } from '../helpers/image-command.js'
import { SYSTEMD_DIR } from './support.js'

const UNIT_NAME = 'redis-pool-monitor.service'
const UNIT = readFileSync(join(SYSTEMD_DIR, UNIT_NAME), 'utf8')
const ENV_FILE = readFileSync(join(SYSTEMD_DIR, 'redis-pool-monitor.env.example'), 'utf8')

/** A unit file as `section -> key -> every value` (keys may repeat; an empty value resets a list). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {}
  let current: Record<string, string[]> | undefined
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return
    const header = /^\[([A-Za-z]+)\]$/.exec(line)
    if (header) {
      current = {}
      sections[header[1]!] = current
      return
    }
    const entry = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line)
    if (!entry || !current) throw new Error(`line ${i + 1} is not a "Key=value" inside a section: ${raw}`)
    const key = entry[1]!
    current[key] = [...(current[key] ?? []), entry[2]!]
  })
  return sections
}

/** An EnvironmentFile: `NAME=value` lines, comments and blank lines. */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const entry = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (!entry) throw new Error(`line ${i + 1} is not NAME=value: ${raw}`)
    env[entry[1]!] = entry[2]!
  })
  return env
}

const unit = parseUnit(UNIT)
const service = unit['Service']!
const last = (key: string) => service[key]?.at(-1)
/** Environment= assignments of the unit, NAME -> value. */
const unitEnv = Object.fromEntries(
  (service['Environment'] ?? []).map((e) => {
    const [name, ...value] = e.split('=')
    return [name!, value.join('=')]
  }),
)

// systemd-analyze comes with Debian's `systemd` package, which `npm test`'s pretest installs when
// missing (scripts/ensure-system-tools.js): these always run.
const work = mkdtempSync(join(tmpdir(), 'rpm-systemd-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

/**
 * The unit with ExecStart's program swapped for this machine's node: `verify` checks that the
 * program exists, and /usr/bin/node is where the unit expects it on a server, not necessarily here.
 */
function verifiableCopy(text: string, name = UNIT_NAME): string {
  const path = join(work, name)
  writeFileSync(path, text.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`))
  return path
}

function analyze(...args: string[]) {
  const run = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 60_000, cwd: work })
  return { code: run.status, output: `${run.stdout}${run.stderr}`.trim() }
}

describe('deploy/systemd/redis-pool-monitor.service', () => {
  it('parses as a unit with [Unit], [Service] and [Install] sections', () => {
    expect(Object.keys(unit)).toEqual(['Unit', 'Service', 'Install'])
    expect(unit['Install']!['WantedBy']).toEqual(['multi-user.target'])
  })

  it('passes systemd-analyze verify without a single diagnostic', () => {
    const result = analyze('verify', verifiableCopy(UNIT))
    expect(result.output).toBe('')
    expect(result.code).toBe(0)
  })

  it('verify would report a misspelt or malformed directive', () => {
    const broken = UNIT.replace('ProtectSystem=strict', 'ProtectSystem=strickt\nProtectKernelTunable=yes')
    const result = analyze('verify', verifiableCopy(broken, 'broken.service'))
    expect(result.output).toMatch(/protect system value/i)
    expect(result.output).toMatch(/Unknown key.*ProtectKernelTunable/)
  })

  it('rates as exposure 1.5 ("OK") in systemd-analyze security, as deploy/systemd/README says', () => {
    const result = analyze('security', '--offline=yes', verifiableCopy(UNIT))
    const score = /Overall exposure level for .*?: ([\d.]+)/.exec(result.output)
    expect(score, result.output).not.toBeNull()
    expect(Number(score![1])).toBe(1.5)
  })

  it('restarts on failure with a pause, and stops retrying after 10 failed starts in 10 minutes', () => {
    expect(last('Restart')).toBe('on-failure')
    expect(Number.parseInt(last('RestartSec') ?? '0', 10)).toBeGreaterThanOrEqual(1)
    expect(unit['Unit']!['StartLimitBurst']).toEqual(['10'])
    expect(unit['Unit']!['StartLimitIntervalSec']).toEqual(['600'])
  })

  it('runs node with the image flags on the image entry point, from the release directory', () => {
    const image = imageCommand()
    const [program, ...rest] = last('ExecStart')!.split(/\s+/)
    expect(program).toMatch(/\/node$/)
    expect(rest).toEqual([...image.nodeFlags, `${last('WorkingDirectory')}/${image.entry}`, ...image.args])
  })

  it('sandboxes the service: dynamic user, no privileges, read-only system, no devices or kernel knobs', () => {
    expect(service).toMatchObject({
      DynamicUser: ['yes'],
      NoNewPrivileges: ['yes'],
      ProtectSystem: ['strict'],
      ProtectHome: ['yes'],
      PrivateTmp: ['yes'],
      PrivateDevices: ['yes'],
      ProtectKernelTunables: ['yes'],
      ProtectKernelModules: ['yes'],
      ProtectKernelLogs: ['yes'],
      ProtectControlGroups: ['yes'],
      RestrictAddressFamilies: ['AF_INET AF_INET6 AF_UNIX'],
      SystemCallFilter: ['@system-service'],
      CapabilityBoundingSet: [''],
    })
    expect(last('MemoryMax')).toMatch(/^\d+[KMG]$/)
    // V8 compiles code into memory it then executes: MemoryDenyWriteExecute would kill node.
    expect(service['MemoryDenyWriteExecute']).toBeUndefined()
  })

  it('hands the password over as a credential file named by REDIS_PASSWORD_FILE', () => {
    const [credential, source] = last('LoadCredential')!.split(':')
    expect(source).toMatch(/^\/etc\/redis-pool-monitor\//)
    expect(unitEnv['REDIS_PASSWORD_FILE']).toBe(`%d/${credential}`)
    expect(last('EnvironmentFile')).toBe('/etc/redis-pool-monitor/redis-pool-monitor.env')
  })

  it('sets only variables the config schema knows', () => {
    expect(ENV_VARS).toEqual(expect.arrayContaining(Object.keys(unitEnv)))
  })
})

describe('deploy/systemd/redis-pool-monitor.env.example', () => {
  const env = parseEnvFile(ENV_FILE)

  it('sets only variables the config schema knows', () => {
    expect(Object.keys(env).length).toBeGreaterThan(0)
    expect(ENV_VARS).toEqual(expect.arrayContaining(Object.keys(env)))
  })

  it('holds no secret: no password in REDIS_URL, no token, no password file of its own', () => {
    for (const [name, value] of Object.entries(env)) {
      if (name === 'REDIS_URL') expect(new URL(value).password).toBe('')
      else expect(VARIABLES[name as keyof typeof VARIABLES]?.secret ?? false, name).toBe(false)
    }
    expect(env['REDIS_PASSWORD_FILE']).toBeUndefined()
  })

  it('together with the unit is a configuration the service accepts', () => {
    const config = parseConfig(
      { ...env, REDIS_PASSWORD_FILE: '/run/credentials/redis-pool-monitor.service/redis-password' },
      { readFile: () => 'placeholder\n' },
    )
    expect(config.port).toBe(9122)
    expect(config.redis.options.password).toBe('placeholder')
  })
})
