/**
 * The `command` label of redis_operation_duration_seconds comes from this allow-list, so a caller
 * sending arbitrary command names cannot blow up the series count. Anything else is `other`.
 */
const KNOWN_COMMANDS = [
  // strings
  'get',
  'set',
  'setex',
  'psetex',
  'setnx',
  'getset',
  'getdel',
  'getex',
  'mget',
  'mset',
  'msetnx',
  'append',
  'strlen',
  'incr',
  'incrby',
  'incrbyfloat',
  'decr',
  'decrby',
  'getrange',
  'setrange',
  // keys
  'del',
  'unlink',
  'exists',
  'expire',
  'pexpire',
  'expireat',
  'pexpireat',
  'ttl',
  'pttl',
  'persist',
  'type',
  'rename',
  'renamenx',
  'scan',
  'keys',
  'copy',
  'touch',
  'dump',
  'restore',
  'object',
  // hashes
  'hget',
  'hset',
  'hsetnx',
  'hmget',
  'hmset',
  'hdel',
  'hgetall',
  'hexists',
  'hincrby',
  'hincrbyfloat',
  'hkeys',
  'hvals',
  'hlen',
  'hscan',
  'hstrlen',
  'hrandfield',
  // lists
  'lpush',
  'rpush',
  'lpushx',
  'rpushx',
  'lpop',
  'rpop',
  'llen',
  'lrange',
  'lindex',
  'lset',
  'lrem',
  'ltrim',
  'linsert',
  'lmove',
  'lpos',
  'rpoplpush',
  'lmpop',
  // sets
  'sadd',
  'srem',
  'smembers',
  'sismember',
  'smismember',
  'scard',
  'spop',
  'srandmember',
  'sinter',
  'sunion',
  'sdiff',
  'sinterstore',
  'sunionstore',
  'sdiffstore',
  'smove',
  'sscan',
  'sintercard',
  // sorted sets
  'zadd',
  'zrem',
  'zscore',
  'zmscore',
  'zincrby',
  'zcard',
  'zcount',
  'zrange',
  'zrangebyscore',
  'zrevrange',
  'zrevrangebyscore',
  'zrank',
  'zrevrank',
  'zremrangebyscore',
  'zremrangebyrank',
  'zpopmin',
  'zpopmax',
  'zscan',
  'zrangestore',
  'zunionstore',
  'zinterstore',
  'zmpop',
  // streams
  'xadd',
  'xlen',
  'xrange',
  'xrevrange',
  'xdel',
  'xtrim',
  'xack',
  'xclaim',
  'xautoclaim',
  'xpending',
  'xgroup',
  'xinfo',
  // other types
  'pfadd',
  'pfcount',
  'pfmerge',
  'geoadd',
  'geodist',
  'geopos',
  'geosearch',
  'setbit',
  'getbit',
  'bitcount',
  'bitpos',
  'bitop',
  'bitfield',
  // scripting, pub/sub publish, server
  'eval',
  'evalsha',
  'eval_ro',
  'evalsha_ro',
  'fcall',
  'fcall_ro',
  'script',
  'function',
  'publish',
  'spublish',
  'ping',
  'echo',
  'info',
  'dbsize',
  'time',
  'memory',
  'config',
  'client',
  'slowlog',
  'command',
  'flushdb',
  'flushall',
  // what the pool itself sends as one operation
  'pipeline',
  'multi',
] as const

const known: ReadonlySet<string> = new Set(KNOWN_COMMANDS)

/**
 * Spellings remembered at most, by the label cache here and by each pool's route map: callers
 * inventing names (or spellings: `hIncrByFloat` has 4096) cannot grow them. A spelling past the cap
 * is worked out again on every call, to the same label.
 */
export const MAX_CACHED_SPELLINGS = 1024
const cache = new Map<string, string>()

/** Spellings the label cache holds now (never more than MAX_CACHED_SPELLINGS). */
export function cachedSpellings(): number {
  return cache.size
}

/** Lower-case label for a command name; anything outside the allow-list is `other`. */
export function commandLabel(command: string): string {
  const hit = cache.get(command)
  if (hit !== undefined) return hit
  const lower = command.toLowerCase()
  const label = known.has(lower) ? lower : 'other'
  // Only names the caller actually spelled are cached.
  if (cache.size < MAX_CACHED_SPELLINGS) cache.set(command, label)
  return label
}

/**
 * Commands that block the connection until data arrives or a server-side timeout passes. They take
 * an exclusive lease and stay out of the latency histogram, where their waiting would poison p99.
 */
const BLOCKING = new Set([
  'blpop',
  'brpop',
  'brpoplpush',
  'blmove',
  'blmpop',
  'bzpopmin',
  'bzpopmax',
  'bzmpop',
  'wait',
  'waitaof',
])

/** True when `isBlocking` can be true for some arguments: the monitor's per-name route cache asks once. */
export function mayBlock(command: string): boolean {
  const lower = command.toLowerCase()
  return BLOCKING.has(lower) || lower === 'xread' || lower === 'xreadgroup'
}

/** XREAD / XREADGROUP block only with a BLOCK argument. */
export function isBlocking(command: string, args: readonly unknown[]): boolean {
  const lower = command.toLowerCase()
  if (BLOCKING.has(lower)) return true
  if (lower === 'xread' || lower === 'xreadgroup') {
    return args.some((a) => typeof a === 'string' && a.toLowerCase() === 'block')
  }
  return false
}

/**
 * Commands that change or depend on connection state (selected db, transaction, subscription,
 * authentication). On a multiplexed connection they would leak into other callers' operations.
 */
const CONNECTION_STATE = new Set([
  'select',
  'auth',
  'hello',
  'quit',
  'reset',
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'monitor',
  'sync',
  'psync',
  'readonly',
  'readwrite',
  'shutdown',
])

export function changesConnectionState(command: string): boolean {
  return CONNECTION_STATE.has(command.toLowerCase())
}
