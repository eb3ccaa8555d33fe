/* global uPlot */
// The built-in status page: polls /status and /status/history (relative URLs, so it also works
// behind a reverse proxy under a path prefix) and draws them with uPlot. No build step: this file
// is served as it is. Untrusted text (key names, reasons) only ever goes through textContent.
;(() => {
  const POLL_MS = 5000
  // The charts cover this much: after a restart with HISTORY_FILE, the hours before it too.
  const WINDOW_MS = 6 * 3600 * 1000
  const CHART_HEIGHT = 180
  const BREAKER_LEVEL = { closed: 0, half_open: 1, open: 2 }
  const BREAKER_NAMES = ['closed', 'half-open', 'open']

  const $ = (id) => document.getElementById(id)
  const number = (n, digits = 0) =>
    n === null || n === undefined
      ? '–'
      : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
  const percent = (n) => (n === null || n === undefined ? '–' : `${n.toFixed(1)} %`)
  const bytes = (n) => {
    if (n === null || n === undefined) return '–'
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
    let value = n
    let unit = 0
    while (Math.abs(value) >= 1024 && unit < units.length - 1) {
      value /= 1024
      unit++
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`
  }
  const duration = (s) => {
    if (s === null || s === undefined) return ''
    const d = Math.floor(s / 86400)
    const h = Math.floor((s % 86400) / 3600)
    const m = Math.floor((s % 3600) / 60)
    return d > 0 ? `up ${d}d ${h}h` : h > 0 ? `up ${h}h ${m}m` : `up ${m}m ${Math.floor(s % 60)}s`
  }

  const clock = (t) =>
    new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })

  const CHARTS = [
    {
      id: 'memory',
      label: 'used',
      color: '#8250df',
      pick: (s) => s.used_memory_bytes,
      axis: (v) => bytes(v),
    },
    {
      id: 'hit-rate',
      label: 'hit rate %',
      color: '#0969da',
      pick: (s) => s.hit_rate_percent,
      range: [0, 100],
    },
    { id: 'ops', label: 'ops/s', color: '#1a7f37', pick: (s) => s.ops_per_sec },
    { id: 'latency', label: 'ms', color: '#bc4c00', pick: (s) => s.latency_ms },
    {
      id: 'pool',
      label: 'utilization %',
      color: '#cf222e',
      pick: (s) => s.pool_utilization_percent,
      range: [0, 100],
    },
    {
      id: 'breaker',
      label: 'state',
      color: '#9a6700',
      pick: (s) => (s.circuit_breaker_state === null ? null : BREAKER_LEVEL[s.circuit_breaker_state]),
      range: [0, 2],
      stepped: true,
      axis: (v) => BREAKER_NAMES[v] ?? '',
      legend: (v) => (v === null || v === undefined ? '–' : BREAKER_NAMES[v]),
    },
  ]

  function makeChart(def) {
    const el = $(`chart-${def.id}`)
    const series = {
      label: def.label,
      stroke: def.color,
      width: 2,
      fill: `${def.color}22`,
      ...(def.stepped ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
      ...(def.legend ? { value: (_u, v) => def.legend(v) } : {}),
    }
    const yAxis = {
      size: def.axis ? 70 : 50,
      ...(def.axis ? { values: (_u, ticks) => ticks.map(def.axis) } : {}),
      ...(def.stepped ? { splits: () => [0, 1, 2] } : {}),
    }
    const opts = {
      width: Math.max(200, el.clientWidth - 16),
      height: CHART_HEIGHT,
      scales: {
        x: { time: true },
        y: def.range ? { range: def.range } : { range: (_u, _min, max) => [0, Math.max(max, 1)] },
      },
      series: [{}, series],
      axes: [{ space: 80, values: (_u, ticks) => ticks.map(clock) }, yAxis],
      legend: { live: true },
    }
    return { def, el, plot: new uPlot(opts, [[], []], el) }
  }

  const charts = CHARTS.map(makeChart)

  function drawHistory(history) {
    const xs = history.map((s) => Date.parse(s.timestamp) / 1000)
    for (const { def, el, plot } of charts) {
      const ys = history.map((s) => {
        const v = def.pick(s)
        return v === undefined ? null : v
      })
      plot.setData([xs, ys])
      // What the page received, for people inspecting it and for the browser test.
      el.dataset.points = String(xs.length)
      el.dataset.values = String(ys.filter((v) => v !== null).length)
    }
  }

  function drawStatus(status) {
    const label = status.available ? status.status : 'UNREACHABLE'
    const badge = $('status')
    badge.textContent = label
    badge.dataset.status = label
    const reasons = $('reasons')
    reasons.replaceChildren(
      ...status.reasons.map((r) => {
        const li = document.createElement('li')
        li.textContent = r
        return li
      }),
    )
    $('v-version').textContent = status.redis_version ?? '–'
    $('v-uptime').textContent = duration(status.uptime_seconds)
    $('v-memory').textContent =
      status.memory_usage_percent === null
        ? bytes(status.used_memory_bytes)
        : percent(status.memory_usage_percent)
    $('v-memory-sub').textContent =
      status.memory_usage_percent === null
        ? 'no maxmemory set'
        : `${bytes(status.used_memory_bytes)} of ${bytes(status.max_memory_bytes)}`
    $('v-hit-rate').textContent = percent(status.hit_rate_percent)
    $('v-ops').textContent = number(status.ops_per_sec)
    $('v-clients').textContent = number(status.connected_clients)
    $('v-keys').textContent = number(status.total_keys)
    $('v-latency').textContent = status.latency_ms === null ? '–' : `${status.latency_ms.toFixed(2)} ms`
    $('v-breaker').textContent = status.circuit_breaker_state.replace('_', '-')

    const groups = status.key_groups ?? []
    const most = Math.max(1, ...groups.map((g) => g.memory_bytes))
    $('groups-note').textContent =
      groups.length === 0
        ? 'none configured or not scanned yet (KEY_GROUPS)'
        : status.key_groups_sampled_fraction !== null && status.key_groups_sampled_fraction < 1
          ? `estimated from ${percent(status.key_groups_sampled_fraction * 100)} of the keys`
          : ''
    $('groups')
      .querySelector('tbody')
      .replaceChildren(
        ...groups.map((g) => {
          const tr = document.createElement('tr')
          const cells = [g.group, g.db, number(g.count), bytes(g.memory_bytes)]
          cells.forEach((text, i) => {
            const td = document.createElement('td')
            td.textContent = text
            if (i >= 2) td.className = 'num'
            tr.append(td)
          })
          const share = document.createElement('td')
          share.className = 'share'
          const fill = document.createElement('span')
          fill.style.width = `${(100 * g.memory_bytes) / most}%`
          share.append(fill)
          tr.append(share)
          return tr
        }),
      )
  }

  async function getJson(path) {
    const response = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' })
    if (!response.ok) throw new Error(`${path} answered ${response.status}`)
    return response.json()
  }

  // The first poll reads the whole window; later polls only what came after the newest sample.
  let history = []
  function historyPath() {
    const newest = history.at(-1)
    if (!newest) return `status/history?since=${WINDOW_MS / 3600000}h`
    return `status/history?since=${encodeURIComponent(new Date(Date.parse(newest.timestamp) + 1).toISOString())}`
  }

  async function poll() {
    try {
      const [status, fresh] = await Promise.all([getJson('status'), getJson(historyPath())])
      const from = Date.now() - WINDOW_MS
      history = history.concat(fresh).filter((s) => Date.parse(s.timestamp) >= from)
      drawStatus(status)
      drawHistory(history)
      $('banner').hidden = true
      $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`
    } catch (err) {
      // The service restarting or under pressure (503) is expected now and then: say so, retry.
      $('banner').textContent =
        `Cannot read the service right now (${err.message}); retrying every ${POLL_MS / 1000} s.`
      $('banner').hidden = false
    } finally {
      setTimeout(poll, POLL_MS)
    }
  }

  let resizeTimer
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer)
    resizeTimer = setTimeout(() => {
      for (const { el, plot } of charts)
        plot.setSize({ width: Math.max(200, el.clientWidth - 16), height: CHART_HEIGHT })
    }, 100)
  })

  poll()
})()
