/** Pure parsing of CLUSTER INFO and CLUSTER NODES replies: no I/O, no clock. */

export type ClusterInfo = Record<string, string>

/** Parses CLUSTER INFO (`field:value` lines, CRLF or LF). */
export function parseClusterInfo(text: string): ClusterInfo {
  const info: ClusterInfo = {}
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':')
    if (at > 0) info[line.slice(0, at)] = line.slice(at + 1).trim()
  }
  return info
}

/** A CLUSTER INFO value as the exporter turns it into a number: ok 1, fail 0, else numeric. */
export function clusterInfoValue(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  if (raw === 'ok') return 1
  if (raw === 'fail') return 0
  const n = Number(raw)
  return raw.trim() !== '' && Number.isFinite(n) ? n : undefined
}

export interface ClusterNodeEntry {
  id: string
  /** The node's announced IP (empty for a node without an address yet, `noaddr`). */
  host: string
  port: number
  busPort: number
  /** cluster-announce-hostname, when the node has one (Redis 7). */
  hostname: string | undefined
  flags: string[]
  role: 'master' | 'replica'
  /** The master's id, for a replica. */
  masterId: string | undefined
  myself: boolean
  /** FAIL (a majority agrees) or PFAIL (this node alone cannot reach it). */
  failing: 'fail' | 'pfail' | undefined
  connected: boolean
  configEpoch: number
  /** Inclusive slot ranges this node serves (importing/migrating markers left out). */
  slots: Array<[number, number]>
}

const ADDRESS = /^(.*):(\d+)@(\d+)(?:,(.*))?$/

/**
 * Parses CLUSTER NODES: `<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv>
 * <config-epoch> <link-state> <slot>...`. Lines that do not have that shape are skipped rather than
 * failing the whole reply: a node in handshake may print a partial address.
 */
export function parseClusterNodes(text: string): ClusterNodeEntry[] {
  const nodes: ClusterNodeEntry[] = []
  for (const line of text.split(/\r?\n/)) {
    const fields = line.trim().split(' ')
    if (fields.length < 8) continue
    const [id, address, flagText, master, , , epoch, link, ...slotFields] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      ...string[],
    ]
    const match = ADDRESS.exec(address)
    if (!match) continue
    const flags = flagText.split(',')
    const slots: Array<[number, number]> = []
    for (const range of slotFields) {
      if (range.startsWith('[')) continue
      const [lo, hi] = range.split('-').map(Number)
      if (lo === undefined || !Number.isInteger(lo)) continue
      slots.push([lo, hi !== undefined && Number.isInteger(hi) ? hi : lo])
    }
    nodes.push({
      id,
      host: match[1] ?? '',
      port: Number(match[2]),
      busPort: Number(match[3]),
      hostname: match[4] || undefined,
      flags,
      role: flags.includes('master') ? 'master' : 'replica',
      masterId: master === '-' ? undefined : master,
      myself: flags.includes('myself'),
      failing: flags.includes('fail') ? 'fail' : flags.includes('fail?') ? 'pfail' : undefined,
      connected: link === 'connected',
      configEpoch: Number(epoch),
      slots,
    })
  }
  return nodes
}

/** Nodes that can be dialled: an address, and not a handshake or no-address placeholder. */
export function addressableNodes(nodes: readonly ClusterNodeEntry[]): ClusterNodeEntry[] {
  return nodes.filter(
    (n) => n.host !== '' && n.port > 0 && !n.flags.includes('noaddr') && !n.flags.includes('handshake'),
  )
}
