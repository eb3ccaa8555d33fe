import { createCommandDenied } from '../collectors/command-denied.js'
import { createKeyGroupCollector } from '../collectors/key-group-collector.js'
import { createScrape } from '../collectors/scrape.js'
import { notOnSentinel } from '../collectors/sentinel.js'
import { SERVER_COLLECTORS } from '../collectors/server-collectors.js'
import type { CreateCollection } from './target-state.js'

/**
 * A target's families: every server-side collector /metrics has, on the target's own registry over
 * its own connection, plus key groups of the target's database when the query asks for them
 * (`check-keys`, redis_exporter's parameter), plus redis_monitor_command_denied for the target's
 * user. Key-group passes run in the background while the target stays cached; a scrape serves the
 * latest pass, never waits for one (the first scrapes after a target appears have none yet).
 */
export const serverSideCollection: CreateCollection = ({
  redis: connection,
  registry,
  logger,
  target,
  checkKeys,
}) => {
  const commandDenied = createCommandDenied({ logger })
  const redis = commandDenied.wrap(connection)
  return createScrape({
    redis,
    registry,
    logger,
    collectors: [
      ...SERVER_COLLECTORS,
      ...(checkKeys.length > 0
        ? // A target may be a Sentinel (discovered ones are): key-group passes start once INFO shows a data node.
          [
            notOnSentinel(
              createKeyGroupCollector({ redis, logger, keyGroups: { patterns: checkKeys, db: target.db } }),
            ),
          ]
        : []),
      commandDenied,
    ],
  })
}
