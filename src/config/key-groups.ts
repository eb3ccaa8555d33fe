import type { KeyGroupOptions } from '../collectors/key-groups.js'
import type { Config } from './config.js'

/**
 * KEY_GROUPS* as the collectors take them, one mapping for `serve`, `status` and `top`: the pool's
 * connections sit in the URL's database, so that is the database the pool scans and labels.
 */
export function keyGroupOptions(config: Config): KeyGroupOptions {
  return {
    patterns: [...config.keyGroups.patterns],
    auto: config.keyGroups.auto,
    intervalMs: config.keyGroups.intervalMs,
    maxGroups: config.keyGroups.maxGroups,
    db: config.redis.db,
  }
}
