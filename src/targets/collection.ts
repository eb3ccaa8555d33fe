import { Registry } from 'prom-client'
import { createCommandDenied } from '../collectors/command-denied.js'
import { createKeyGroupCollector } from '../collectors/key-group-collector.js'
import { createScrape } from '../collectors/scrape.js'
import { notOnSentinel } from '../collectors/sentinel.js'
import { SERVER_COLLECTORS } from '../collectors/server-collectors.js'
import type { Family } from './exposition.js'
import { createTargetLayout } from './layout.js'
import type { CreateCollection } from './target-state.js'

/**
 * A target's families: every server-side collector /metrics has, over the target's own connection,
 * plus key groups of the target's database when the query asks for them (`check-keys`,
 * redis_exporter's parameter), plus redis_monitor_command_denied for the target's user. Key-group
 * passes run in the background while the target stays cached; a scrape serves the latest pass,
 * never waits for one (the first scrapes after a target appears have none yet).
 *
 * The stateless collectors' families live once in a layout shared by every target this factory
 * makes (targets/layout.ts); only the stateful ones (key groups, command denied) sit on a small
 * registry of the target's own.
 */
export function createServerSideCollection(): CreateCollection {
  const layout = createTargetLayout(SERVER_COLLECTORS)
  return ({ redis: connection, logger, target, checkKeys, now }) => {
    const commandDenied = createCommandDenied({ logger })
    const redis = commandDenied.wrap(connection)
    const stateful = [
      ...(checkKeys.length > 0
        ? // A target may be a Sentinel (discovered ones are): key-group passes start once INFO shows a data node.
          [
            notOnSentinel(
              createKeyGroupCollector({ redis, logger, keyGroups: { patterns: checkKeys, db: target.db } }),
            ),
          ]
        : []),
      commandDenied,
    ]
    const scrape = createScrape({
      redis,
      logger,
      collectors: [...SERVER_COLLECTORS, ...stateful],
      ...(now ? { now } : {}),
    })
    const registry = new Registry()
    for (const collector of stateful) collector.register(registry, scrape.view)
    const own = registry.getMetricsAsArray() as unknown as Family[]
    // A target's snapshot (INFO parsed, ~40 KB) is needed only from its collection to its render.
    // Kept between scrapes, 200 targets held about 8 MB more RSS, and every snapshot outlived the
    // young generation to die in the old one. Concurrent scrapes of one target share a collection,
    // so it goes once the last of them has rendered.
    let scrapes = 0
    return {
      async scrape(timeoutMs, format) {
        scrapes++
        try {
          await scrape.collect({ timeoutMs })
          return await layout.render(scrape, own, format)
        } finally {
          if (--scrapes === 0) scrape.forget()
        }
      },
      start: () => scrape.start(),
      async close() {
        await scrape.close()
        registry.clear()
      },
    }
  }
}
