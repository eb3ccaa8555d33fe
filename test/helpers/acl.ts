import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RedisServer } from './redis-server.js'
import { ROOT } from './service-process.js'

/**
 * The `ACL SETUSER` line the README documents for the service's user, read from the README itself
 * so the tests run with exactly what users are told to run. The README writes it as
 * `ACL SETUSER redis-pool-monitor on >CHANGE-ME <rules...>`; this returns the rules.
 */
export function documentedAclRules(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const lines = readme.split('\n').filter((l) => /^ACL SETUSER redis-pool-monitor on >\S+ /.test(l.trim()))
  if (lines.length !== 1) {
    throw new Error(
      `README.md must hold exactly one "ACL SETUSER redis-pool-monitor on >..." line, found ${lines.length}`,
    )
  }
  return lines[0]!.trim().split(/\s+/).slice(5)
}

/** The documented user name. */
export const ACL_USER = 'redis-pool-monitor'

export interface AclUser {
  readonly name: string
  readonly password: string
  readonly rules: readonly string[]
  /** redis:// URL of the server's plain port as this user (password included). */
  readonly url: string
}

/**
 * Creates (or replaces) an ACL user on a running server: `ACL SETUSER <name> reset on >password
 * <rules>`. `reset` first, so a user made again in the same server starts from nothing.
 */
export async function createAclUser(
  server: RedisServer,
  user: { name: string; password: string; rules: readonly string[] },
): Promise<AclUser> {
  const reply = await server.cli(
    'ACL',
    'SETUSER',
    user.name,
    'reset',
    'on',
    `>${user.password}`,
    ...user.rules,
  )
  if (reply.trim() !== 'OK') throw new Error(`ACL SETUSER ${user.name} failed: ${reply.trim()}`)
  return {
    ...user,
    url: `redis://${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@${server.host}:${server.port}`,
  }
}

/** The documented user, as the README tells users to create it. */
export const createDocumentedUser = (server: RedisServer, password: string) =>
  createAclUser(server, { name: ACL_USER, password, rules: documentedAclRules() })

/**
 * A narrower user: the documented rules minus some commands (`memory|usage`, `info`, `slowlog`),
 * e.g. a managed Redis' read-only role that lacks them.
 */
export const createNarrowerUser = (
  server: RedisServer,
  name: string,
  password: string,
  denied: readonly string[],
) =>
  createAclUser(server, { name, password, rules: [...documentedAclRules(), ...denied.map((c) => `-${c}`)] })
