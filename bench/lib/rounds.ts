import { drive, type Op, type Run } from './drive.js'
import { percentile, round } from './stats.js'

/** One side of a throughput comparison. */
export interface Variant<N extends string = string> {
  readonly name: N
  readonly op: Op
}

/** A variant with what it holds open (clients, a pool) to close after the rounds. */
export interface ClosableVariant<N extends string = string> extends Variant<N> {
  close(): Promise<void>
}

/**
 * The throughput scenarios' rounds: concurrency 1, 16 and 256, BENCH_ROUNDS rounds (default 5) of
 * BENCH_RUN_MS each (default 2000; a quick check: BENCH_ROUNDS=2 BENCH_RUN_MS=100).
 */
export const THROUGHPUT_ROUNDS = {
  concurrency: [1, 16, 256] as const,
  rounds: Number(process.env['BENCH_ROUNDS'] ?? 5),
  runMs: Number(process.env['BENCH_RUN_MS'] ?? 2_000),
}

/** `{ c1: …, c16: … }`: one value per concurrency level, keyed as the results files spell it. */
export type ByConcurrency<C extends readonly number[], T> = Record<`c${C[number]}`, T>

/** One value per concurrency level, in the order of `levels`. */
export const byConcurrency = <const C extends readonly number[], T>(
  levels: C,
  f: (c: C[number]) => T,
): ByConcurrency<C, T> => Object.fromEntries(levels.map((c) => [`c${c}`, f(c)])) as ByConcurrency<C, T>

export interface Rounds<N extends string, C extends readonly number[]> {
  /** Pooled over every round: total operations over total time, per second. */
  opsPerSec(name: N, c: C[number]): number
  /** p99 (ms) of every latency of every round. */
  p99(name: N, c: C[number]): number
  /** Per concurrency, `a`'s ops/s over `b`'s in each round (both ran back to back), 3 decimals. */
  ratioPerRound(a: N, b: N): ByConcurrency<C, number[]>
  /** One value per concurrency level of this run. */
  byConcurrency<T>(f: (c: C[number]) => T): ByConcurrency<C, T>
}

/**
 * Runs every variant for `runMs` at each concurrency, `rounds` times. Within a round the order
 * rotates by one each time (two variants: they alternate who goes first), so machine noise hits all
 * alike; each round prints one line `round r cC: name ops/s, …` as it ends.
 */
export async function interleavedRounds<N extends string, const C extends readonly number[]>(
  variants: readonly Variant<N>[],
  options: { concurrency: C; rounds: number; runMs: number },
): Promise<Rounds<N, C>> {
  const { concurrency, rounds, runMs } = options
  const totals = new Map<string, Run>()
  const perRound = new Map<string, Array<Record<string, number>>>()
  for (let r = 0; r < rounds; r++) {
    for (const c of concurrency) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!)
      const roundOps: Record<string, number> = {}
      for (const v of order) {
        const run = await drive(v.op, c, runMs)
        const key = `${v.name}:c${c}`
        const total = totals.get(key) ?? { ops: 0, ms: 0, latenciesMs: [] }
        total.ops += run.ops
        total.ms += run.ms
        for (const l of run.latenciesMs) total.latenciesMs.push(l)
        totals.set(key, total)
        roundOps[v.name] = (run.ops / run.ms) * 1000
      }
      perRound.set(`c${c}`, [...(perRound.get(`c${c}`) ?? []), roundOps])
      process.stdout.write(
        `round ${r + 1} c${c}: ${order.map((v) => `${v.name} ${Math.round(roundOps[v.name]!)}/s`).join(', ')}\n`,
      )
    }
  }
  const total = (name: N, c: number) => totals.get(`${name}:c${c}`)!
  const each = <T>(f: (c: C[number]) => T) => byConcurrency(concurrency, f)
  return {
    opsPerSec: (name, c) => (total(name, c).ops / total(name, c).ms) * 1000,
    p99: (name, c) => percentile(total(name, c).latenciesMs, 99),
    ratioPerRound: (a, b) =>
      each((c) => (perRound.get(`c${c}`) ?? []).map((ops) => round(ops[a]! / ops[b]!, 3))),
    byConcurrency: each,
  }
}
