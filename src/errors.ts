import createFastifyError, { type FastifyErrorConstructor } from '@fastify/error'

/**
 * @fastify/error with its constructor type named by a named import: the declarations then say
 * `FastifyErrorConstructor<...>` rather than `createError.FastifyErrorConstructor<...>`, which a
 * consumer without esModuleInterop (node10, bundler resolution) cannot resolve.
 */
export type RpmErrorConstructor<C extends string, SC extends number> = FastifyErrorConstructor<{
  code: C
  statusCode: SC
}>
const createError = <C extends string, SC extends number>(
  code: C,
  message: string,
  statusCode: SC,
  Base?: ErrorConstructor,
): RpmErrorConstructor<C, SC> => createFastifyError(code, message, statusCode, Base)

/**
 * Every error the library and the service raise, declared once with a stable code.
 * `type` is the value of the `type` label of `redis_operation_errors_total`.
 */
export const ErrorType = {
  timeout: 'timeout',
  connection: 'connection',
  reply: 'reply',
  circuitOpen: 'circuit_open',
  poolExhausted: 'pool_exhausted',
  other: 'other',
} as const
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType]
export const ERROR_TYPES = Object.values(ErrorType)

export const PoolExhaustedError = createError(
  'RPM_POOL_EXHAUSTED',
  'No pooled Redis connection became free within %d ms',
  503,
)
export const CircuitOpenError = createError(
  'RPM_CIRCUIT_OPEN',
  'Circuit breaker for pool %s is open; the call was not sent to Redis',
  503,
)
export const CommandTimeoutError = createError(
  'RPM_COMMAND_TIMEOUT',
  'Redis command %s timed out after %d ms',
  504,
)
export const ConnectionError = createError('RPM_CONNECTION', 'Redis connection failed: %s', 503)
export const PoolClosedError = createError('RPM_POOL_CLOSED', 'The pool %s is closed', 503)
export const ScrapeTimeoutError = createError(
  'RPM_SCRAPE_TIMEOUT',
  'Collecting from Redis took longer than the scrape budget of %d ms',
  504,
)
export const ConfigError = createError('RPM_CONFIG', '%s', 500)
export const RedisReplyError = createError('RPM_REPLY', 'Redis replied with an error: %s', 502)
/** Valid RESP of a shape the command never answers with: a broken proxy or a hostile peer. */
export const UnexpectedReplyError = createError(
  'RPM_UNEXPECTED_REPLY',
  '%s answered %s where %s was expected',
  502,
)
export const UnsupportedCommandError = createError(
  'RPM_UNSUPPORTED_COMMAND',
  'Command %s changes connection state and cannot run on a shared connection; use withConnection()',
  400,
)
export const OperationError = createError('RPM_OPERATION', 'Redis operation failed: %s', 500)
export const HistoryUnavailableError = createError(
  'RPM_HISTORY_UNAVAILABLE',
  'History file %s cannot be used: %s',
  500,
)
export const CacheValueError = createError(
  'RPM_CACHE_VALUE',
  'Cannot cache the value for %s: %s',
  400,
  TypeError,
)
export const CacheDecodeError = createError(
  'RPM_CACHE_DECODE',
  'The value stored at %s is not JSON written by the cache; delete the key or fix the writer',
  502,
)
export const CacheClosedError = createError('RPM_CACHE_CLOSED', 'The cache of pool %s is closed', 503)
export const CrossSlotError = createError(
  'RPM_CROSS_SLOT',
  'Keys of one cluster operation must hash to one slot: %s',
  400,
)
export const ClusterKeyRequiredError = createError(
  'RPM_CLUSTER_KEY_REQUIRED',
  'On a Redis Cluster, withConnection() needs { key } to know which node to lease a connection on',
  400,
)
export const ScrapeTargetInvalidError = createError(
  'RPM_SCRAPE_TARGET_INVALID',
  'Invalid /scrape request: %s',
  400,
)
export const ScrapeTargetForbiddenError = createError(
  'RPM_SCRAPE_TARGET_FORBIDDEN',
  'The target %s is not in SCRAPE_TARGETS (nor among the nodes the service discovered); no connection was opened',
  403,
)
export const ScrapeDisabledError = createError(
  'RPM_SCRAPE_DISABLED',
  '/scrape is off: SCRAPE_TARGETS is not set and the service discovered no nodes',
  404,
)
