import { expect } from 'vitest'
import { type ParseConfigOptions, parseConfig } from '../../src/config/config.js'

/** The one-line message parseConfig throws for `env`; fails the test when it does not throw. */
export function configError(env: Record<string, string>, options?: ParseConfigOptions): string {
  try {
    parseConfig(env, options)
  } catch (err) {
    expect((err as { code?: string }).code).toBe('RPM_CONFIG')
    return (err as Error).message
  }
  throw new Error('expected parseConfig to throw')
}

/** A bad value is refused in one line that names the variable and what it expects. */
export function expectRefused(env: Record<string, string>, name: string, expects: string): void {
  const message = configError(env)
  expect(message).toContain(name)
  expect(message).toContain(expects)
  expect(message).not.toContain('\n')
}
