#!/usr/bin/env node
// Builds dist/ when it is missing or older than any file in src/, so `npm start` works on a fresh clone.
// It is also the package's `prepare` (a git install builds dist/ with the dev toolchain npm installs
// for it) and, with --clean, its `prepack` (a tarball never ships files of a deleted source file).
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = join(dir, entry.name)
    return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

const entry = join(root, 'dist', 'cli.js')
if (process.argv.includes('--clean')) rmSync(join(root, 'dist'), { recursive: true, force: true })
if (existsSync(entry) && statSync(entry).mtimeMs >= newest(join(root, 'src'))) process.exit(0)
if (!existsSync(join(root, 'node_modules', 'typescript'))) {
  process.stderr.write('dist/ is missing and TypeScript is not installed: run `npm ci` first\n')
  // As `prepare` of `npm ci --omit=dev` in a clone: installing may go on; `npm start` says it again.
  process.exit(process.argv.includes('--if-possible') ? 0 : 1)
}
execFileSync(
  process.execPath,
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
)
