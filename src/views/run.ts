import { statusCommand, topCommand } from './commands.js'

/**
 * Runs `status` or `top` on their own (tests, and until the main CLI dispatches to them):
 * `node --import tsx src/views/run.ts status --redis-url redis://127.0.0.1:6379`.
 */
const [name, ...argv] = process.argv.slice(2)
const command = name === 'status' ? statusCommand : name === 'top' ? topCommand : undefined
if (command === undefined) {
  process.stderr.write('usage: run.ts status|top [flags]\n')
  process.exitCode = 2
} else {
  // exit() rather than exitCode: a socket to a frozen Redis must not keep the process waiting.
  command(argv, process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `redis-pool-monitor ${name}: unexpected error: ${(err as Error)?.message ?? err}\n`,
      )
      process.exit(3)
    },
  )
}
