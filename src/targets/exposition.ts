/**
 * The exposition text of a list of families, written directly instead of through a prom-client
 * Registry: a /scrape target's ~210 families render on every scrape, and prom-client's async path
 * (a promise and several arrays per family, labels through Object.entries/filter/join) allocated
 * about 670 KB per render of one target against about 125 KB here, and took 2 to 4 times as long
 * (in-process, captured INFO of a master). The output is byte for byte what
 * prom-client 15.1.3 (pinned in package.json) writes for the same families: `Registry.metrics()`
 * for Prometheus text, `renderOpenMetrics()` (metrics/openmetrics.ts) for OpenMetrics;
 * test/targets/exposition.test.ts compares the two on captured INFO of every topology.
 */

export type ExpositionFormat = 'text' | 'openmetrics'

interface FamilyValue {
  value: number
  labels?: Record<string, string | number>
  metricName?: string
  sharedLabels?: Record<string, string | number>
}

/** What a family's get() gives, as prom-client's registry reads it. */
export interface FamilySnapshot {
  name: string
  help: string
  type: string
  values?: readonly FamilyValue[]
}

/** A family as a prom-client Registry holds it (its own metric classes and plain collectables). */
export interface Family {
  name: string
  help: string
  type?: string
  get(): FamilySnapshot | Promise<FamilySnapshot>
  getForPromString?(): Promise<FamilySnapshot>
  /** A snapshot family's samples, read synchronously (metrics/snapshot-family.ts). */
  samples?(): readonly FamilyValue[]
}

const escapeString = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const escapeLabelValue = (v: string | number) =>
  typeof v === 'string' ? escapeString(v).replace(/"/g, '\\"') : v

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan'
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf'
  return `${value}`
}

function labelText(
  labels: Record<string, string | number> | undefined,
  shared?: Record<string, string | number>,
): string {
  if (labels === undefined && shared === undefined) return ''
  let out = ''
  for (const name in labels) {
    if (shared && Object.hasOwn(shared, name)) continue
    out += `${out === '' ? '' : ','}${name}="${escapeLabelValue(labels[name] as string | number)}"`
  }
  if (shared) {
    let flat = ''
    for (const name in shared)
      flat += `${flat === '' ? '' : ','}${name}="${escapeLabelValue(shared[name] as string | number)}"`
    if (flat !== '') out += `${out === '' ? '' : ','}${flat}`
  }
  return out === '' ? '' : `{${out}}`
}

// What depends on the family alone (HELP and TYPE lines, the sample name) is written once per
// family and format.
interface Written {
  header: string
  /** `\n` and the samples' name, `_total` added for an OpenMetrics counter. */
  line: string
  name: string
}
const written = new WeakMap<Family, Partial<Record<ExpositionFormat, Written>>>()
function familyText(family: Family, snapshot: FamilySnapshot, format: ExpositionFormat): Written {
  let known = written.get(family)
  if (known === undefined) {
    known = {}
    written.set(family, known)
  }
  let text = known[format]
  if (text === undefined) {
    const openMetrics = format === 'openmetrics'
    const counter = snapshot.type === 'counter'
    // OpenMetrics names a counter family without `_total` and gives each sample the suffix back.
    const name = escapeString(openMetrics && counter ? snapshot.name.replace(/_total$/, '') : snapshot.name)
    text = {
      header: `# HELP ${name} ${escapeString(snapshot.help)}\n# TYPE ${name} ${snapshot.type}`,
      line: `\n${name}${openMetrics && counter ? '_total' : ''}`,
      name,
    }
    known[format] = text
  }
  return text
}

/** One family's block, without the separator that follows it. */
function block(family: Family, snapshot: FamilySnapshot, format: ExpositionFormat): string {
  const { header, line, name } = familyText(family, snapshot, format)
  const suffix = format === 'openmetrics' && snapshot.type === 'counter' ? '_total' : ''
  let out = header
  for (const v of snapshot.values ?? []) {
    const start = v.metricName === undefined ? line : `\n${v.metricName ?? name}${suffix}`
    out += `${start}${labelText(v.labels, v.sharedLabels)} ${valueText(v.value)}`
  }
  return out
}

/**
 * The exposition text of `families`, in order: Prometheus text 0.0.4 or OpenMetrics 1.0. Every
 * family is read in one synchronous pass before anything is awaited, so families reading shared
 * state at read time (the /scrape layout, targets/layout.ts) all see the state of the same target:
 * a snapshot family through samples(), any other through get() or getForPromString(), as
 * prom-client's registry reads it.
 */
export async function exposition(families: readonly Family[], format: ExpositionFormat): Promise<string> {
  const reads: Array<FamilySnapshot | Promise<FamilySnapshot>> = []
  const waiting: number[] = []
  for (const f of families) {
    if (typeof f.samples === 'function' && f.type !== undefined) {
      // A snapshot family's get() would copy these and wrap them in a promise.
      reads.push({ name: f.name, help: f.help, type: f.type, values: f.samples() })
    } else {
      waiting.push(reads.length)
      reads.push(typeof f.getForPromString === 'function' ? f.getForPromString() : f.get())
    }
  }
  for (const i of waiting) reads[i] = await reads[i]!
  const snapshots = reads as FamilySnapshot[]
  let out = ''
  const separator = format === 'openmetrics' ? '\n' : '\n\n'
  for (let i = 0; i < families.length; i++)
    out += (i === 0 ? '' : separator) + block(families[i] as Family, snapshots[i] as FamilySnapshot, format)
  return format === 'openmetrics' ? `${out}\n# EOF\n` : `${out}\n`
}
