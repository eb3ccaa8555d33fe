/** Families of the process's own limits (src/process/), registered by server.ts on the app's registry. */
export const processLimitMetrics = {
  fdExhausted: {
    name: 'redis_monitor_fd_exhausted_total',
    help: 'Times the process ran out of file descriptors (EMFILE or ENFILE) and carried on; where: memory_sample or accept (count).',
    labelNames: ['where'] as const,
  },
  httpConnectionsDropped: {
    name: 'redis_monitor_http_connections_dropped_total',
    help: 'HTTP connections closed at accept because MAX_CONNECTIONS connections were already open (count).',
    labelNames: ['listener'] as const,
  },
  httpMaxConnections: {
    name: 'redis_monitor_http_max_connections',
    help: 'HTTP connections served at once before new ones are closed at accept (MAX_CONNECTIONS; count).',
    labelNames: ['listener'] as const,
  },
} as const
