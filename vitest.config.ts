import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file starts its own redis-server; files run in parallel (two at a time on these 2-core
    // machines, so process start-up bounds such as the 2 s bad-config exit stay meaningful), tests
    // inside a file in order.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
  },
})
