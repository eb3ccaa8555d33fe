import { isUtf8 } from 'node:buffer'

/**
 * Redis keys are bytes; most are UTF-8 text, some are not (binary ids, latin1 from old clients).
 * Decoded as UTF-8 the way ioredis decodes replies, every invalid byte becomes U+FFFD: distinct keys
 * merge, and the name sent back to Redis (MEMORY USAGE) is another key. Pure helpers here keep the
 * bytes: a lossless decoding for glob matching, and a readable, valid UTF-8 label.
 */

/** An invalid byte 0xNN decodes to U+DC00 + 0xNN (Python's surrogateescape): lossless, never text. */
const ESCAPE_BASE = 0xdc00
const ESCAPED = /[\udc80-\udcff]/g

/** Bytes of the UTF-8 sequence a lead byte announces; 0 for a byte that cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1
  if (lead >= 0xc2 && lead <= 0xdf) return 2
  if (lead >= 0xe0 && lead <= 0xef) return 3
  if (lead >= 0xf0 && lead <= 0xf4) return 4
  return 0
}

/**
 * A key as text for glob matching: valid UTF-8 decodes as usual (so patterns with Korean or any
 * other text match as before); each byte that is not part of a valid sequence becomes one lone
 * surrogate U+DC80..U+DCFF, so `*` and `?` match it and two different keys never decode alike.
 */
export function decodeKey(raw: Buffer | string): string {
  if (typeof raw === 'string') return raw
  if (isUtf8(raw)) return raw.toString('utf8')
  let out = ''
  let i = 0
  while (i < raw.length) {
    const n = sequenceLength(raw[i] as number)
    if (n > 0 && i + n <= raw.length && isUtf8(raw.subarray(i, i + n))) {
      out += raw.toString('utf8', i, i + n)
      i += n
    } else {
      out += String.fromCharCode(ESCAPE_BASE + (raw[i] as number))
      i++
    }
  }
  return out
}

/**
 * A decoded key (or part of one) as a label value: each invalid byte written `\xNN` (lower-case
 * hex), so the label is valid UTF-8 and the same bytes always give the same label. Text that was
 * valid UTF-8 is returned unchanged.
 */
export function keyLabel(decoded: string): string {
  return decoded.replace(
    ESCAPED,
    (c) => `\\x${(c.charCodeAt(0) - ESCAPE_BASE).toString(16).padStart(2, '0')}`,
  )
}
