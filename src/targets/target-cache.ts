/** What the cache holds: anything with a last-use time and a close(). */
export interface Closeable {
  readonly lastUsedAt: number
  close(): Promise<void>
}

export interface TargetCacheOptions {
  /** Entries kept at once (SCRAPE_TARGETS_MAX); the least recently used is closed first. */
  max: number
  /** An entry not used for this long is closed by the sweep. */
  idleMs: number
  /** How often the idle sweep runs. @default min(idleMs / 2, 60000) */
  sweepIntervalMs?: number
  now?: () => number
  /** Called with the key of each entry closed (eviction, idle, closeAll), for the log. */
  onClose?: (key: string, why: 'evicted' | 'idle' | 'reload' | 'shutdown') => void
}

export interface TargetCache<T extends Closeable> {
  /** The entry for `key`, made by `create` when absent; marks it most recently used. */
  acquire(key: string, create: () => T): T
  readonly size: number
  keys(): string[]
  /** Closes every entry (SIGHUP reload, shutdown); new acquires start fresh. */
  clear(why: 'reload' | 'shutdown'): Promise<void>
  /** Stops the sweep and closes every entry. */
  close(): Promise<void>
}

/**
 * A bounded LRU of per-target state. A Map keeps insertion order, so re-inserting on use makes the
 * first key the least recently used: eviction and lookup are O(1). The sweep timer is unref'd.
 */
export function createTargetCache<T extends Closeable>(options: TargetCacheOptions): TargetCache<T> {
  const now = options.now ?? Date.now
  const entries = new Map<string, T>()
  const closeEntry = (key: string, entry: T, why: 'evicted' | 'idle' | 'reload' | 'shutdown') => {
    entries.delete(key)
    options.onClose?.(key, why)
    return entry.close().catch(() => {})
  }

  const sweep = setInterval(
    () => {
      const cutoff = now() - options.idleMs
      for (const [key, entry] of entries) if (entry.lastUsedAt < cutoff) void closeEntry(key, entry, 'idle')
    },
    options.sweepIntervalMs ?? Math.min(options.idleMs / 2, 60_000),
  )
  sweep.unref()

  const clear = async (why: 'reload' | 'shutdown') => {
    await Promise.all([...entries].map(([key, entry]) => closeEntry(key, entry, why)))
  }

  return {
    acquire(key, create) {
      let entry = entries.get(key)
      if (entry !== undefined) {
        entries.delete(key)
        entries.set(key, entry)
        return entry
      }
      while (entries.size >= options.max) {
        const [oldestKey, oldest] = entries.entries().next().value as [string, T]
        void closeEntry(oldestKey, oldest, 'evicted')
      }
      entry = create()
      entries.set(key, entry)
      return entry
    },
    get size() {
      return entries.size
    },
    keys: () => [...entries.keys()],
    clear,
    async close() {
      clearInterval(sweep)
      await clear('shutdown')
    },
  }
}
