// node:sqlite is the runtime's own SQLite (Node 22.13+, 24): no native addon, nothing downloaded
// at install. @types/node 20 does not describe it, so the few calls used are typed here.

/** The Node releases whose `node:sqlite` works without a flag. */
export const SQLITE_NODE_VERSIONS = 'Node.js 22.13 or newer (24 recommended)'

export type SqlValue = null | number | bigint | string | Uint8Array

export interface StatementSync {
  run(...params: SqlValue[]): { changes: number | bigint; lastInsertRowid: number | bigint }
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined
  all(...params: SqlValue[]): Record<string, SqlValue>[]
}

export interface DatabaseSync {
  exec(sql: string): void
  prepare(sql: string): StatementSync
  close(): void
  readonly isOpen?: boolean
}

export interface SqliteModule {
  DatabaseSync: new (
    path: string,
    options?: { open?: boolean; readOnly?: boolean; timeout?: number },
  ) => DatabaseSync
}

const SQLITE_WARNING = /^SQLite is an experimental feature/

let filterInstalled = false

/**
 * Drops the one ExperimentalWarning node:sqlite prints when it loads (Node 22); every other
 * warning, experimental or not, still reaches stderr and `process.on('warning')`.
 */
export function silenceSqliteExperimentalWarning(): void {
  if (filterInstalled) return
  filterInstalled = true
  const emitWarning = process.emitWarning
  process.emitWarning = function filteredEmitWarning(
    this: unknown,
    warning: string | Error,
    ...rest: unknown[]
  ) {
    const options = rest[0]
    const type =
      typeof warning === 'string'
        ? typeof options === 'string'
          ? options
          : (options as { type?: string } | undefined)?.type
        : warning.name
    const message = typeof warning === 'string' ? warning : warning.message
    if (type === 'ExperimentalWarning' && SQLITE_WARNING.test(message)) return
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest)
  } as typeof process.emitWarning
}

/** node:sqlite when this runtime has it (without flags), else undefined. */
export function loadSqlite(): SqliteModule | undefined {
  silenceSqliteExperimentalWarning()
  try {
    const mod = process.getBuiltinModule?.('node:sqlite') as SqliteModule | undefined
    return mod && typeof mod.DatabaseSync === 'function' ? mod : undefined
  } catch {
    return undefined
  }
}

export const sqliteAvailable = (): boolean => loadSqlite() !== undefined
