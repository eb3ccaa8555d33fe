import type { Logger } from 'pino'

/** A typed subscription: `on` returns the function that unsubscribes. */
export interface EventSource<E> {
  on<K extends keyof E>(event: K, listener: (payload: E[K]) => void): () => void
  off<K extends keyof E>(event: K, listener: (payload: E[K]) => void): void
}

export interface EventHub<E> extends EventSource<E> {
  emit<K extends keyof E>(event: K, payload: E[K]): void
  listenerCount(event: keyof E): number
}

/**
 * A small typed event hub for the library's own state changes. Listeners run synchronously in
 * subscription order; one that throws (or returns a promise that rejects) is logged and skipped,
 * so an application's bug never breaks the collection or the pool that emitted the event.
 */
export function createEventHub<E>(logger: Pick<Logger, 'error'>): EventHub<E> {
  const listeners = new Map<keyof E, Array<(payload: never) => void>>()
  const failed = (event: keyof E, err: unknown) =>
    logger.error({ err, event: String(event) }, `a listener of the ${String(event)} event threw; ignored`)

  // Closures, not methods: the owners hand out `on` and `off` detached from this object.
  const off: EventSource<E>['off'] = (event, listener) => {
    const list = listeners.get(event)
    if (!list) return
    const index = list.indexOf(listener as (payload: never) => void)
    if (index >= 0) listeners.set(event, [...list.slice(0, index), ...list.slice(index + 1)])
  }
  return {
    on(event, listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener as (payload: never) => void])
      return () => off(event, listener)
    },
    off,
    emit(event, payload) {
      // The array is replaced on every change, so a listener unsubscribing mid-emit is safe.
      for (const listener of listeners.get(event) ?? []) {
        try {
          const result = (listener as (p: typeof payload) => unknown)(payload)
          if (result && typeof (result as Promise<unknown>).then === 'function')
            (result as Promise<unknown>).then(undefined, (err: unknown) => failed(event, err))
        } catch (err) {
          failed(event, err)
        }
      }
    },
    listenerCount: (event) => listeners.get(event)?.length ?? 0,
  }
}
