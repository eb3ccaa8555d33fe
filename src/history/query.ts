import { parseSince } from './duration.js'
import type { HistoryQuery } from './types.js'

/** The most samples one answer carries: 10 000 is about 14 hours at the default 5 s interval. */
export const HISTORY_MAX_ITEMS = 10_000

/**
 * `since` and `limit` as /status/history and `history` take them, to a store query; a string
 * naming the bad parameter and what it expects otherwise. Without either, the newest
 * `defaultLimit` samples (STATUS_HISTORY_SIZE, what the endpoint always answered).
 */
export function historyQuery(
  params: { since?: unknown; limit?: unknown },
  now: number,
  defaultLimit: number,
): HistoryQuery | string {
  const query: HistoryQuery = {}
  if (params.since !== undefined) {
    const since = typeof params.since === 'string' ? parseSince(params.since, now) : undefined
    if (since === undefined) {
      return `since expects an ISO 8601 time such as 2026-01-31T12:00:00Z or a duration such as 15m, 1h or 7d (got ${JSON.stringify(String(params.since).slice(0, 60))})`
    }
    query.sinceMs = since
  }
  if (params.limit !== undefined) {
    const text = typeof params.limit === 'string' ? params.limit.trim() : ''
    const limit = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN
    if (!(limit >= 1 && limit <= HISTORY_MAX_ITEMS)) {
      return `limit expects an integer from 1 to ${HISTORY_MAX_ITEMS} (got ${JSON.stringify(String(params.limit).slice(0, 60))})`
    }
    query.limit = limit
  }
  if (query.sinceMs === undefined && query.limit === undefined) query.limit = defaultLimit
  // Bounded answer: all since `since` is at most the newest HISTORY_MAX_ITEMS.
  query.limit = Math.min(query.limit ?? HISTORY_MAX_ITEMS, HISTORY_MAX_ITEMS)
  return query
}
