import type { Registry } from 'prom-client'
import { registerSnapshotFamily, type Sample } from '../metrics/snapshot-family.js'
import type { ParsedInfo } from './info-parser.js'

/** Anything that sends Redis commands: the PoolMonitor, a bare ioredis client, a /scrape target. */
export interface RedisCommander {
  call(command: string, ...args: (string | number | Buffer)[]): Promise<unknown>
  /**
   * Optional: as call(), with bulk replies as Buffers, byte for byte (the PoolMonitor and ioredis
   * have it). Key groups SCAN with it: a key that is not valid UTF-8 survives only as bytes.
   */
  callBuffer?(command: string, ...args: (string | number | Buffer)[]): Promise<unknown>
  /**
   * Optional: sends the commands back to back as one operation (the PoolMonitor has it). Key groups
   * use it for MEMORY USAGE so a batch takes one pool slot instead of hundreds.
   */
  pipeline?(commands: [string, ...(string | number | Buffer)[]][]): unknown
}

/** Admin commands managed Redis may rename or refuse; INFO is the only command collection needs. */
export type OptionalCommand = 'SLOWLOG' | 'LATENCY' | (string & {})

/** What a collector's read() gets besides the connection. */
export interface ReadContext {
  /** INFO ALL of this same collection, for a collector whose commands depend on it (cluster mode). */
  info: Promise<ParsedInfo>
  /**
   * INFO's `redis_mode` (`standalone`, `sentinel`, `cluster`): the previous collection's once there
   * was one, so reads that only apply to one mode still go out together with INFO.
   */
  mode: Promise<string>
  /**
   * Runs a read that needs an optional command. The first reply error (renamed, disabled,
   * ACL-denied) drops that command for the life of the scrape with one warn line, and the read
   * answers undefined from then on; timeouts and lost connections fail the collection as INFO would.
   */
  optional<T>(command: OptionalCommand, read: () => Promise<T>): Promise<T | undefined>
}

/** One successful collection: INFO plus what each collector's read() returned. */
export interface Snapshot {
  info: ParsedInfo
  /** When it was taken (the scrape's clock). */
  at: number
  /** The reading of one collector in this collection; undefined when it has no read() or skipped. */
  reading<T>(collector: Collector<T>): T | undefined
}

/** The latest snapshot while Redis is up, else undefined: families read it at render time. */
export type View = () => Snapshot | undefined

/**
 * One feature's server-side families (redis_exporter keeps one file per feature the same way).
 * The scrape sends every collector's read() in parallel with INFO, then families render from the
 * snapshot through the view. A collector holds no registry of its own: register() may run on any
 * number of registries (the service's, and a fresh one per /scrape target).
 */
export interface Collector<T = unknown> {
  /** For logs and the README's table. */
  readonly name: string
  /** Extra commands at collection time; its result is `snapshot.reading(collector)`. */
  read?(redis: RedisCommander, ctx: ReadContext): Promise<T | undefined>
  /** Registers the families on `registry`; they render from `view()` at scrape time. */
  register(registry: Registry, view: View): void
  /** After each successful collection (memory purge, key groups covering new databases). */
  observe?(snapshot: Snapshot): void
  /** Background work (key-group passes), started with the scrape. */
  start?(): void
  close?(): void | Promise<void>
}

interface FamilyDef {
  name: string
  help: string
}

/** A gauge family whose samples are read at render time. */
export const gauge = (registry: Registry, def: FamilyDef, read: () => readonly Sample[]) =>
  registerSnapshotFamily(registry, { ...def, type: 'gauge' }, read)

/** A counter copied through as Redis reports it (prom-client's Counter can only be incremented). */
export const counter = (registry: Registry, def: FamilyDef, read: () => readonly Sample[]) =>
  registerSnapshotFamily(registry, { ...def, type: 'counter' }, read)

/** Samples from the INFO of the latest snapshot; none while Redis is down. */
export const fromInfo =
  (view: View, read: (info: ParsedInfo) => Sample[]): (() => Sample[]) =>
  () => {
    const snapshot = view()
    return snapshot ? read(snapshot.info) : []
  }

/** Samples from one collector's reading in the latest snapshot; none while down or skipped. */
export const fromReading =
  <T>(view: View, collector: Collector<T>, read: (reading: T) => Sample[]): (() => Sample[]) =>
  () => {
    const reading = view()?.reading(collector)
    return reading === undefined ? [] : read(reading)
  }

export type { Sample }
