import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROMETHEUS_DIR, readYaml, run } from './support.js'

const EXAMPLE = join(PROMETHEUS_DIR, 'examples', 'redis-cluster.yml')

interface Job {
  job_name: string
  metrics_path?: string
  http_sd_configs?: Array<{ url: string }>
  relabel_configs?: Array<{ source_labels?: string[]; target_label: string; replacement?: string }>
}

describe('prometheus/examples/redis-cluster.yml (every cluster node through /scrape)', () => {
  it('passes promtool check config', async () => {
    const result = await run('promtool', ['check', 'config', EXAMPLE])
    expect(result.code, result.stdout + result.stderr).toBe(0)
  })

  it('discovers nodes at /discover-cluster-nodes and sends each to /scrape?target= on the service', () => {
    const jobs = readYaml<{ scrape_configs: Job[] }>(EXAMPLE).scrape_configs
    const job = jobs.find((j) => j.job_name === 'redis-cluster')
    expect(job?.http_sd_configs?.[0]?.url).toBe('http://redis-pool-monitor:9122/discover-cluster-nodes')
    expect(job?.metrics_path).toBe('/scrape')
    expect(job?.relabel_configs).toEqual([
      { source_labels: ['__address__'], target_label: '__param_target' },
      { source_labels: ['__param_target'], target_label: 'instance' },
      { target_label: '__address__', replacement: 'redis-pool-monitor:9122' },
    ])
  })
})
