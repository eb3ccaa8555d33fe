import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait-for.js'
import {
  ALERTMANAGER_DIR,
  type Child,
  getJson,
  onPath,
  readYaml,
  run,
  startChild,
  waitForReady,
} from './support.js'

const CONFIG = join(ALERTMANAGER_DIR, 'alertmanager.yml')

interface Receiver {
  name: string
  webhook_configs?: Array<Record<string, unknown>>
  slack_configs?: Array<Record<string, unknown>>
  telegram_configs?: Array<Record<string, unknown>>
  email_configs?: Array<Record<string, unknown>>
}
interface AlertmanagerConfig {
  global: Record<string, unknown>
  route: {
    receiver: string
    group_by: string[]
    group_wait: string
    group_interval: string
    repeat_interval: string
    routes: Array<{ matchers: string[]; receiver: string; repeat_interval?: string }>
  }
  inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal: string[] }>
  receivers: Receiver[]
}

const routeOf = async (...labels: string[]) =>
  (await run('amtool', ['config', 'routes', 'test', `--config.file=${CONFIG}`, ...labels])).stdout.trim()

describe('Alertmanager configuration (prometheus/alertmanager)', () => {
  const config = readYaml<AlertmanagerConfig>(CONFIG)

  it('passes amtool check-config, templates included', async () => {
    const result = await run('amtool', ['check-config', CONFIG])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stdout).toMatch(/SUCCESS/)
    expect(result.stdout).toMatch(/1 templates/)
  })

  it('renders every notification template the receivers use', async () => {
    const text = readFileSync(CONFIG, 'utf8')
    const used = [...new Set([...text.matchAll(/template "([\w.]+)"/g)].map((m) => m[1] ?? ''))]
    expect(used.sort()).toEqual(['rpm.email.text', 'rpm.slack.text', 'rpm.telegram.message', 'rpm.title'])
    for (const name of used) {
      const result = await run('amtool', [
        'template',
        'render',
        `--template.glob=${join(ALERTMANAGER_DIR, 'templates', '*.tmpl')}`,
        `--template.text={{ template "${name}" . }}`,
      ])
      expect(result.code, `${name}: ${result.stderr}`).toBe(0)
      expect(result.stdout, name).toMatch(/\S/)
    }
  })

  it('routes by severity: critical and warning to their receivers, anything else to the webhook', async () => {
    expect(await routeOf('alertname=RedisDown', 'severity=critical', 'instance=a')).toBe('critical')
    expect(await routeOf('alertname=RedisHighLatency', 'severity=warning', 'instance=a')).toBe('warning')
    expect(await routeOf('alertname=Other', 'instance=a')).toBe('webhook')
  })

  it('groups by alert name and instance and limits repeats', () => {
    expect(config.route.group_by).toEqual(['alertname', 'instance'])
    for (const key of ['group_wait', 'group_interval', 'repeat_interval'] as const) {
      expect(config.route[key]).toMatch(/^\d+[smh]$/)
    }
  })

  it('notifies critical alerts by webhook, Slack, Telegram and email, warnings by webhook and Slack, repeating every 1 h and 4 h', () => {
    const integrations = Object.fromEntries(
      config.receivers.map((r) => [
        r.name,
        (['webhook', 'slack', 'telegram', 'email'] as const).filter(
          (kind) => r[`${kind}_configs`] !== undefined,
        ),
      ]),
    )
    expect(integrations).toEqual({
      webhook: ['webhook'],
      warning: ['webhook', 'slack'],
      critical: ['webhook', 'slack', 'telegram', 'email'],
    })
    const repeat = Object.fromEntries(config.route.routes.map((r) => [r.receiver, r.repeat_interval]))
    expect(repeat).toEqual({ critical: '1h', warning: '4h' })
  })

  it('has webhook, Slack, Telegram and email receivers whose secrets come from files', () => {
    const critical = config.receivers.find((r) => r.name === 'critical')
    expect(critical?.webhook_configs).toHaveLength(1)
    expect(critical?.slack_configs).toHaveLength(1)
    expect(critical?.telegram_configs).toHaveLength(1)
    expect(critical?.email_configs).toHaveLength(1)
    expect(config.global.slack_api_url_file).toMatch(/^\/etc\/alertmanager\/secrets\//)
    expect(config.global.smtp_auth_password_file).toMatch(/^\/etc\/alertmanager\/secrets\//)
    const text = readFileSync(CONFIG, 'utf8')
    expect(text).not.toMatch(/^\s*(api_url|auth_password|slack_api_url|smtp_auth_password):/m)
    // 0.25 has no bot_token_file: the token is a placeholder start.sh fills from a secret file.
    expect(critical?.telegram_configs?.[0]?.bot_token).toBe('__TELEGRAM_BOT_TOKEN__')
  })
})

describe('a real Alertmanager started by start.sh', () => {
  let dir: string
  let alertmanager: Child
  let url: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rpm-alertmanager-'))
    writeFileSync(join(dir, 'telegram_bot_token'), '123456:test-token\n')
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    alertmanager = startChild(
      'sh',
      [
        join(ALERTMANAGER_DIR, 'start.sh'),
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      {
        ...process.env,
        ALERTMANAGER_BIN: onPath('alertmanager', 'prometheus-alertmanager'),
        ALERTMANAGER_CONFIG_DIR: ALERTMANAGER_DIR,
        ALERTMANAGER_RENDER_DIR: join(dir, 'rendered'),
        TELEGRAM_BOT_TOKEN_FILE: join(dir, 'telegram_bot_token'),
      },
    )
    await waitForReady(`${url}/-/ready`, alertmanager)
  })

  afterAll(async () => {
    await alertmanager?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('runs on a copy of the configuration holding the Telegram token from the secret file', async () => {
    const rendered = readFileSync(join(dir, 'rendered', 'alertmanager.yml'), 'utf8')
    expect(rendered).toContain('bot_token: 123456:test-token\n')
    expect(rendered).not.toContain('__TELEGRAM_BOT_TOKEN__')
    const status = await getJson<{ config: { original: string } }>(`${url}/api/v2/status`)
    expect(status.config.original).toContain('telegram_configs')
    expect(status.config.original).not.toContain('test-token')
  })

  it('mutes the other Redis alerts of an instance whose Redis is down, and each warning under its critical variant (pool, memory), not those of other instances', async () => {
    const alert = (
      alertname: string,
      instance: string,
      severity: string,
      extra: Record<string, string> = {},
    ) => ({
      labels: { alertname, instance, severity, job: 'redis-pool-monitor', ...extra },
      annotations: { summary: `${alertname} on ${instance}` },
    })
    const response = await fetch(`${url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        alert('RedisDown', 'a:9122', 'critical'),
        alert('RedisCircuitBreakerOpen', 'a:9122', 'critical', { pool: 'default' }),
        alert('RedisMonitorCollectionFailing', 'a:9122', 'warning'),
        alert('RedisCircuitBreakerOpen', 'b:9122', 'critical', { pool: 'default' }),
        alert('RedisPoolCriticalUtilization', 'b:9122', 'critical', { pool: 'default' }),
        alert('RedisPoolHighUtilization', 'b:9122', 'warning', { pool: 'default' }),
        alert('RedisPoolHighUtilization', 'b:9122', 'warning', { pool: 'other' }),
        alert('RedisMemoryCritical', 'c:9122', 'critical'),
        alert('RedisMemoryHigh', 'c:9122', 'warning'),
        alert('RedisMemoryHigh', 'd:9122', 'warning'),
      ]),
    })
    expect(response.status).toBe(200)

    type Listed = Array<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }>
    const key = (a: Listed[number]) => `${a.labels.alertname}@${a.labels.instance}/${a.labels.pool ?? ''}`
    const states = await waitFor(
      async () => {
        const alerts = await getJson<Listed>(`${url}/api/v2/alerts`)
        const byKey = new Map(alerts.map((a) => [key(a), a.status.state]))
        return byKey.get('RedisCircuitBreakerOpen@a:9122/default') === 'suppressed' ? byKey : undefined
      },
      { timeoutMs: 10_000, what: 'the breaker alert of a:9122 to be inhibited' },
    )
    expect(Object.fromEntries(states)).toEqual({
      'RedisDown@a:9122/': 'active',
      'RedisCircuitBreakerOpen@a:9122/default': 'suppressed',
      'RedisMonitorCollectionFailing@a:9122/': 'suppressed',
      'RedisCircuitBreakerOpen@b:9122/default': 'active',
      'RedisPoolCriticalUtilization@b:9122/default': 'active',
      'RedisPoolHighUtilization@b:9122/default': 'suppressed',
      'RedisPoolHighUtilization@b:9122/other': 'active',
      'RedisMemoryCritical@c:9122/': 'active',
      'RedisMemoryHigh@c:9122/': 'suppressed',
      'RedisMemoryHigh@d:9122/': 'active',
    })
  })
})
