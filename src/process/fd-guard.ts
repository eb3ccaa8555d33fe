import { getHeapStatistics } from 'node:v8'
import { isFdExhaustion } from './fd-limit.js'

export interface FdGuardOptions {
  /** Called for every EMFILE/ENFILE the guard absorbed (count it). */
  onExhausted(err: NodeJS.ErrnoException, where: string): void
  /** Called on the first good reading after one or more failures. */
  onRecovered?(): void
}

export interface FdGuard {
  /** Reports an fd exhaustion seen elsewhere (the listener's accept). */
  exhausted(err: NodeJS.ErrnoException, where: string): void
  /** Restores process.memoryUsage. */
  uninstall(): void
}

/**
 * process.memoryUsage() opens /proc/self/stat for the RSS, so it throws EMFILE when descriptors run
 * out. @fastify/under-pressure and prom-client call it from timers where nothing can catch it, and
 * the uncaught error takes the process down. The guard answers with the last good reading instead
 * (RSS and heap change slowly; a sample that is a second old misleads nobody) and reports it.
 */
export function installFdGuard(options: FdGuardOptions): FdGuard {
  const original = process.memoryUsage
  const originalRss = original.rss
  let last: NodeJS.MemoryUsage | undefined
  let failing = false

  const exhausted = (err: NodeJS.ErrnoException, where: string) => {
    failing = true
    options.onExhausted(err, where)
  }
  const recovered = () => {
    if (!failing) return
    failing = false
    options.onRecovered?.()
  }
  const fallback = (): NodeJS.MemoryUsage => {
    if (last) return last
    const heap = getHeapStatistics()
    return {
      rss: 0,
      heapTotal: heap.total_heap_size,
      heapUsed: heap.used_heap_size,
      external: heap.external_memory,
      arrayBuffers: 0,
    }
  }

  const guarded = (() => {
    try {
      last = original.call(process)
      recovered()
      return last
    } catch (err) {
      if (!isFdExhaustion(err)) throw err
      exhausted(err as NodeJS.ErrnoException, 'process.memoryUsage')
      return fallback()
    }
  }) as typeof process.memoryUsage
  guarded.rss = () => {
    try {
      const rss = originalRss.call(process.memoryUsage)
      recovered()
      return rss
    } catch (err) {
      if (!isFdExhaustion(err)) throw err
      exhausted(err as NodeJS.ErrnoException, 'process.memoryUsage.rss')
      return fallback().rss
    }
  }
  process.memoryUsage = guarded

  return {
    exhausted,
    uninstall() {
      if (process.memoryUsage === guarded) process.memoryUsage = original
    },
  }
}
