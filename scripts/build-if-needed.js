#!/usr/bin/env node
// Builds dist/ when it is missing or older than any file in src/, so `npm start` works on a fresh clone.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = join(dir, entry.name)
    return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

const entry = join(root, 'dist', 'cli.js')
if (existsSync(entry) && statSync(entry).mtimeMs >= newest(join(root, 'src'))) process.exit(0)
if (!existsSync(join(root, 'node_modules', 'typescript'))) {
  process.stderr.write('dist/ is missing and TypeScript is not installed: run `npm ci` first\n')
  process.exit(1)
}
execFileSync(
  process.execPath,
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
)
