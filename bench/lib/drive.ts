import { performance } from 'node:perf_hooks'

/** One operation of a throughput scenario; `i` counts the operations of a run. */
export type Op = (i: number) => Promise<unknown>

export interface Run {
  ops: number
  ms: number
  latenciesMs: number[]
}

/** `concurrency` callers issue operations back to back for `ms`; every latency is kept. */
export async function drive(op: Op, concurrency: number, ms: number): Promise<Run> {
  const latenciesMs: number[] = []
  let counter = 0
  const started = performance.now()
  const deadline = started + ms
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const i = counter++
        const t = performance.now()
        await op(i)
        latenciesMs.push(performance.now() - t)
      }
    }),
  )
  return { ops: latenciesMs.length, ms: performance.now() - started, latenciesMs }
}
