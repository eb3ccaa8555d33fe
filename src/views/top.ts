import type { HistorySample } from '../collectors/server-stats.js'
import type { Snapshot, Source } from './source.js'

export interface TopOptions {
  source: Source
  redis: string
  intervalMs: number
  stdout: NodeJS.WriteStream
  stdin: NodeJS.ReadStream
}

// The alternate screen buffer (xterm, supported by every terminal emulator in use): the dashboard
// draws there and the shell's scrollback comes back untouched on exit. Ink itself has no option.
const ENTER_ALTERNATE_SCREEN = '\u001b[?1049h\u001b[H\u001b[2J'
const LEAVE_ALTERNATE_SCREEN = '\u001b[?1049l'

/**
 * Ink and React, loaded only here: `serve` and library users never load a terminal UI, and they are
 * optional dependencies (`npm install --omit=optional` leaves out 40 packages, about 25 MB).
 */
type TerminalUi = [typeof import('ink'), typeof import('react'), typeof import('./dashboard.js')]

export function loadTerminalUi(): Promise<TerminalUi> {
  // Ink renders only the final frame when CI or CONTINUOUS_INTEGRATION is set (is-in-ci, read
  // when Ink loads). `top` runs on a TTY, so a person is watching: show every frame.
  delete process.env['CI']
  delete process.env['CONTINUOUS_INTEGRATION']
  return Promise.all([import('ink'), import('react'), import('./dashboard.js')])
}

/** Runs the live dashboard until q, Esc, Ctrl+C, SIGTERM or SIGHUP; resolves when the terminal is restored. */
export async function runTop(options: TopOptions): Promise<void> {
  const { source, stdout, stdin, intervalMs } = options
  const [{ render, useApp, useInput }, React, { Dashboard }] = await loadTerminalUi()
  const h = React.createElement

  let snapshot: Snapshot | undefined
  let history: HistorySample[] = []
  const props = () => ({
    redis: options.redis,
    intervalSeconds: intervalMs / 1000,
    snapshot,
    history,
    columns: stdout.columns || 80,
    rows: stdout.rows || 24,
  })

  function App(appProps: ReturnType<typeof props>) {
    const { exit } = useApp()
    useInput((input, key) => {
      if (input === 'q' || input === 'Q' || key.escape || (key.ctrl && input === 'c')) exit()
    })
    return h(Dashboard, appProps)
  }

  stdout.write(ENTER_ALTERNATE_SCREEN)
  const instance = render(h(App, props()), {
    stdout,
    stdin,
    // Ctrl+C goes through useInput above so the same cleanup runs for q and Ctrl+C.
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 10,
  })
  const redraw = () => instance.rerender(h(App, props()))
  const onResize = () => {
    // Shrinking leaves old cells behind in some terminals: start from a clean screen.
    instance.clear()
    redraw()
  }
  stdout.on('resize', onResize)
  const stop = () => instance.unmount()
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT']
  for (const signal of signals) process.on(signal, stop)

  let timer: NodeJS.Timeout | undefined
  let running = true
  const refresh = () => {
    if (!running) return
    snapshot = source.current()
    history = source.history()
    redraw()
  }
  // The first snapshot starts the probe and history sampling; later refreshes only read them.
  source.snapshot().then((first) => {
    if (!running) return
    snapshot = first
    history = source.history()
    redraw()
    timer = setInterval(refresh, intervalMs)
    timer.unref()
  }, refresh)

  try {
    await instance.waitUntilExit()
  } finally {
    running = false
    clearInterval(timer)
    stdout.off('resize', onResize)
    for (const signal of signals) process.off(signal, stop)
    stdout.write(LEAVE_ALTERNATE_SCREEN)
  }
}
