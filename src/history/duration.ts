const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const

/** `90s`, `15m`, `1h`, `7d`, `2w` to milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,7})(s|m|h|d|w)$/.exec(text.trim())
  if (!match) return undefined
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
  return ms > 0 ? ms : undefined
}

// A full date, optionally a time with an offset: what `date -Iseconds` and `toISOString()` print.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/**
 * `since` of /status/history and `history --since`: an ISO 8601 time or a duration back from now.
 * Returns epoch ms, or undefined when the text is neither.
 */
export function parseSince(text: string, now: number): number | undefined {
  const duration = parseDuration(text)
  if (duration !== undefined) return now - duration
  if (!ISO_TIME.test(text.trim())) return undefined
  const ms = Date.parse(text.trim())
  return Number.isFinite(ms) ? ms : undefined
}
