// Makes the README's pictures from the real thing: a headless Chromium screenshot of the status
// page (docs/images/status-page.png) and a tmux capture of `top` (docs/images/top.txt, copied into
// README.md between its markers). Rerun after a change to the page or to `top`:
//   npm run build && npx tsx scripts/readme-pictures.ts
// Needs redis-server, tmux and chromium (npm test's pretest installs them).
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { chromium } from 'playwright-core'
import { buildApp } from '../src/app.js'
import { parseConfig } from '../src/config/config.js'
import { startRedis } from '../test/helpers/redis-server.js'
import { ENTRY, ROOT } from '../test/helpers/service-process.js'
import { waitFor } from '../test/helpers/wait-for.js'

const run = promisify(execFile)
const IMAGES = join(ROOT, 'docs', 'images')
const SOCKET = `rpm-pictures-${process.pid}`
const tmux = async (...args: string[]) => (await run('tmux', ['-L', SOCKET, ...args])).stdout

const redis = await startRedis()
const app = await buildApp({
  config: parseConfig({ REDIS_URL: redis.url, KEY_GROUPS: 'user:*,session:*,cart:*', LOG_LEVEL: 'warn' }),
  workload: true,
})
try {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (!address || typeof address !== 'object') throw new Error('the app is not listening')

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`http://127.0.0.1:${address.port}/`, { waitUntil: 'load' })
    // History is sampled every 5 s: wait for a few points on every chart and the key-group table.
    await waitFor(
      async () =>
        (await page.$$eval('figure.chart', (figures) =>
          figures.every((f) => Number(f.getAttribute('data-points')) >= 4),
        )) && (await page.locator('#groups tbody tr').count()) > 0,
      { timeoutMs: 60_000, what: 'charts with four samples and the key-group table' },
    )
    await page.screenshot({ path: join(IMAGES, 'status-page.png') })
  } finally {
    await browser.close()
  }

  // `top` against the same Redis while the workload runs, in a terminal of a common size.
  const command = `${process.execPath} ${ENTRY} top --interval 1 --redis-url ${redis.url} --key-groups 'user:*,session:*,cart:*'`
  await tmux('new-session', '-d', '-s', 'top', '-x', '100', '-y', '30', command)
  await new Promise((resolve) => setTimeout(resolve, 8_000))
  const screen = (await tmux('capture-pane', '-p', '-t', 'top'))
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trimEnd()
  await tmux('kill-server').catch(() => undefined)
  writeFileSync(join(IMAGES, 'top.txt'), `${screen}\n`)
  const readme = join(ROOT, 'README.md')
  const text = readFileSync(readme, 'utf8')
  const block = /(<!-- top:start -->\n)[\s\S]*?(<!-- top:end -->)/
  if (!block.test(text)) throw new Error('README.md has no <!-- top:start --> ... <!-- top:end --> block')
  writeFileSync(readme, text.replace(block, `$1\`\`\`text\n${screen}\n\`\`\`\n$2`))
  process.stdout.write(`wrote ${join(IMAGES, 'status-page.png')}, ${join(IMAGES, 'top.txt')} and README.md\n`)
} finally {
  await app.close()
  await redis.stop()
}
