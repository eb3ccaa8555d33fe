import type { HistoryQuery, HistoryStore, StoredSample } from './types.js'

export interface MemoryHistoryOptions {
  /** Samples kept; the oldest goes first. @default 100 */
  size?: number
}

/** Selects from samples already in time order: the newest `limit` at or after `sinceMs`. */
export function selectSamples<T extends { timestamp: string }>(
  samples: readonly T[],
  query: HistoryQuery,
): T[] {
  let from = 0
  if (query.sinceMs !== undefined) {
    const since = query.sinceMs
    while (from < samples.length && Date.parse(samples[from]!.timestamp) < since) from++
  }
  if (query.limit !== undefined) from = Math.max(from, samples.length - query.limit)
  return samples.slice(from)
}

/** The history as it always was: a ring of the latest `size` samples, gone with the process. */
export function createMemoryHistory(options: MemoryHistoryOptions = {}): HistoryStore {
  const size = options.size ?? 100
  const samples: StoredSample[] = []
  return {
    kind: 'memory',
    append(sample) {
      samples.push(sample)
      if (samples.length > size) samples.splice(0, samples.length - size)
    },
    query: (query) => selectSamples(samples, query),
    async close() {},
  }
}
