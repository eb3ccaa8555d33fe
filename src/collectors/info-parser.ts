/** One `dbN:keys=..,expires=..,avg_ttl=..` line of INFO keyspace. */
export interface KeyspaceEntry {
  keys: number
  expires: number
  avgTtlMs: number
}

/** One `cmdstat_<name>:calls=..,usec=..,..` line of INFO commandstats. */
export interface CommandStat {
  calls: number
  usec: number
  rejectedCalls: number
  failedCalls: number
}

export interface ParsedInfo {
  /** Plain `field:value` pairs of every section, by field name (names are unique across sections). */
  fields: Record<string, string>
  /** Section each field came from, lower case (`server`, `memory`, ...). */
  sectionOf: Record<string, string>
  /** `db0` -> entry. */
  keyspace: Record<string, KeyspaceEntry>
  /** `get`, `client|setname` -> stats. */
  commandStats: Record<string, CommandStat>
  /** `ERR`, `WRONGTYPE` -> count, from INFO errorstats. */
  errorStats: Record<string, number>
  /** `get` -> { 0.5: usec, 0.99: usec, 0.999: usec }, from INFO latencystats (Redis 7+). */
  latencyPercentiles: Record<string, Record<string, number>>
  /** `slave0:ip=..,port=..,state=..,offset=..,lag=..` lines of INFO replication, on a master. */
  replicas: ReplicaEntry[]
}

export interface ReplicaEntry {
  ip: string
  port: string
  state: string
  offset: number
  /** Seconds since the replica's last ack; undefined before Redis 3. */
  lag: number | undefined
}

const parsePairs = (value: string): Record<string, string> => {
  const pairs: Record<string, string> = {}
  for (const part of value.split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) pairs[part.slice(0, eq)] = part.slice(eq + 1)
  }
  return pairs
}

const num = (value: string | undefined): number => {
  const n = Number(value)
  return Number.isFinite(n) ? n : 0
}

/** Parses the text of `INFO` / `INFO ALL` (CRLF or LF line ends). Pure: no I/O, no clock. */
export function parseInfo(text: string): ParsedInfo {
  const parsed: ParsedInfo = {
    fields: {},
    sectionOf: {},
    keyspace: {},
    commandStats: {},
    errorStats: {},
    latencyPercentiles: {},
    replicas: [],
  }
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    if (line === '') continue
    if (line.startsWith('#')) {
      section = line.slice(1).trim().toLowerCase()
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const key = line.slice(0, colon)
    const value = line.slice(colon + 1)
    if (section === 'keyspace' && /^db\d+$/.test(key)) {
      const p = parsePairs(value)
      parsed.keyspace[key] = { keys: num(p['keys']), expires: num(p['expires']), avgTtlMs: num(p['avg_ttl']) }
    } else if (key.startsWith('cmdstat_')) {
      const p = parsePairs(value)
      parsed.commandStats[key.slice('cmdstat_'.length)] = {
        calls: num(p['calls']),
        usec: num(p['usec']),
        rejectedCalls: num(p['rejected_calls']),
        failedCalls: num(p['failed_calls']),
      }
    } else if (key.startsWith('errorstat_')) {
      parsed.errorStats[key.slice('errorstat_'.length)] = num(parsePairs(value)['count'])
    } else if (key.startsWith('latency_percentiles_usec_')) {
      const quantiles: Record<string, number> = {}
      for (const [p, v] of Object.entries(parsePairs(value))) {
        // `p99.9` -> quantile 0.999, rounded so the label is not 0.9990000000000001.
        const percent = Number(p.slice(1))
        if (p.startsWith('p') && Number.isFinite(percent))
          quantiles[String(Number((percent / 100).toFixed(6)))] = num(v)
      }
      parsed.latencyPercentiles[key.slice('latency_percentiles_usec_'.length)] = quantiles
    } else if (section === 'replication' && /^slave\d+$/.test(key)) {
      const p = parsePairs(value)
      parsed.replicas.push({
        ip: p['ip'] ?? '',
        port: p['port'] ?? '',
        state: p['state'] ?? '',
        offset: num(p['offset']),
        lag: p['lag'] === undefined ? undefined : num(p['lag']),
      })
    } else {
      parsed.fields[key] = value
      parsed.sectionOf[key] = section
    }
  }
  return parsed
}

/** A numeric INFO field, or undefined when absent or not a number (e.g. `ok`, version strings). */
export function infoNumber(info: ParsedInfo, field: string): number | undefined {
  const value = info.fields[field]
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : undefined
}
