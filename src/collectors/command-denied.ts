import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { aclMetrics, OTHER_COMMAND, SERVICE_COMMANDS } from '../metrics/acl.js'
import { replyCode, replyText } from '../redis/reply-error.js'
import { type Collector, gauge, type RedisCommander } from './collector.js'

/** Commands whose first argument is a subcommand in ACL names (`memory|usage`). */
const CONTAINERS = new Set([
  'memory',
  'slowlog',
  'latency',
  'client',
  'cluster',
  'sentinel',
  'config',
  'acl',
  'command',
])
const KNOWN = new Set<string>(SERVICE_COMMANDS)

/** `MEMORY USAGE k` -> `memory|usage`; the name ACL rules use. */
export function aclName(command: string, args: readonly unknown[] = []): string {
  const name = command.toLowerCase()
  const sub = args[0]
  return CONTAINERS.has(name) && (typeof sub === 'string' || Buffer.isBuffer(sub))
    ? `${name}|${String(sub).toLowerCase()}`
    : name
}

/** An ACL refusal (reply code NOPERM), as ioredis gives it or wrapped by the PoolMonitor. */
export const isNoPerm = (err: unknown): boolean => replyCode(err) === 'NOPERM'

/**
 * What to add to the user for a refusal: read access to keys when Redis says a key was refused
 * (7.0: `NOPERM this user has no permissions to access one of the keys used as arguments`; 7.2:
 * `… to access a key`), else the command (`… has no permissions to run the 'set' command`). Both
 * share the code NOPERM, so only the text tells them apart; test/monitor/ioredis-errors.test.ts
 * pins both against a real server.
 */
export function permissionFor(command: string, err: unknown): string {
  return /\bkeys?\b/i.test(replyText(err) ?? '') ? '%R~*' : `+${command}`
}

export interface CommandDenied extends Collector<never> {
  /** The commander with every reply watched for ACL refusals; give this one to the collectors. */
  wrap(redis: RedisCommander): RedisCommander
  /** Records one command's outcome (for calls made outside wrap(): pipelines read by hand). */
  record(command: string, err: unknown): void
  /** Whether the latest attempt of `command` (ACL name) was refused. */
  isDenied(command: string): boolean
  /** One sentence for readiness and /status when `command` is refused, else undefined. */
  reason(command: string): string | undefined
}

/**
 * Watches the replies of one Redis connection for ACL refusals. A refused command logs one warn
 * line naming it and the permission to add, turns redis_monitor_command_denied{command} to 1,
 * and its feature turns itself off (the collectors check isNoPerm on their own errors); an
 * allowed reply later (the user was fixed) turns it back to 0 with one info line.
 */
export function createCommandDenied(options: { logger: Logger }): CommandDenied {
  const { logger } = options
  const denied = new Map<string, string>()

  function record(command: string, err: unknown) {
    const label = KNOWN.has(command) ? command : OTHER_COMMAND
    if (err !== undefined && isNoPerm(err)) {
      if (denied.has(label)) return
      const permission = permissionFor(command, err)
      denied.set(label, permission)
      logger.warn(
        { command, permission },
        `the Redis user may not run ${command.toUpperCase().replace('|', ' ')}: its feature is off until ${permission} is added to the user's ACL`,
      )
    } else if (err === undefined && denied.delete(label)) {
      logger.info({ command }, `the Redis user may run ${command.toUpperCase().replace('|', ' ')} again`)
    }
  }

  function watch<T>(command: string, reply: Promise<T>): Promise<T> {
    return reply.then(
      (value) => {
        if (denied.size > 0) record(command, undefined)
        return value
      },
      (err: unknown) => {
        record(command, err)
        throw err
      },
    )
  }

  return {
    name: 'command-denied',
    record,
    isDenied: (command) => denied.has(command),
    reason(command) {
      const permission = denied.get(command)
      return permission === undefined
        ? undefined
        : `the Redis user may not run ${command.toUpperCase().replace('|', ' ')} (ACL NOPERM; add ${permission} to the user)`
    },
    wrap(redis) {
      const wrapped: RedisCommander = {
        call: (command, ...args) => watch(aclName(command, args), redis.call(command, ...args)),
      }
      if (redis.callBuffer) {
        const callBuffer = redis.callBuffer.bind(redis)
        wrapped.callBuffer = (command, ...args) => watch(aclName(command, args), callBuffer(command, ...args))
      }
      if (redis.pipeline) {
        const pipeline = redis.pipeline.bind(redis)
        wrapped.pipeline = (commands) => {
          const inspect = (replies: unknown) => {
            if (Array.isArray(replies))
              replies.forEach((pair, i) => {
                const [command, ...args] = commands[i] ?? ['other']
                const err = Array.isArray(pair) ? pair[0] : undefined
                if (err || denied.size > 0) record(aclName(command, args), err ?? undefined)
              })
            return replies
          }
          const sent = pipeline(commands) as unknown
          // The PoolMonitor answers with [err, value] pairs; a bare ioredis client with a Pipeline
          // whose exec() does. Look at each reply either way.
          if (sent instanceof Promise) return sent.then(inspect)
          const exec = (sent as { exec?: () => Promise<unknown> } | undefined)?.exec
          if (typeof exec === 'function') return { exec: () => exec.call(sent).then(inspect) }
          return sent
        }
      }
      return wrapped
    },
    register(registry: Registry) {
      gauge(registry, aclMetrics.commandDenied, () => [
        ...SERVICE_COMMANDS.map((command) => ({ value: denied.has(command) ? 1 : 0, labels: { command } })),
        ...(denied.has(OTHER_COMMAND) ? [{ value: 1, labels: { command: OTHER_COMMAND } }] : []),
      ])
    },
  }
}
