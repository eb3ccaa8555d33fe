import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redis-server.js'
import { ENTRY, ROOT } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'
import { runView } from './support.js'

const execFileAsync = promisify(execFile)

// A tmux server of this test file's own (-L socket name), so other tmux users are never touched.
const SOCKET = `rpm-views-top-${process.pid}`
const tmux = async (...args: string[]) =>
  (await execFileAsync('tmux', ['-L', SOCKET, ...args], { timeout: 10_000 })).stdout

const capture = (session: string) => tmux('capture-pane', '-p', '-t', session)
const flag = async (session: string, name: string) =>
  (await tmux('display', '-p', '-t', session, `#{${name}}`)).trim()

let redis: RedisServer
let sessions = 0

/**
 * Starts `top` in a detached tmux session of a fixed size. The shell prints a marker first (it
 * must be back on screen after exit) and the exit code after, then stays so the pane can be read.
 */
async function startTop(extra: string[] = [], size = { columns: 100, rows: 30 }): Promise<string> {
  const session = `top${++sessions}`
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`
  const command = [
    'printf "BEFORE-TOP\\n";',
    process.execPath,
    quote(ENTRY),
    'top --interval 1',
    '--redis-url',
    quote(redis.url),
    ...extra.map(quote),
    '; echo "EXIT=$?"; exec sleep 300',
  ].join(' ')
  await tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    String(size.columns),
    '-y',
    String(size.rows),
    '-c',
    ROOT,
    command,
  )
  return session
}

beforeAll(async () => {
  // npm test's pretest (scripts/ensure-system-tools.js) installs tmux: missing, this file fails, never skips.
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' })
  } catch {
    throw new Error(
      'tmux is missing: run node scripts/ensure-system-tools.js (npm test does) or apt-get install tmux',
    )
  }
  redis = await startRedis()
  const keys = Array.from({ length: 50 }, (_, i) => [`user:${i}`, 'x'.repeat(100)]).flat()
  await redis.cli('MSET', ...keys)
  await redis.cli('SET', 'session:1', 'abc')
})

afterAll(async () => {
  await tmux('kill-server').catch(() => undefined)
  await redis?.stop()
})

describe('redis-pool-monitor top in a real terminal (tmux)', () => {
  it('draws the dashboard on the alternate screen, fills the sparklines, follows a resize and restores the terminal on q', async () => {
    const session = await startTop(['--key-groups', 'user:*,session:*'])
    const screen = await waitFor(
      async () => {
        const text = await capture(session)
        return /^Status\s+OK/m.test(text) && text.includes('user:*') ? text : undefined
      },
      { timeoutMs: 20_000, what: 'the dashboard with its key groups' },
    )
    expect(await flag(session, 'alternate_on')).toBe('1')
    expect(screen).not.toContain('BEFORE-TOP')
    expect(screen).toContain('redis-pool-monitor top')
    expect(screen).toMatch(/Redis \d+\.\d+\.\d+ {2}up /)
    expect(screen).toMatch(/^Memory\s+·+\s+n\/a\s+[\d.]+ (KiB|MiB) used, no maxmemory/m)
    expect(screen).toMatch(/^Now\s+\d+ ops\/s\s+\d+ clients\s+51 keys\s+latency [\d.]+ ms/m)
    expect(screen).toMatch(/^ {2}user:\*\s+50 keys/m)
    expect(screen).toMatch(/^ {2}session:\*\s+1 keys/m)

    // Sparklines grow one sample per --interval.
    const trend = /^Memory\s+([▁▂▃▄▅▆▇█ ]+?)\s+([\d.]+ (?:KiB|MiB))$/m
    await waitFor(
      async () => {
        const match = trend.exec(await capture(session))
        return match && match[1]!.trim().length >= 3
      },
      { timeoutMs: 20_000, what: 'three samples in the memory sparkline' },
    )
    const wide = (await capture(session)).split('\n').find((l) => trend.test(l))!
    expect(wide.length).toBeGreaterThan(80)

    await tmux('resize-window', '-t', session, '-x', '60', '-y', '20')
    const narrow = await waitFor(
      async () => {
        const line = (await capture(session)).split('\n').find((l) => trend.test(l))
        return line && line.length <= 60 ? line : undefined
      },
      { timeoutMs: 10_000, what: 'the layout to follow the narrower terminal' },
    )
    // Redrawn to the new width (value still at the end), not wrapped or cut.
    expect(narrow).toMatch(trend)

    await tmux('send-keys', '-t', session, 'q')
    const after = await waitFor(
      async () => {
        const text = await capture(session)
        return text.includes('EXIT=0') ? text : undefined
      },
      { timeoutMs: 10_000, what: 'top to exit after q' },
    )
    expect(await flag(session, 'alternate_on')).toBe('0')
    expect(await flag(session, 'cursor_flag')).toBe('1')
    expect(after).toContain('BEFORE-TOP')
    expect(after).not.toContain('redis-pool-monitor top')
  })

  /** The pid of `top` itself: the node child of the pane's shell. */
  const topPid = async (session: string): Promise<number> => {
    const shell = (await tmux('display', '-p', '-t', session, '#{pane_pid}')).trim()
    const { stdout } = await execFileAsync('ps', ['-o', 'pid=', '--ppid', shell])
    return Number(stdout.trim().split(/\s+/)[0])
  }

  const quitBy: Array<[string, (session: string) => Promise<unknown>]> = [
    ['Ctrl+C', (session) => tmux('send-keys', '-t', session, 'C-c')],
    ['Esc', (session) => tmux('send-keys', '-t', session, 'Escape')],
    ['SIGTERM', async (session) => process.kill(await topPid(session), 'SIGTERM')],
  ]
  it.each(quitBy)('quits on %s the same way, exit 0 and the terminal restored', async (_, quit) => {
    const session = await startTop()
    await waitFor(async () => /^Status\s+OK/m.test(await capture(session)), {
      timeoutMs: 20_000,
      what: 'the dashboard',
    })
    await quit(session)
    const after = await waitFor(
      async () => {
        const text = await capture(session)
        return text.includes('EXIT=0') ? text : undefined
      },
      { timeoutMs: 10_000, what: 'top to exit' },
    )
    expect(await flag(session, 'alternate_on')).toBe('0')
    expect(await flag(session, 'cursor_flag')).toBe('1')
    expect(after).toContain('BEFORE-TOP')
    expect(after).not.toContain('redis-pool-monitor top')
  })

  it('refuses to run without a terminal and points to status --watch', async () => {
    const result = await runView(['top', '--redis-url', redis.url])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('needs an interactive terminal')
    expect(result.stderr).toContain('status --watch')
  })

  it('keeps running and says UNREACHABLE while Redis is down', async () => {
    const session = await startTop()
    await waitFor(async () => /^Status\s+OK/m.test(await capture(session)), {
      timeoutMs: 20_000,
      what: 'the dashboard',
    })
    await redis.kill()
    const down = await waitFor(
      async () => {
        const text = await capture(session)
        return /^Status\s+UNREACHABLE/m.test(text) ? text : undefined
      },
      { timeoutMs: 20_000, what: 'UNREACHABLE on the dashboard' },
    )
    expect(down).toContain('retrying every 1s')
    await tmux('send-keys', '-t', session, 'q')
    await waitFor(async () => (await capture(session)).includes('EXIT=0'), {
      timeoutMs: 10_000,
      what: 'top to exit after q with Redis down',
    })
    expect(await flag(session, 'alternate_on')).toBe('0')
  })
})
