import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { freePort, type RedisServer, startRedis } from '../helpers/redis-server.js'
import { runService, type ServiceProcess } from '../helpers/service-process.js'
import { waitFor } from '../helpers/wait-for.js'
import {
  type Child,
  EXAMPLE_SERVICE,
  getJson,
  PROMETHEUS_DIR,
  readYaml,
  run,
  SCRAPE_THROUGH_SERVICE_RELABEL,
  startChild,
  waitForReady,
} from './support.js'

const FLEET = join(PROMETHEUS_DIR, 'examples', 'fleet.yml')
const SHARDED = join(PROMETHEUS_DIR, 'examples', 'fleet-sharded.yml')
const SERVICE = EXAMPLE_SERVICE

interface Job {
  job_name: string
  metrics_path: string
  static_configs: Array<{ targets: string[]; labels?: Record<string, string> }>
  relabel_configs: Array<Record<string, unknown>>
}
interface Config {
  global: Record<string, unknown>
  scrape_configs: Job[]
}
interface Targets {
  data: { activeTargets: Array<{ labels: Record<string, string>; scrapeUrl: string; health: string }> }
}

describe('prometheus/examples/fleet.yml and fleet-sharded.yml', () => {
  it('pass promtool check config', async () => {
    for (const file of [FLEET, SHARDED]) {
      const result = await run('promtool', ['check', 'config', file])
      expect(result.code, result.stdout + result.stderr).toBe(0)
    }
  })

  it('send each Redis to /scrape?target= on the service, the Redis as instance', () => {
    const job = readYaml<Config>(FLEET).scrape_configs[0]!
    expect(job.metrics_path).toBe('/scrape')
    expect(job.relabel_configs).toEqual(SCRAPE_THROUGH_SERVICE_RELABEL)
    // The sharded file is the same job with hashmod + keep in front.
    const sharded = readYaml<Config>(SHARDED).scrape_configs[0]!
    expect(sharded.relabel_configs.slice(2)).toEqual(job.relabel_configs)
    expect(sharded.relabel_configs[0]).toMatchObject({ action: 'hashmod', modulus: 2 })
  })
})

// Two Prometheus servers run fleet-sharded.yml as shards 0 and 1 against the real service and eight
// targets (one redis-server, eight databases): every target is scraped by exactly one of them.
describe('hashmod sharding end to end (redis-server, the service, two prometheus)', () => {
  let dir: string
  let redis: RedisServer
  let service: ServiceProcess
  const shards: Array<{ child: Child; api: string }> = []
  let targets: string[]

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rpm-fleet-stack-'))
    redis = await startRedis()
    service = await runService({
      env: { REDIS_URL: redis.url, SCRAPE_TARGETS: `127.0.0.1:${redis.port}`, LOG_LEVEL: 'warn' },
    })
    targets = Array.from({ length: 8 }, (_, db) => `127.0.0.1:${redis.port}/${db}`)
    const example = readYaml<Config>(SHARDED)
    for (const shard of [0, 1]) {
      const job = JSON.parse(
        JSON.stringify(example.scrape_configs[0]).replaceAll(SERVICE, `127.0.0.1:${service.port}`),
      ) as Job
      job.static_configs = [{ targets }]
      job.relabel_configs = job.relabel_configs.map((r) =>
        r['action'] === 'keep' ? { ...r, regex: String(shard) } : r,
      )
      const file = join(dir, `shard-${shard}.yml`)
      writeFileSync(
        file,
        stringify({ global: { scrape_interval: '1s', scrape_timeout: '1s' }, scrape_configs: [job] }),
      )
      const port = await freePort()
      const child = startChild('prometheus', [
        `--config.file=${file}`,
        `--storage.tsdb.path=${join(dir, `data-${shard}`)}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ])
      shards.push({ child, api: `http://127.0.0.1:${port}` })
    }
    for (const { child, api } of shards) await waitForReady(`${api}/-/ready`, child)
  }, 90_000)

  afterAll(async () => {
    for (const { child } of shards) await child.stop()
    await service?.stop()
    await redis?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('splits the targets: disjoint shards whose union is every target, each scraped up through /scrape', async () => {
    const perShard = await Promise.all(
      shards.map(({ api }) =>
        waitFor(
          async () => {
            const active = (await getJson<Targets>(`${api}/api/v1/targets`)).data.activeTargets
            return active.length > 0 && active.every((t) => t.health === 'up') ? active : undefined
          },
          { timeoutMs: 30_000, what: 'every kept target up' },
        ),
      ),
    )
    const instances = perShard.map((active) => active.map((t) => t.labels['instance']!).sort())
    expect(instances[0]!.filter((i) => instances[1]!.includes(i))).toEqual([])
    expect([...instances[0]!, ...instances[1]!].sort()).toEqual([...targets].sort())
    for (const t of perShard.flat())
      expect(t.scrapeUrl).toBe(
        `http://127.0.0.1:${service.port}/scrape?target=${encodeURIComponent(t.labels['instance']!)}`,
      )
  })
})
