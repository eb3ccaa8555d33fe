import type { ServerOptions } from 'node:http'

/**
 * A connection must deliver one whole request within this, from its first byte or, idle, from its
 * accept: else Node answers 408 and closes it. Prometheus and probes send a scrape's few hundred
 * bytes at once; a client that opens sockets and sends nothing (or drips headers) held a
 * MAX_CONNECTIONS slot for good, so 64 such sockets kept /metrics unreachable for over a minute.
 * Receiving only: a slow answer (a scrape waiting out its budget on a frozen Redis) is not cut.
 */
export const REQUEST_TIMEOUT_MS = 10_000

/**
 * For both listeners. Node checks the two timeouts every `connectionsCheckingInterval` (30 s by
 * default, which would triple the wait); once a second is a walk over the open connections.
 */
export const HTTP_SERVER_OPTIONS: ServerOptions = {
  requestTimeout: REQUEST_TIMEOUT_MS,
  headersTimeout: REQUEST_TIMEOUT_MS,
  connectionsCheckingInterval: 1_000,
}
