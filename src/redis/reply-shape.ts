import { UnexpectedReplyError } from '../errors.js'

// A reply's type is the peer's word, not a promise: a broken proxy, a "Redis-compatible" server or
// a hostile peer answers valid RESP of another shape, and a read that casts it renders NaN samples
// or throws a TypeError far from the command. These checks turn a wrong shape into one coded error
// (RPM_UNEXPECTED_REPLY) naming the command, what came and what was expected, at the read.

const describe = (reply: unknown): string =>
  reply === null
    ? 'nil'
    : Array.isArray(reply)
      ? `an array of ${reply.length}`
      : Buffer.isBuffer(reply)
        ? 'bytes'
        : typeof reply === 'string'
          ? `"${reply.length > 32 ? `${reply.slice(0, 32)}…` : reply}"`
          : typeof reply

function unexpected(command: string, reply: unknown, expected: string): Error {
  return new UnexpectedReplyError(command, describe(reply), expected)
}

/** A bulk or simple string (or its bytes): INFO, CLUSTER INFO, CLUSTER NODES… */
export function textReply(command: string, reply: unknown): string {
  if (typeof reply === 'string') return reply
  if (Buffer.isBuffer(reply)) return reply.toString('utf8')
  throw unexpected(command, reply, 'text')
}

const DECIMAL = /^-?\d+$/

/**
 * An integer reply: a RESP integer (a number), or a string of decimal digits (what a proxy or a
 * RESP3 double may carry). Not `Number()`'s reading of any text: '' and '0x1f' are no integers.
 */
export function integerReply(command: string, reply: unknown): number {
  const n =
    typeof reply === 'number'
      ? reply
      : typeof reply === 'string' && DECIMAL.test(reply)
        ? Number(reply)
        : Number.NaN
  if (!Number.isSafeInteger(n)) throw unexpected(command, reply, 'an integer')
  return n
}

/** A SCAN cursor: unsigned 64-bit, so kept as its decimal text (a number beyond 2^53 would round). */
export function cursorReply(command: string, reply: unknown): string {
  if (typeof reply === 'number' && Number.isSafeInteger(reply) && reply >= 0) return String(reply)
  const text = typeof reply === 'string' || Buffer.isBuffer(reply) ? textReply(command, reply) : undefined
  if (text === undefined || !/^\d+$/.test(text)) throw unexpected(command, reply, 'a cursor')
  return text
}

/** An array of at least `width` elements (SCAN's [cursor, keys], one SLOWLOG entry). */
export function tupleReply(command: string, reply: unknown, width: number): unknown[] {
  if (!Array.isArray(reply) || reply.length < width)
    throw unexpected(command, reply, `an array of at least ${width} elements`)
  return reply
}

/** An array (possibly empty) whose every element is an array of at least `width` elements. */
export function rowsReply(command: string, reply: unknown, width: number): unknown[][] {
  if (!Array.isArray(reply)) throw unexpected(command, reply, 'an array')
  for (const row of reply) tupleReply(command, row, width)
  return reply as unknown[][]
}

/** An array of strings (or bytes), e.g. SCAN's keys. */
export function stringsReply<T extends string | Buffer>(command: string, reply: unknown): T[] {
  if (!Array.isArray(reply)) throw unexpected(command, reply, 'an array of strings')
  for (const item of reply) {
    if (typeof item !== 'string' && !Buffer.isBuffer(item))
      throw unexpected(command, item, 'an array of strings')
  }
  return reply as T[]
}
