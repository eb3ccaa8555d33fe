/**
 * Settles like `work`, or, when `ms` pass first, like `onTimeout()` (return a fallback value or
 * throw). The one timeout race of the code base: the timer is unref'd (it never holds the process
 * open) and cleared as soon as either side wins, and `work` keeps running (a caller that must stop
 * it closes what it started).
 */
export async function withTimeout<T, F = never>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => F,
): Promise<T | Awaited<F>> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<Awaited<F>>((resolve, reject) => {
    timer = setTimeout(
      () => {
        try {
          resolve(onTimeout() as Awaited<F>)
        } catch (err) {
          reject(err)
        }
      },
      Math.max(0, ms),
    )
    timer.unref()
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}
