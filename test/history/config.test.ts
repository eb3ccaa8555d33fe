import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.js'

const withSqlite = { sqliteAvailable: () => true }
const withoutSqlite = { sqliteAvailable: () => false }

describe('history configuration', () => {
  it('defaults to memory only, 7 days of retention and a sample every 5 s', () => {
    expect(parseConfig({}, withSqlite).history).toEqual({
      file: undefined,
      retentionMs: 7 * 86_400_000,
      intervalMs: 5000,
    })
  })

  it('reads HISTORY_FILE, HISTORY_RETENTION and STATUS_HISTORY_INTERVAL_MS', () => {
    const config = parseConfig(
      {
        HISTORY_FILE: '/var/lib/rpm/history.db',
        HISTORY_RETENTION: '36h',
        STATUS_HISTORY_INTERVAL_MS: '1000',
      },
      withSqlite,
    )
    expect(config.history).toEqual({
      file: '/var/lib/rpm/history.db',
      retentionMs: 36 * 3_600_000,
      intervalMs: 1000,
    })
  })

  it('refuses a retention that is not a duration of 1h to 3650d, naming the variable', () => {
    for (const bad of ['7', 'seven days', '30m', '3651d', '-1d']) {
      expect(() => parseConfig({ HISTORY_RETENTION: bad }, withSqlite)).toThrow(
        `invalid configuration: HISTORY_RETENTION expects a duration such as 36h, 7d or 4w (from 1h to 3650d) (got ${JSON.stringify(bad)})`,
      )
    }
  })

  it('refuses a sample interval outside 100 ms to one hour', () => {
    expect(() => parseConfig({ STATUS_HISTORY_INTERVAL_MS: '50' }, withSqlite)).toThrow(
      /STATUS_HISTORY_INTERVAL_MS expects an integer number of milliseconds from 100 to 3600000 \(got "50"\)/,
    )
  })

  it('says which Node is needed when HISTORY_FILE is set on a runtime without node:sqlite', () => {
    expect(() => parseConfig({ HISTORY_FILE: '/tmp/h.db' }, withoutSqlite)).toThrow(
      `invalid configuration: HISTORY_FILE expects Node.js 22.13 or newer (24 recommended) for node:sqlite; this is Node.js ${process.versions.node} (unset HISTORY_FILE to keep history in memory)`,
    )
    // Without a file, a runtime without node:sqlite is fine: history stays in memory.
    expect(parseConfig({}, withoutSqlite).history.file).toBe(undefined)
  })
})
