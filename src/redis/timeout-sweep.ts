import assert from 'node:assert'
import { performance } from 'node:perf_hooks'
import { Command, type Redis } from 'ioredis'

/** The message of ioredis' own commandTimeout error, so classification treats both alike. */
export const COMMAND_TIMED_OUT = 'Command timed out'

/** A command whose send time the sweep knows (performance.now() ms). */
type Stamped = Command & { rpmSentAt?: number }

export interface TimeoutSweepOptions {
  /** The pooled connections; the sweep reads their `commandQueue` (replies the socket owes). */
  connections: ReadonlyArray<{ readonly client: Redis; readonly exclusive: boolean }>
  timeoutMs: number
  /** How often the queues are checked; a command fails at most this long after its timeout. */
  intervalMs: number
}

export interface TimeoutSweep {
  /** Sends `command` on `client` with its send time stamped, so the sweep times it from this instant. */
  send(client: Redis, command: Command, sentAt: number): Promise<unknown>
  close(): void
}

/**
 * Per-command timeouts for shared connections without a timer per command.
 *
 * ioredis' `commandTimeout` arms a setTimeout for every command and clears it on the reply; on
 * loopback that costs several percent of a round trip. Instead one unref'd interval per pool walks
 * each connection's `commandQueue` (bounded by the pool's slots) and rejects, with ioredis' own
 * "Command timed out" error, every unsettled command older than `timeoutMs`. Commands the pool
 * sends itself carry their send time; anything else found on a shared connection (pipeline and
 * transaction commands) is stamped when the sweep first sees it. A timed-out command stays in the
 * queue until Redis answers, as it does with ioredis' timer, so the pool still counts it as load.
 *
 * Connections leased exclusively are skipped: their commands are user code on the raw client, so
 * the pool turns ioredis' own `commandTimeout` on for the lease (see setLeaseTimeout).
 */
export function createTimeoutSweep(options: TimeoutSweepOptions): TimeoutSweep {
  const { connections, timeoutMs, intervalMs } = options
  assert(timeoutMs > 0, 'timeoutMs must be > 0')
  assert(intervalMs > 0, 'intervalMs must be > 0')

  function sweep(): void {
    const now = performance.now()
    for (const conn of connections) {
      if (conn.exclusive) continue
      const queue = conn.client.commandQueue
      const length = queue.length
      for (let i = 0; i < length; i++) {
        const command = queue.peekAt(i)?.command as Stamped | undefined
        if (command === undefined || command.isSettled) continue
        const sentAt = command.rpmSentAt
        if (sentAt === undefined) command.rpmSentAt = now
        else if (now - sentAt >= timeoutMs) command.reject(new Error(COMMAND_TIMED_OUT))
      }
    }
  }

  const timer = setInterval(sweep, intervalMs)
  timer.unref()

  return {
    send(client, command, sentAt) {
      ;(command as Stamped).rpmSentAt = sentAt
      return client.sendCommand(command) as Promise<unknown>
    },
    close() {
      clearInterval(timer)
    },
  }
}

/**
 * Turns ioredis' per-command timer on for an exclusive lease (the caller sends commands on the raw
 * client, out of the sweep's reach) and off again when the connection returns to shared use.
 */
export function setLeaseTimeout(client: Redis, timeoutMs: number | undefined): void {
  client.options.commandTimeout = timeoutMs
}

/** Options ioredis' own `client.call()` passes to a Command, computed once per connection. */
export function commandOptions(client: Redis): ConstructorParameters<typeof Command>[2] {
  return { replyEncoding: 'utf8', keyPrefix: client.options.keyPrefix }
}

export { Command }
