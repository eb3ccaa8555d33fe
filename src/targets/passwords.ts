import { isProblem, parseTarget, type ScrapeTarget, withoutPassword } from './target.js'

/** Per-target passwords from REDIS_TARGET_PASSWORDS_FILE; holds secrets, never log it. */
export interface TargetPasswords {
  /** The password for a target's `scheme://[user@]host:port`, else undefined. */
  lookup(target: ScrapeTarget): string | undefined
  readonly size: number
}

export const NO_PASSWORDS: TargetPasswords = { lookup: () => undefined, size: 0 }

/**
 * Parses redis_exporter's `--redis.password-file` format: a JSON object from target URL
 * (`redis://[user@]host:port`) to password. Keys are read as /scrape targets are (`host:port`
 * means redis://, a `/db` path is ignored), so a key matches however the target is spelt.
 * Returns a reason (never quoting a password) when the content is not such an object.
 */
export function parseTargetPasswords(text: string): TargetPasswords | { problem: string } {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { problem: 'the content is not JSON' }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    return { problem: 'the content is not a JSON object from target URL to password' }
  const map = new Map<string, string>()
  for (const [key, password] of Object.entries(json)) {
    if (typeof password !== 'string')
      return { problem: `the value for ${JSON.stringify(withoutPassword(key))} is not a string` }
    // A key carrying a password would be refused by parseTarget; say which key, not its password.
    const target = parseTarget(key)
    if (isProblem(target)) {
      const safe = withoutPassword(key)
      return { problem: `the key ${JSON.stringify(safe)} is not a target URL (${target.problem})` }
    }
    map.set(target.passwordKey, password)
  }
  return {
    size: map.size,
    lookup: (target) => {
      const password = map.get(target.passwordKey)
      return password === '' ? undefined : password
    },
  }
}
