import { describe, expect, it } from 'vitest'
import { withTimeout } from '../src/timeout.js'

const never = new Promise<never>(() => {})
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

describe('withTimeout: the one timeout race', () => {
  it('settles like the work when it finishes first', async () => {
    expect(await withTimeout(Promise.resolve('done'), 60_000, () => 'late')).toBe('done')
    await expect(withTimeout(Promise.reject(new Error('failed')), 60_000, () => 'late')).rejects.toThrow(
      'failed',
    )
  })

  it("answers onTimeout()'s value when the time runs out first", async () => {
    expect(await withTimeout(never, 10, () => 'late')).toBe('late')
  })

  it('rejects with what onTimeout() throws', async () => {
    await expect(
      withTimeout(never, 10, () => {
        throw new Error('too slow')
      }),
    ).rejects.toThrow('too slow')
  })

  it('never holds the process open while it waits (its timer is unref-ed)', async () => {
    const before = timers()
    const pending = withTimeout(never, 60_000, () => 'late')
    // Node lists only the timers that keep the event loop alive.
    expect(timers()).toBe(before)
    expect(await Promise.race([pending, Promise.resolve('not settled')])).toBe('not settled')
  })
})
