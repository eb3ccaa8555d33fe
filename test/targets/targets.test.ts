import { describe, expect, it } from 'vitest'
import { createAllowList, patternProblem } from '../../src/targets/allow-list.js'
import { parseTargetPasswords } from '../../src/targets/passwords.js'
import { isProblem, parseTarget, type ScrapeTarget } from '../../src/targets/target.js'
import { createTargetCache } from '../../src/targets/target-cache.js'

const ok = (raw: string): ScrapeTarget => {
  const t = parseTarget(raw)
  if (isProblem(t)) throw new Error(`${raw}: ${t.problem}`)
  return t
}
const problem = (raw: string) => {
  const t = parseTarget(raw)
  return isProblem(t) ? t.problem : undefined
}

describe('parseTarget: the /scrape target forms', () => {
  it('reads redis://host:port, rediss://host:port and host:port (as redis://)', () => {
    expect(ok('redis://10.0.0.5:6380')).toMatchObject({
      scheme: 'redis',
      node: { host: '10.0.0.5', port: 6380 },
    })
    expect(ok('rediss://cache.internal:6390')).toMatchObject({
      scheme: 'rediss',
      node: { host: 'cache.internal', port: 6390 },
      hostPort: 'cache.internal:6390',
    })
    expect(ok('10.0.0.5:6380')).toMatchObject({ scheme: 'redis', id: 'redis://10.0.0.5:6380/0' })
  })

  it('a missing port means 6379', () => {
    expect(ok('redis-a.internal').hostPort).toBe('redis-a.internal:6379')
    expect(ok('redis://redis-a.internal').node.port).toBe(6379)
  })

  it('reads IPv6 as [addr]:port and spells it the same way back', () => {
    const t = ok('[::1]:7000')
    expect(t.node).toEqual({ host: '::1', port: 7000 })
    expect(t.hostPort).toBe('[::1]:7000')
    expect(ok('redis://[fd00::5]').hostPort).toBe('[fd00::5]:6379')
  })

  it('allows a user name, keeps it in the password key, and a /db path in the id only', () => {
    const t = ok('redis://monitor@10.0.0.5:6379/3')
    expect(t.username).toBe('monitor')
    expect(t.db).toBe(3)
    expect(t.passwordKey).toBe('redis://monitor@10.0.0.5:6379')
    expect(t.id).toBe('redis://monitor@10.0.0.5:6379/3')
  })

  it('host names compare without case', () => {
    expect(ok('Redis-A.Internal:6379').hostPort).toBe('redis-a.internal:6379')
  })

  it('refuses a password, never quoting it', () => {
    for (const raw of [
      'redis://:s3cret@10.0.0.5:6379',
      'redis://user:s3cret@10.0.0.5',
      'user:s3cret@10.0.0.5:6379',
    ]) {
      const reason = problem(raw)
      expect(reason).toMatch(/carries a password/)
      expect(reason).not.toContain('s3cret')
    }
  })

  it('refuses other schemes, bad ports, bad paths, queries and garbage', () => {
    const NOT_A_TARGET = 'the target is not redis://host:port, rediss://host:port or host:port'
    expect(problem('http://10.0.0.5:6379')).toMatch(/scheme "http"/)
    expect(problem('10.0.0.5:0')).toBe('the port is not 1 to 65535')
    expect(problem('10.0.0.5:70000')).toBe(NOT_A_TARGET)
    expect(problem('10.0.0.5:6379/abc')).toMatch(/database/)
    expect(problem('redis://10.0.0.5:6379?db=1')).toMatch(/query/)
    expect(problem('::1:6379')).toBe(NOT_A_TARGET) // IPv6 needs [addr]:port
    expect(problem('')).toMatch(/empty/)
    expect(problem('a b:6379')).toBe(NOT_A_TARGET)
  })
})

describe('SCRAPE_TARGETS allow-list', () => {
  it('* matches any characters, dots and colons included; the rest is literal', () => {
    const list = createAllowList(['redis-*.internal:6379', '10.0.*', '[fd00::*]:*'])
    expect(list.allows('redis-a.internal:6379')).toBe(true)
    expect(list.allows('redis-a.b.internal:6379')).toBe(true)
    expect(list.allows('redis-a.internal:6380')).toBe(false)
    expect(list.allows('redisXa.internal:6379')).toBe(false)
    expect(list.allows('10.0.3.4:7000')).toBe(true)
    expect(list.allows('10.1.3.4:7000')).toBe(false)
    expect(list.allows('110.0.3.4:7000')).toBe(false)
    expect(list.allows('[fd00::5]:6379')).toBe(true)
  })

  it('is off (enabled() false) with no pattern and nothing discovered', () => {
    expect(createAllowList([]).enabled()).toBe(false)
    expect(createAllowList(['*']).enabled()).toBe(true)
  })

  it('allows discovered nodes while their provider names them, and stops when it is removed', () => {
    const list = createAllowList([])
    let nodes = ['10.9.0.1:6379']
    const remove = list.addDiscovered('sentinel', () => nodes)
    expect(list.enabled()).toBe(true)
    expect(list.allows('10.9.0.1:6379')).toBe(true)
    nodes = ['10.9.0.2:6379']
    expect(list.allows('10.9.0.1:6379')).toBe(false)
    expect(list.allows('10.9.0.2:6379')).toBe(true)
    expect(list.providers()).toEqual(['sentinel'])
    remove()
    expect(list.allows('10.9.0.2:6379')).toBe(false)
    expect(list.enabled()).toBe(false)
  })

  it('a provider that throws allows nothing and breaks nothing', () => {
    const list = createAllowList(['a:1'])
    list.addDiscovered('broken', () => {
      throw new Error('topology unknown')
    })
    expect(list.allows('a:1')).toBe(true)
    expect(list.allows('b:1')).toBe(false)
  })

  it('refuses patterns that say nothing about the port or are not host:port', () => {
    expect(patternProblem('redis-a.internal')).toMatch(/has no port/)
    expect(patternProblem('redis-a.internal:6379')).toBeUndefined()
    expect(patternProblem('10.0.0.*')).toBeUndefined()
    expect(patternProblem('*')).toBeUndefined()
    expect(patternProblem('http://x:1')).toMatch(/not a host:port pattern/)
  })
})

describe('REDIS_TARGET_PASSWORDS_FILE (redis_exporter format)', () => {
  it('finds a password however the target is spelt; a user makes a different key', () => {
    const passwords = parseTargetPasswords(
      JSON.stringify({
        'redis://10.0.0.5:6379': 'pw-a',
        'redis://monitor@10.0.0.6:6379': 'pw-b',
        '10.0.0.7': '',
      }),
    )
    if ('problem' in passwords) throw new Error(passwords.problem)
    expect(passwords.lookup(ok('10.0.0.5'))).toBe('pw-a')
    expect(passwords.lookup(ok('redis://10.0.0.5:6379/4'))).toBe('pw-a')
    expect(passwords.lookup(ok('rediss://10.0.0.5:6379'))).toBeUndefined()
    expect(passwords.lookup(ok('redis://monitor@10.0.0.6:6379'))).toBe('pw-b')
    expect(passwords.lookup(ok('redis://10.0.0.6:6379'))).toBeUndefined()
    expect(passwords.lookup(ok('10.0.0.7:6379'))).toBeUndefined()
  })

  it('refuses what is not a JSON object of strings, never quoting a password', () => {
    expect(parseTargetPasswords('not json')).toEqual({ problem: 'the content is not JSON' })
    expect(parseTargetPasswords('["a"]')).toMatchObject({
      problem: expect.stringMatching(/not a JSON object/),
    })
    expect(parseTargetPasswords('{"redis://a:1": 5}')).toMatchObject({
      problem: expect.stringMatching(/not a string/),
    })
    const withSecret = parseTargetPasswords('{"redis://u:leaked@a:1": "x"}')
    expect(JSON.stringify(withSecret)).not.toContain('leaked')
  })
})

describe('the per-target cache', () => {
  const entry = (at: number) => {
    const e = {
      lastUsedAt: at,
      closed: false,
      async close() {
        e.closed = true
      },
    }
    return e
  }

  it('holds at most max entries and closes the least recently used first', () => {
    const cache = createTargetCache<ReturnType<typeof entry>>({ max: 2, idleMs: 60_000 })
    const a = cache.acquire('a', () => entry(0))
    const b = cache.acquire('b', () => entry(0))
    expect(cache.acquire('a', () => entry(0))).toBe(a) // a is now the most recent
    cache.acquire('c', () => entry(0))
    expect(cache.keys()).toEqual(['a', 'c'])
    expect(b.closed).toBe(true)
    expect(a.closed).toBe(false)
    void cache.close()
  })

  it('closes entries idle longer than idleMs at the sweep', async () => {
    let now = 1_000
    const cache = createTargetCache<ReturnType<typeof entry>>({
      max: 10,
      idleMs: 100,
      sweepIntervalMs: 10,
      now: () => now,
    })
    const old = cache.acquire('old', () => entry(now))
    now += 150
    const fresh = cache.acquire('fresh', () => entry(now))
    await new Promise((r) => setTimeout(r, 40))
    expect(old.closed).toBe(true)
    expect(fresh.closed).toBe(false)
    expect(cache.keys()).toEqual(['fresh'])
    await cache.close()
    expect(fresh.closed).toBe(true)
    expect(cache.size).toBe(0)
  })
})
