import { Registry } from 'prom-client'
import { type Collector, gauge } from '../collectors/collector.js'
import type { Scrape } from '../collectors/scrape.js'
import { serverMetrics, serviceMetrics } from '../metrics/definitions.js'
import { type ExpositionFormat, exposition, type Family } from './exposition.js'

/** The families every /scrape target has, registered once and rendered for one target at a time. */
export interface TargetLayout {
  /**
   * The text of one target: the shared families as `scrape` sees them, then `own` (the families of
   * the target's stateful collectors: key groups, command denied), in the order a registry of the
   * target's own would hold them.
   */
  render(scrape: Scrape, own: readonly Family[], format: ExpositionFormat): Promise<string>
}

/**
 * One layout for every target instead of a Registry per target: the collectors are stateless and
 * render from a view, so their ~210 families are registered once, on a view of whichever target is
 * being rendered. A per-target Registry held those families as ~118 KB of objects and closures per
 * target (24 MB for 200 targets); this holds them once. Rendering reads every family in one
 * synchronous pass (exposition()), so the target set here is the one every family sees.
 */
export function createTargetLayout(collectors: readonly Collector[]): TargetLayout {
  let current: Scrape | undefined
  const registry = new Registry()
  // The order of createScrape() on a registry of its own: duration, error, redis_up, the collectors.
  gauge(registry, serviceMetrics.scrapeDuration, () => [{ value: current?.status.durationSeconds ?? 0 }])
  gauge(registry, serviceMetrics.lastScrapeError, () => [{ value: current?.status.failed ? 1 : 0 }])
  gauge(registry, serverMetrics.up, () => [{ value: current?.status.up ? 1 : 0 }])
  for (const collector of collectors) collector.register(registry, () => current?.view())
  const shared = registry.getMetricsAsArray() as unknown as Family[]

  return {
    render(scrape, own, format) {
      current = scrape
      try {
        return exposition(own.length > 0 ? [...shared, ...own] : shared, format)
      } finally {
        current = undefined
      }
    },
  }
}
