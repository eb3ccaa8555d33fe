import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACL_USER, createDocumentedUser, createNarrowerUser, documentedAclRules } from './acl.js'
import { type RedisServer, startRedis } from './redis-server.js'

describe('test helper: ACL users', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  const as = (user: string, password: string, ...command: string[]) =>
    redis.cli('--user', user, '--pass', password, '--no-auth-warning', ...command)

  it('reads the one documented ACL SETUSER line from the README: read-only, nothing beyond what the service sends', () => {
    const rules = documentedAclRules()
    expect(rules[0]).toBe('-@all')
    expect(rules).toContain('+info')
    expect(rules).toContain('%R~*')
    expect(rules.filter((r) => r.startsWith('+@'))).toEqual([])
  })

  it('creates the documented user, who may run INFO and MEMORY USAGE but not write', async () => {
    const user = await createDocumentedUser(redis, 'documented-secret')
    expect(user.url).toBe(`redis://${ACL_USER}:documented-secret@127.0.0.1:${redis.port}`)
    expect(await as(ACL_USER, 'documented-secret', 'INFO', 'server')).toContain('redis_version:')
    expect((await as(ACL_USER, 'documented-secret', 'SET', 'k', 'v')).trim()).toMatch(/^NOPERM/)
  })

  it('a narrower user lacks exactly the commands taken away', async () => {
    await createNarrowerUser(redis, 'no-memory', 'narrow-secret', ['memory|usage'])
    await redis.cli('SET', 'some:key', 'v')
    expect((await as('no-memory', 'narrow-secret', 'MEMORY', 'USAGE', 'some:key')).trim()).toMatch(/^NOPERM/)
    expect((await as('no-memory', 'narrow-secret', 'DBSIZE')).trim()).toBe('1')
  })
})
