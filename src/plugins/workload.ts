import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { PoolMonitor } from '../monitor/types.js'

/** Key patterns the workload writes; the demo passes them as KEY_GROUPS. */
export const WORKLOAD_KEY_GROUPS = ['user:*', 'session:*', 'cart:*'] as const

export interface WorkloadOptions {
  /** One round of commands every this many ms. @default 100 */
  intervalMs?: number
  /** Every this many rounds, a burst of concurrent GETs that fills the pool. @default 20 */
  burstEvery?: number
  /** Concurrent GETs in a burst. @default 400 */
  burstSize?: number
}

export interface Workload {
  stop(): Promise<void>
}

const ignore = () => undefined

/**
 * A synthetic load through the pool so every client-side family moves: GET/SET/INCR hits and
 * misses, pipelines, MULTI, a blocking BLPOP (exclusive lease), WRONGTYPE reply errors, and
 * bursts that push utilization to 100 % and make operations wait.
 */
export function startWorkload(monitor: PoolMonitor, options: WorkloadOptions = {}): Workload {
  const intervalMs = options.intervalMs ?? 100
  const burstEvery = options.burstEvery ?? 20
  const burstSize = options.burstSize ?? 400
  let round = 0
  let stopped = false
  let running: Promise<void> | undefined

  async function once(): Promise<void> {
    round++
    const n = round % 500
    await Promise.allSettled([
      monitor.call('SET', `user:${n}`, `{"id":${n},"name":"user ${n}"}`),
      monitor.call('GET', `user:${(n * 7) % 500}`),
      monitor.call('GET', `user:missing:${n}`),
      monitor.call('INCR', 'demo:counter'),
      monitor.call('SET', `session:${n}`, 'token', 'EX', 120),
      monitor.call('HSET', `cart:${n % 50}`, `item:${n}`, String(n)),
      // Lower-case names: ioredis' pipeline() looks commands up as methods.
      monitor.pipeline([
        ['get', `user:${n}`],
        ['hgetall', `cart:${n % 50}`],
        ['exists', `session:${n}`],
        ['incrby', 'demo:pipelined', 2],
      ]),
      monitor.multi([
        ['incr', 'demo:tx'],
        ['expire', 'demo:tx', 600],
      ]),
      // WRONGTYPE: a list command on a string key, a reply error that must not trip the breaker.
      round % 5 === 0 ? monitor.call('LPUSH', `user:${n}`, 'x') : undefined,
      round % 10 === 0 ? monitor.call('BLPOP', 'demo:queue', '0.05') : undefined,
    ])
    if (round % burstEvery === 0) {
      await Promise.allSettled(
        Array.from({ length: burstSize }, (_, i) => monitor.call('GET', `user:${i % 500}`)),
      )
    }
  }

  // A round still running (a slow or frozen Redis) skips the tick rather than queueing behind it.
  const timer = setInterval(() => {
    if (stopped || running) return
    running = once()
      .catch(ignore)
      .finally(() => {
        running = undefined
      })
  }, intervalMs)
  timer.unref()

  return {
    async stop() {
      stopped = true
      clearInterval(timer)
      await running
    },
  }
}

/** Runs the workload for the app's lifetime: the demo and `BENCH_POOL_LOAD=1`. */
async function workloadPlugin(fastify: FastifyInstance, options: WorkloadOptions) {
  let workload: Workload | undefined
  fastify.addHook('onReady', async () => {
    workload = startWorkload(fastify.poolMonitor, options)
  })
  fastify.addHook('preClose', async () => {
    await workload?.stop()
  })
}

export default fp(workloadPlugin, {
  name: 'rpm-workload',
  dependencies: ['rpm-pool-monitor'],
  fastify: '5.x',
})
