import assert from 'node:assert'
import type { BreakerOptions, BreakerState } from './types.js'

export const BREAKER_DEFAULTS: Readonly<BreakerOptions> = {
  failureRateThreshold: 50,
  minimumCalls: 5,
  windowMs: 10_000,
  resetTimeoutMs: 5_000,
  halfOpenTrialCalls: 2,
  probeFailuresToOpen: 2,
}

/** Numeric value of the redis_circuit_breaker_state gauge. */
export const BREAKER_STATE_CODE: Readonly<Record<BreakerState, number>> = {
  closed: 0,
  half_open: 1,
  open: 2,
}

/** The transitions the machine can make; the transitions counter starts each at 0. */
export const BREAKER_TRANSITIONS: ReadonlyArray<readonly [BreakerState, BreakerState]> = [
  ['closed', 'open'],
  ['open', 'half_open'],
  ['half_open', 'closed'],
  ['half_open', 'open'],
]

export interface BreakerDeps {
  /** Clock in ms; the machine never reads time any other way. */
  now: () => number
  onTransition?: (from: BreakerState, to: BreakerState) => void
}

export interface Breaker {
  /** Current state; an open breaker whose reset timeout has passed becomes half-open here. */
  state(): BreakerState
  /**
   * Asks to send a call. False means fail fast (open, or half-open with every trial permit taken).
   * Every true must be answered by exactly one of onSuccess, onFailure or onNeutral.
   */
  tryAcquire(): boolean
  /** Redis answered (reply errors included: the server is healthy, the command was wrong). */
  onSuccess(): void
  /** Timeout or connection failure. */
  onFailure(): void
  /** The call never reached Redis (pool exhausted): no verdict, the permit is given back. */
  onNeutral(): void
  /** A PING probe's outcome; probes run in every state, so they close and open an idle breaker. */
  onProbe(ok: boolean): void
  /**
   * The pool now talks to another node (a Sentinel failover): the failures recorded were the old
   * node's. An open breaker goes half-open at once, so the first answers of the new node close it;
   * a closed one forgets its window.
   */
  onEndpointChange(): void
}

const BUCKETS = 10

/**
 * Failure-rate circuit breaker as a pure state machine: no timers, no I/O, time from `now()`.
 *
 * closed: calls pass; outcomes land in a rolling window of BUCKETS time buckets. When the window
 * holds at least `minimumCalls` calls and the failure rate reaches the threshold, it opens.
 * `probeFailuresToOpen` consecutive failed probes also open it, so an idle pool notices a dead
 * Redis without any traffic.
 * open: calls are refused until `resetTimeoutMs` has passed, then half-open.
 * half_open: up to `halfOpenTrialCalls` trial calls (probes count as trials) pass; that many
 * successes close it, one failure opens it again.
 */
export function createBreaker(options: Partial<BreakerOptions>, deps: BreakerDeps): Breaker {
  const opts: BreakerOptions = { ...BREAKER_DEFAULTS, ...options }
  assert(
    opts.failureRateThreshold > 0 && opts.failureRateThreshold <= 100,
    'failureRateThreshold must be in (0, 100]',
  )
  assert(opts.minimumCalls >= 1, 'minimumCalls must be >= 1')
  assert(opts.windowMs >= BUCKETS, `windowMs must be >= ${BUCKETS}`)
  assert(opts.resetTimeoutMs >= 0, 'resetTimeoutMs must be >= 0')
  assert(opts.halfOpenTrialCalls >= 1, 'halfOpenTrialCalls must be >= 1')
  assert(opts.probeFailuresToOpen >= 1, 'probeFailuresToOpen must be >= 1')
  const { now, onTransition } = deps

  const bucketMs = opts.windowMs / BUCKETS
  const bucketEpoch = new Float64Array(BUCKETS).fill(-1)
  const bucketCalls = new Uint32Array(BUCKETS)
  const bucketFailures = new Uint32Array(BUCKETS)

  let current: BreakerState = 'closed'
  let openedAt = 0
  let trialsStarted = 0
  let trialsSucceeded = 0
  let probeFailures = 0
  // The bucket the clock was last in: while time stays inside it, recording is a compare and an
  // increment (record() runs once per successful operation).
  let currentStart = 0
  let currentEnd = -1
  let currentBucket = 0

  function clearWindow(): void {
    currentEnd = -1
    bucketEpoch.fill(-1)
    bucketCalls.fill(0)
    bucketFailures.fill(0)
  }

  function transition(to: BreakerState): void {
    const from = current
    if (from === to) return
    current = to
    if (to === 'open') openedAt = now()
    trialsStarted = 0
    trialsSucceeded = 0
    if (to === 'closed') clearWindow()
    onTransition?.(from, to)
  }

  function settle(): BreakerState {
    if (current === 'open' && now() - openedAt >= opts.resetTimeoutMs) transition('half_open')
    return current
  }

  function record(failed: boolean): void {
    const t = now()
    if (t >= currentEnd || t < currentStart) {
      const epoch = Math.floor(t / bucketMs)
      currentBucket = epoch % BUCKETS
      currentStart = epoch * bucketMs
      currentEnd = currentStart + bucketMs
      if (bucketEpoch[currentBucket] !== epoch) {
        bucketEpoch[currentBucket] = epoch
        bucketCalls[currentBucket] = 0
        bucketFailures[currentBucket] = 0
      }
    }
    bucketCalls[currentBucket]!++
    if (failed) bucketFailures[currentBucket]!++
  }

  /** Only evaluated after a failure, so the success path stays a few array writes. */
  function failureRateReached(): boolean {
    const oldest = Math.floor(now() / bucketMs) - BUCKETS + 1
    let calls = 0
    let failures = 0
    for (let i = 0; i < BUCKETS; i++) {
      if (bucketEpoch[i]! >= oldest) {
        calls += bucketCalls[i]!
        failures += bucketFailures[i]!
      }
    }
    return calls >= opts.minimumCalls && (failures / calls) * 100 >= opts.failureRateThreshold
  }

  function trialSucceeded(): void {
    trialsSucceeded++
    if (trialsSucceeded >= opts.halfOpenTrialCalls) transition('closed')
  }

  return {
    state: settle,

    tryAcquire() {
      const state = settle()
      if (state === 'closed') return true
      if (state === 'open') return false
      if (trialsStarted >= opts.halfOpenTrialCalls) return false
      trialsStarted++
      return true
    },

    onSuccess() {
      if (current === 'closed') record(false)
      else if (current === 'half_open') trialSucceeded()
    },

    onFailure() {
      if (current === 'closed') {
        record(true)
        if (failureRateReached()) transition('open')
      } else if (current === 'half_open') {
        transition('open')
      }
    },

    onNeutral() {
      if (current === 'half_open' && trialsStarted > 0) trialsStarted--
    },

    onEndpointChange() {
      const state = settle()
      probeFailures = 0
      if (state === 'open') transition('half_open')
      else if (state === 'closed') clearWindow()
    },

    onProbe(ok) {
      const state = settle()
      if (ok) {
        probeFailures = 0
        if (state === 'half_open') trialSucceeded()
        return
      }
      probeFailures++
      if (state === 'half_open') transition('open')
      else if (state === 'closed' && probeFailures >= opts.probeFailuresToOpen) transition('open')
    },
  }
}
