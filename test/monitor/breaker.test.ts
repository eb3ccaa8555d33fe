import { describe, expect, it } from 'vitest'
import { createBreaker } from '../../src/monitor/breaker.js'
import type { BreakerOptions, BreakerState } from '../../src/monitor/types.js'

function setup(options: Partial<BreakerOptions> = {}) {
  let t = 1_000_000
  const transitions: Array<[BreakerState, BreakerState]> = []
  const breaker = createBreaker(
    {
      failureRateThreshold: 50,
      minimumCalls: 4,
      windowMs: 10_000,
      resetTimeoutMs: 5_000,
      halfOpenTrialCalls: 2,
      probeFailuresToOpen: 2,
      ...options,
    },
    { now: () => t, onTransition: (from, to) => transitions.push([from, to]) },
  )
  const call = (outcome: 'ok' | 'fail' | 'neutral') => {
    expect(breaker.tryAcquire()).toBe(true)
    if (outcome === 'ok') breaker.onSuccess()
    else if (outcome === 'fail') breaker.onFailure()
    else breaker.onNeutral()
  }
  return { breaker, transitions, call, advance: (ms: number) => (t += ms) }
}

describe('circuit breaker state machine', () => {
  it('starts closed and lets calls through', () => {
    const { breaker } = setup()
    expect(breaker.state()).toBe('closed')
    expect(breaker.tryAcquire()).toBe(true)
  })

  it('does not judge the failure rate before the minimum number of calls', () => {
    const { breaker, call } = setup({ minimumCalls: 4 })
    call('fail')
    call('fail')
    call('fail')
    expect(breaker.state()).toBe('closed')
    call('fail')
    expect(breaker.state()).toBe('open')
  })

  it('opens when the failure rate over the window reaches the threshold', () => {
    const { breaker, call, transitions } = setup({ failureRateThreshold: 50, minimumCalls: 4 })
    call('ok')
    call('ok')
    call('fail')
    expect(breaker.state()).toBe('closed')
    call('fail')
    expect(breaker.state()).toBe('open')
    expect(transitions).toEqual([['closed', 'open']])
  })

  it('stays closed while the failure rate stays under the threshold', () => {
    const { breaker, call } = setup({ failureRateThreshold: 50, minimumCalls: 4 })
    for (let i = 0; i < 20; i++) {
      call('ok')
      call('ok')
      call('fail')
    }
    expect(breaker.state()).toBe('closed')
  })

  it('forgets failures older than the rolling window', () => {
    const { breaker, call, advance } = setup({ minimumCalls: 4, windowMs: 10_000 })
    call('fail')
    call('fail')
    call('fail')
    advance(11_000)
    call('fail')
    expect(breaker.state()).toBe('closed')
  })

  it('does not count neutral outcomes (pool exhausted) as calls', () => {
    const { breaker, call } = setup({ minimumCalls: 4 })
    for (let i = 0; i < 10; i++) call('neutral')
    call('fail')
    expect(breaker.state()).toBe('closed')
  })

  it('refuses every call while open and touches nothing', () => {
    const { breaker, call } = setup({ minimumCalls: 1 })
    call('fail')
    expect(breaker.state()).toBe('open')
    expect(breaker.tryAcquire()).toBe(false)
    expect(breaker.tryAcquire()).toBe(false)
  })

  it('becomes half-open once the reset timeout has passed', () => {
    const { breaker, call, advance, transitions } = setup({ minimumCalls: 1, resetTimeoutMs: 5_000 })
    call('fail')
    advance(4_999)
    expect(breaker.state()).toBe('open')
    advance(1)
    expect(breaker.state()).toBe('half_open')
    expect(transitions).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
    ])
  })

  it('lets exactly the configured number of trial calls through in half-open', () => {
    const { breaker, call, advance } = setup({ minimumCalls: 1, halfOpenTrialCalls: 2 })
    call('fail')
    advance(5_000)
    expect(breaker.tryAcquire()).toBe(true)
    expect(breaker.tryAcquire()).toBe(true)
    expect(breaker.tryAcquire()).toBe(false)
  })

  it('closes after the trial calls succeed', () => {
    const { breaker, call, advance, transitions } = setup({ minimumCalls: 1, halfOpenTrialCalls: 2 })
    call('fail')
    advance(5_000)
    call('ok')
    expect(breaker.state()).toBe('half_open')
    call('ok')
    expect(breaker.state()).toBe('closed')
    expect(transitions.at(-1)).toEqual(['half_open', 'closed'])
  })

  it('opens again when a trial call fails, and waits a full reset timeout again', () => {
    const { breaker, call, advance, transitions } = setup({ minimumCalls: 1 })
    call('fail')
    advance(5_000)
    call('fail')
    expect(breaker.state()).toBe('open')
    expect(transitions.at(-1)).toEqual(['half_open', 'open'])
    advance(4_000)
    expect(breaker.state()).toBe('open')
    advance(1_000)
    expect(breaker.state()).toBe('half_open')
  })

  it('gives a trial permit back when the trial never reached Redis', () => {
    const { breaker, call, advance } = setup({ minimumCalls: 1, halfOpenTrialCalls: 1 })
    call('fail')
    advance(5_000)
    call('neutral')
    expect(breaker.tryAcquire()).toBe(true)
  })

  it('starts with a clean window after closing', () => {
    const { breaker, call, advance } = setup({ minimumCalls: 2, halfOpenTrialCalls: 1 })
    call('fail')
    call('fail')
    advance(5_000)
    call('ok')
    expect(breaker.state()).toBe('closed')
    call('fail')
    expect(breaker.state()).toBe('closed')
  })

  it('opens an idle breaker after consecutive failed probes', () => {
    const { breaker, transitions } = setup({ probeFailuresToOpen: 2 })
    breaker.onProbe(false)
    expect(breaker.state()).toBe('closed')
    breaker.onProbe(false)
    expect(breaker.state()).toBe('open')
    expect(transitions).toEqual([['closed', 'open']])
  })

  it('needs the probe failures to be consecutive', () => {
    const { breaker } = setup({ probeFailuresToOpen: 2 })
    breaker.onProbe(false)
    breaker.onProbe(true)
    breaker.onProbe(false)
    expect(breaker.state()).toBe('closed')
  })

  it('treats successful probes as trial calls, so an idle breaker closes again', () => {
    const { breaker, advance, transitions } = setup({ probeFailuresToOpen: 1, halfOpenTrialCalls: 2 })
    breaker.onProbe(false)
    breaker.onProbe(true)
    expect(breaker.state()).toBe('open')
    advance(5_000)
    breaker.onProbe(true)
    breaker.onProbe(true)
    expect(breaker.state()).toBe('closed')
    expect(transitions).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
      ['half_open', 'closed'],
    ])
  })

  it('reopens on a failed probe in half-open', () => {
    const { breaker, advance } = setup({ probeFailuresToOpen: 1 })
    breaker.onProbe(false)
    advance(5_000)
    breaker.onProbe(false)
    expect(breaker.state()).toBe('open')
  })

  it('keeps open while probes fail before the reset timeout', () => {
    const { breaker, advance, transitions } = setup({ probeFailuresToOpen: 1 })
    breaker.onProbe(false)
    advance(1_000)
    breaker.onProbe(false)
    breaker.onProbe(false)
    expect(breaker.state()).toBe('open')
    expect(transitions).toHaveLength(1)
  })

  it('goes half-open at once when the pool moves to another node, so the new master closes it', () => {
    const { breaker, transitions, call } = setup()
    for (let i = 0; i < 4; i++) call('fail')
    expect(breaker.state()).toBe('open')
    breaker.onEndpointChange()
    expect(breaker.state()).toBe('half_open')
    call('ok')
    call('ok')
    expect(transitions).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
      ['half_open', 'closed'],
    ])
  })

  it("forgets the old node's failures when the pool moves while closed", () => {
    const { breaker, call } = setup()
    for (let i = 0; i < 3; i++) call('fail')
    breaker.onEndpointChange()
    call('fail')
    call('ok')
    call('ok')
    expect(breaker.state()).toBe('closed')
  })

  it('rejects impossible options', () => {
    expect(() => setup({ failureRateThreshold: 0 })).toThrow(/failureRateThreshold/)
    expect(() => setup({ minimumCalls: 0 })).toThrow(/minimumCalls/)
    expect(() => setup({ halfOpenTrialCalls: 0 })).toThrow(/halfOpenTrialCalls/)
  })
})
