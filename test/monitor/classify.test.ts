import { ReplyError } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { CircuitOpenError, ConnectionError, PoolExhaustedError, RedisReplyError } from '../../src/errors.js'
import { classifyError, redact, toPublicError } from '../../src/monitor/classify.js'
import { commandLabel, isBlocking } from '../../src/monitor/command-names.js'
import { isReplyError, replyCode, replyText } from '../../src/redis/reply-error.js'

describe('error classification', () => {
  it.each([
    [new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'), 'reply'],
    [new ReplyError('NOSCRIPT No matching script'), 'reply'],
    [new ReplyError('WRONGPASS invalid username-password pair'), 'connection'],
    [new ReplyError('NOAUTH Authentication required.'), 'connection'],
    [new Error('Command timed out'), 'timeout'],
    [new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'connection'],
    [new Error('Connection is closed.'), 'connection'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'connection'],
    [new PoolExhaustedError(1000), 'pool_exhausted'],
    [new CircuitOpenError('p'), 'circuit_open'],
    [new ConnectionError('x'), 'connection'],
    [new Error('something else'), 'other'],
    ['not even an error', 'other'],
  ])('classifies %s as %s', (err, type) => {
    expect(classifyError(err)).toBe(type)
  })

  it("reads a reply's code from ioredis' ReplyError and from the pool's RPM_REPLY, never from other errors' text", () => {
    expect(replyCode(new ReplyError('NOPERM User u has no permissions'))).toBe('NOPERM')
    const pool = new RedisReplyError('MOVED 3999 127.0.0.1:7001')
    expect([replyCode(pool), replyText(pool)]).toEqual(['MOVED', 'MOVED 3999 127.0.0.1:7001'])
    for (const text of ['NOPERM no', 'ERR unknown command', 'MOVED 1 h:1']) {
      expect([isReplyError(new Error(text)), replyCode(new Error(text))]).toEqual([false, undefined])
    }
  })

  it('removes a secret and its URL-encoded form from a message', () => {
    expect(redact('bad s3cr/t and s3cr%2Ft', ['s3cr/t'])).toBe('bad *** and ***')
  })

  it('hands the caller a coded error without the original command arguments', () => {
    const original = Object.assign(new ReplyError('WRONGPASS for hunter2'), {
      command: { name: 'auth', args: ['hunter2'] },
    })
    const err = toPublicError(original, 'connection', {
      command: 'get',
      timeoutMs: 1,
      pool: 'p',
      secrets: ['hunter2'],
    })
    expect((err as { code?: string }).code).toBe('RPM_CONNECTION')
    expect(JSON.stringify({ ...err, message: err.message })).not.toContain('hunter2')
  })
})

describe('command labels', () => {
  it('lower-cases known commands and folds the rest into other', () => {
    expect(commandLabel('GET')).toBe('get')
    expect(commandLabel('hGetAll')).toBe('hgetall')
    expect(commandLabel('MY.MODULE.CMD')).toBe('other')
  })

  it('recognises blocking commands, XREAD only with BLOCK', () => {
    expect(isBlocking('BLPOP', ['k', 1])).toBe(true)
    expect(isBlocking('wait', [1, 0])).toBe(true)
    expect(isBlocking('xread', ['COUNT', 1, 'STREAMS', 's', '0'])).toBe(false)
    expect(isBlocking('xread', ['BLOCK', 100, 'STREAMS', 's', '$'])).toBe(true)
    expect(isBlocking('get', ['k'])).toBe(false)
  })
})
