/** Families of the durable status history (src/history/), registered only when HISTORY_FILE is set. */
export const historyMetrics = {
  fileUp: {
    name: 'redis_monitor_history_file_up',
    help: 'Whether status samples are written to HISTORY_FILE: 1 yes, 0 the file is unusable and history is in memory only (boolean).',
    labelNames: [] as const,
  },
} as const
