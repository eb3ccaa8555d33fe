import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './service-process.js'

export interface ImageCommand {
  /** V8/Node flags between `node` and the entry point, e.g. `--optimize-for-size`. */
  nodeFlags: string[]
  /** The script node runs, relative to the image's WORKDIR. */
  entry: string
  /** The arguments after the entry point (`serve`). */
  args: string[]
}

/**
 * The command line the image runs, read from the Dockerfile's exec-form CMD. Tests hold the other
 * launchers (npm start, the systemd unit) to it, and the benchmarks run the service exactly so.
 */
export function imageCommand(dockerfile = join(ROOT, 'Dockerfile')): ImageCommand {
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(readFileSync(dockerfile, 'utf8'))?.[1]
  if (!cmd) throw new Error('the Dockerfile has no exec-form CMD')
  const argv = JSON.parse(cmd) as string[]
  if (argv[0] !== 'node') throw new Error(`the Dockerfile CMD runs ${argv[0]}, not node`)
  const entryAt = argv.findIndex((a, i) => i > 0 && !a.startsWith('-'))
  if (entryAt < 0) throw new Error('the Dockerfile CMD names no script')
  return { nodeFlags: argv.slice(1, entryAt), entry: argv[entryAt] as string, args: argv.slice(entryAt + 1) }
}
