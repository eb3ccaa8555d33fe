import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { imageCommand } from '../../test/helpers/image-command.js'
import { ROOT } from '../../test/helpers/service-process.js'
import { launch, type Managed } from './processes.js'

export interface LaunchServiceOptions {
  /** Leave out the image's node flags, to show what they are worth. @default false */
  plainNode?: boolean
}

/**
 * The node that runs the service: this one, or BENCH_NODE (say, a Node 24 binary, the image's
 * runtime) to measure another. Helper processes (load, bare Fastify) run on it too.
 */
export const serviceNode = (): string => process.env['BENCH_NODE'] || process.execPath

/** The service as the image runs it (the Dockerfile's CMD, node flags included). */
export function launchService(env: NodeJS.ProcessEnv, options: LaunchServiceOptions = {}): Managed {
  const { nodeFlags, entry, args } = imageCommand()
  return launch(serviceNode(), [...(options.plainNode ? [] : nodeFlags), join(ROOT, entry), ...args], env)
}

/** The node flags the image runs the service with, for the results file. */
export const serviceNodeFlags = (): string[] => imageCommand().nodeFlags

/** The version of the node that runs the service (differs from the harness's with BENCH_NODE). */
export const serviceNodeVersion = (): string =>
  execFileSync(serviceNode(), ['--version'], { encoding: 'utf8' }).trim()

// The baseline app: Fastify with a logger at the service's level and one route answering the same
// JSON as /health/live. It runs from the repository root so `fastify` resolves from node_modules.
const BARE_FASTIFY = `
import Fastify from 'fastify'
const app = Fastify({ logger: { level: 'warn' } })
app.get('/health/live', async () => ({ status: 'ok' }))
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
`

/**
 * Bare Fastify on the service's node with the image's node flags, so a comparison with the
 * service shows the service's own cost (requests per second, or the memory floor under it).
 */
export function launchBareFastify(port: number): Managed {
  return launch(serviceNode(), [...serviceNodeFlags(), '--input-type=module', '-e', BARE_FASTIFY], {
    PORT: String(port),
  })
}
