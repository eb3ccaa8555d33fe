/**
 * redis_monitor_command_denied{command}: which commands the service's Redis user may not run.
 * `command` is bounded to the commands the service sends, spelt as ACL names them (`memory|usage`)
 * so the value is what to add to the user (`+memory|usage`); anything else folds into `other`.
 */

/** Every command the service itself sends to a Redis it monitors, as ACL names it. */
export const SERVICE_COMMANDS = [
  'ping',
  'info',
  'slowlog|len',
  'slowlog|get',
  'latency|latest',
  'dbsize',
  'scan',
  'memory|usage',
  'memory|purge',
  'select',
  'client|setname',
  'cluster|info',
  'cluster|nodes',
  'cluster|slots',
  'sentinel|masters',
  'sentinel|slaves',
  'sentinel|replicas',
  'sentinel|sentinels',
  'sentinel|ckquorum',
] as const

/** The `command` value of a denied command the service does not know it sends. */
export const OTHER_COMMAND = 'other'

export const aclMetrics = {
  commandDenied: {
    name: 'redis_monitor_command_denied',
    help:
      "Whether the service's Redis user may not run a command the service sends (ACL NOPERM): 1 denied " +
      'since the latest attempt, 0 allowed or not tried; its feature is off while 1 (boolean).',
    labelNames: ['command'] as const,
  },
} as const
