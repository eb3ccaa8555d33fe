import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const typesNode = (
  JSON.parse(readFileSync(join(root, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as {
    version: string
  }
).version

/** Runs a command and resolves with its exit code and output, whatever the code. */
async function exec(file: string, args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, maxBuffer: 16 << 20 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

// The tarball `npm pack` makes from the build `npm test` ran (scripts skipped: its prepack would
// rebuild dist/ under the feet of the other test files), installed as a user installs it, in a
// project of its own, as a library-only user does: optional dependencies (ink, react) left out.
describe('the npm package, installed from its tarball outside the repository', () => {
  let dir: string
  let files: string[]
  const bin = () => join(dir, 'node_modules', '.bin', 'redis-pool-monitor')

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rpm-package-'))
    await run(process.execPath, [join(root, 'scripts', 'build-if-needed.js')], { cwd: root })
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: root,
    })
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
    files = info!.files.map((f) => f.path)
    writeFileSync(join(dir, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n')
    await run(
      'npm',
      [
        'install',
        join(dir, info!.filename),
        `@types/node@${typesNode}`,
        '--omit=optional',
        '--prefer-offline',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
      ],
      { cwd: dir },
    )
  }, 180_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('ships the build, the bin, the page, LICENSE, README and CHANGELOG, and no sources, tests or maps', () => {
    for (const path of ['dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'bin/redis-pool-monitor.js'])
      expect(files).toContain(path)
    for (const path of ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']) expect(files).toContain(path)
    expect(files.some((f) => f.startsWith('public/'))).toBe(true)
    expect(files.filter((f) => /^(src|test|bench)\/|\.map$/.test(f))).toEqual([])
  })

  it('prints the package version for --version and -v', async () => {
    for (const flag of ['--version', '-v']) {
      const { code, stdout } = await exec(bin(), [flag], dir)
      expect({ code, stdout }).toEqual({ code: 0, stdout: `${pkg.version}\n` })
    }
  })

  it('exports every name the README tells users to import from redis-pool-monitor', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const promised = [...readme.matchAll(/import \{([^}]+)\} from 'redis-pool-monitor'/g)].flatMap((m) =>
      m[1]!
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== '' && !name.startsWith('type ')),
    )
    expect(promised).toEqual(expect.arrayContaining(['createPoolMonitor', 'ENV_VARS']))
    const script = `const m = await import('redis-pool-monitor'); console.log(JSON.stringify(Object.keys(m)))`
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], dir)
    expect(JSON.parse(stdout)).toEqual(expect.arrayContaining(promised))
  })

  it('works as a library without the optional terminal UI, and top says which packages to install', async () => {
    expect(files).toContain('dist/views/top.js')
    await expect(exec(process.execPath, ['-e', "require.resolve('ink')"], dir)).resolves.toMatchObject({
      code: 1,
    })
    const { code, stderr } = await exec(bin(), ['top'], dir)
    expect(code).toBe(2)
    expect(stderr).toBe(
      'redis-pool-monitor top: needs the optional packages ink and react (left out by --omit=optional): npm install ink@^6 react@^19\n',
    )
  })

  it('serves without the optional terminal UI installed: serve never loads ink or react', async () => {
    const port = await freePort()
    const child = spawn(process.execPath, [bin(), 'serve'], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    })
    try {
      const live = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => undefined)
          return res?.status === 200 ? res.json() : undefined
        },
        { timeoutMs: 20_000, what: 'serve to answer /health/live' },
      )
      expect(live).toEqual({ status: 'ok' })
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('has type declarations that compile with skipLibCheck false under bundler, node16 and node10 resolution', async () => {
    writeFileSync(
      join(dir, 'consumer.ts'),
      [
        "import { Registry } from 'prom-client'",
        "import { createPoolMonitor, createScrape, ENV_VARS, PoolExhaustedError, SERVER_COLLECTORS, type PoolMonitor } from 'redis-pool-monitor'",
        'const names: readonly string[] = ENV_VARS',
        "const code: 'RPM_POOL_EXHAUSTED' = new PoolExhaustedError(100).code",
        'export { names, code, createPoolMonitor, createScrape, SERVER_COLLECTORS, Registry }',
        'export type { PoolMonitor }',
        '',
      ].join('\n'),
    )
    const common = [
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      'false',
      '--target',
      'es2022',
      '--types',
      'node',
    ]
    const modes = [
      ['--moduleResolution', 'bundler', '--module', 'esnext'],
      ['--moduleResolution', 'node16', '--module', 'node16'],
      // A CommonJS project: pino's and zod's own declarations need esModuleInterop there.
      ['--moduleResolution', 'node10', '--module', 'commonjs', '--esModuleInterop'],
    ]
    const results = await Promise.all(
      modes.map(async (mode) => {
        const { code, stdout } = await exec(process.execPath, [tsc, ...common, ...mode, 'consumer.ts'], dir)
        return { mode: mode[1], code, stdout }
      }),
    )
    expect(results).toEqual(modes.map((mode) => ({ mode: mode[1], code: 0, stdout: '' })))
  }, 240_000)

  it('serves a download through @fastify/static on this Node although its content-disposition@3 asks for Node 22', async () => {
    // content-disposition@3 is ESM only; @fastify/static require()s it at load (Node 20.19+, engines).
    const script = [
      "const { default: Fastify } = await import('fastify')",
      "const { default: serveStatic } = await import('@fastify/static')",
      "const { writeFileSync, mkdtempSync } = await import('node:fs')",
      "const root = mkdtempSync(process.cwd() + '/static-')",
      "writeFileSync(root + '/report ü.txt', 'ok')",
      'const app = Fastify()',
      'await app.register(serveStatic, { root })',
      "app.get('/file', (_, reply) => reply.download('report ü.txt'))",
      "const res = await app.inject('/file')",
      "console.log(JSON.stringify({ status: res.statusCode, disposition: res.headers['content-disposition'], body: res.body }))",
    ].join('\n')
    const { code, stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], dir)
    expect({ code, answer: JSON.parse(stdout) }).toEqual({
      code: 0,
      answer: {
        status: 200,
        disposition: `attachment; filename="report ?.txt"; filename*=UTF-8''report%20%C3%BC.txt`,
        body: 'ok',
      },
    })
  })

  it("runs fastify's inject on this Node although light-my-request's cookie@2 asks for Node 22", async () => {
    // cookie@2 is ESM only; light-my-request require()s it, which Node supports from 20.19 (engines).
    const script = [
      "const { default: Fastify } = await import('fastify')",
      'const app = Fastify()',
      "app.get('/', (_, reply) => reply.header('set-cookie', 'a=1; Path=/').send('ok'))",
      "const res = await app.inject('/')",
      'console.log(JSON.stringify(res.cookies))',
    ].join('\n')
    const { code, stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], dir)
    expect({ code, cookies: JSON.parse(stdout) }).toEqual({
      code: 0,
      cookies: [{ name: 'a', value: '1', path: '/' }],
    })
  })
})
