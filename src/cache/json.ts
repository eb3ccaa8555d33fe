import { CacheValueError } from '../errors.js'

/**
 * Why a value cannot be stored as JSON without changing on the way back, or undefined when it can.
 * JSON.stringify would not refuse these: it turns NaN into null, a Date into a string, a Map into
 * {}, drops functions, and throws its own TypeError on BigInt and cycles. A cache that hands back
 * something other than what was stored is worse than one that says so at set() time.
 * Object properties whose value is undefined are allowed: JSON drops them, as every caller expects.
 */
export function unstorableReason(value: unknown): string | undefined {
  const seen = new Set<object>()
  function visit(v: unknown, path: string): string | undefined {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return undefined
      case 'number':
        return Number.isFinite(v) ? undefined : `${path} is ${v}, which JSON turns into null`
      case 'undefined':
        return `${path} is undefined, which JSON cannot carry (store null for "no value")`
      case 'bigint':
        return `${path} is a BigInt, which JSON cannot carry (store it as a string)`
      case 'function':
      case 'symbol':
        return `${path} is a ${typeof v}, which JSON cannot carry`
    }
    if (v === null) return undefined
    const obj = v as object
    if (seen.has(obj)) return `${path} refers back to itself (a cycle), which JSON cannot carry`
    if (Array.isArray(obj)) {
      seen.add(obj)
      for (let i = 0; i < obj.length; i++) {
        const item = obj[i]
        if (item === undefined) return `${path}[${i}] is undefined, which JSON turns into null`
        const reason = visit(item, `${path}[${i}]`)
        if (reason) return reason
      }
      seen.delete(obj)
      return undefined
    }
    const proto = Object.getPrototypeOf(obj)
    if (proto !== Object.prototype && proto !== null) {
      const kind = (proto?.constructor as { name?: string } | undefined)?.name || 'object'
      return `${path} is a ${kind}, which JSON would not give back as one (convert it to plain data first)`
    }
    seen.add(obj)
    for (const [key, item] of Object.entries(obj)) {
      if (item === undefined) continue
      const reason = visit(item, `${path}.${key}`)
      if (reason) return reason
    }
    seen.delete(obj)
    return undefined
  }
  return visit(value, '$')
}

/** The JSON text stored in Redis; throws RPM_CACHE_VALUE naming where the value cannot be carried. */
export function encodeValue(value: unknown, redisKey: string): string {
  const reason = unstorableReason(value)
  if (reason !== undefined) throw new CacheValueError(redisKey, reason)
  return JSON.stringify(value)
}
