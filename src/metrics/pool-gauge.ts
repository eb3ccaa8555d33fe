import { Gauge, type Registry } from 'prom-client'

/**
 * A gauge with one `pool` series per source, each value read from its source at scrape time
 * (prom-client's `collect()`); a source that reads undefined sets nothing. `sources` is called on
 * every scrape, so sources attached later are seen.
 */
export function poolGauge<S>(options: {
  def: { name: string; help: string; labelNames: readonly ['pool'] }
  registers: Registry[]
  sources: () => Iterable<S>
  pool: (source: S) => string
  read: (source: S) => number | undefined
}): Gauge<'pool'> {
  const { def, sources, pool, read } = options
  return new Gauge({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    registers: options.registers,
    collect() {
      for (const source of sources()) {
        const value = read(source)
        if (value !== undefined) this.set({ pool: pool(source) }, value)
      }
    },
  })
}
