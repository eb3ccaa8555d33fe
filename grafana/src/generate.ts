/** Writes the dashboard built in dashboard.ts to grafana/dashboards/ (npm run generate:dashboard). */
import { writeFileSync } from 'node:fs'
import { dashboardJson } from './dashboard.js'

const target = new URL('../dashboards/redis-pool-monitor.json', import.meta.url)
writeFileSync(target, dashboardJson())
process.stdout.write(`wrote ${target.pathname}\n`)
