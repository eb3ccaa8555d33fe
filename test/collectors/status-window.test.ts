import { describe, expect, it } from 'vitest'
import { parseInfo } from '../../src/collectors/info-parser.js'
import { DEFAULT_THRESHOLDS } from '../../src/collectors/status.js'
import { createStatusHistory } from '../../src/collectors/status-history.js'
import { createMemoryHistory } from '../../src/history/memory.js'
import { sampleAt } from '../history/support.js'

/** /status over a store that already holds samples, as after a restart with HISTORY_FILE. */
function statusOver(hits: number, misses: number) {
  const store = createMemoryHistory({ size: 10 })
  // The oldest sample of the window saw 1000 hits and 1000 misses in the server's lifetime.
  store.append(sampleAt(Date.now() - 60_000, 1, { keyspace_hits: 1000, keyspace_misses: 1000 }))
  store.append(sampleAt(Date.now() - 30_000, 2, { keyspace_hits: 1400, keyspace_misses: 1050 }))
  const info = parseInfo(`# Stats\r\nkeyspace_hits:${hits}\r\nkeyspace_misses:${misses}\r\n`)
  const history = createStatusHistory({
    view: () => ({ info, at: Date.now(), reading: () => undefined }),
    collect: async () => ({ ok: true, durationMs: 0 }),
    keyGroups: () => [],
    thresholds: DEFAULT_THRESHOLDS,
    historySize: 10,
    store,
    historyIntervalMs: 5000,
    backgroundTimeoutMs: 1000,
    now: Date.now,
  })
  return history.status({ latencyMs: 1, breaker: 'closed' })
}

describe('the hit-rate window', () => {
  it('starts from the samples already in the store, not from an empty window', () => {
    // Since the oldest stored sample: 900 hits, 100 misses (90 %); over the lifetime 63.33 %.
    expect(statusOver(1900, 1100).hit_rate_percent).toBe(90)
  })

  it('falls back to the lifetime rate when the counters went backwards (Redis restarted)', () => {
    expect(statusOver(60, 40).hit_rate_percent).toBe(60)
  })
})
