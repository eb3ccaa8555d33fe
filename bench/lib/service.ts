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
