#!/usr/bin/env node
// Makes sure the system tools the tests (and benchmarks) drive are installed.
// As root it installs the missing Debian packages; otherwise it names exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process'

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
