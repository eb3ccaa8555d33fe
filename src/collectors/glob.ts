/**
 * Redis-style globs (`*`, `?`, `[abc]`, `[^a-z]`, `\x`), as SCAN MATCH reads them, turned into
 * anchored RegExps. Pure: config validation and the key-group classifier share it, so a pattern
 * the service accepts at start is one it can match.
 */

/** Why a glob cannot be used, or undefined when it can. */
export function globProblem(glob: string): string | undefined {
  try {
    globToRegExp(glob)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

const escapeForRegExp = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')

/** Turns a Redis-style glob into an anchored RegExp; throws with a reason for a malformed one. */
export function globToRegExp(glob: string): RegExp {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*') out += '.*'
    else if (c === '?') out += '.'
    else if (c === '\\' && i + 1 < glob.length) out += escapeForRegExp(glob[++i] as string)
    else if (c === '[') {
      const { source, end } = bracket(glob, i)
      out += source
      i = end
    } else out += escapeForRegExp(c)
  }
  return new RegExp(`^${out}$`, 's')
}

/** The class starting at glob[start] === '[': its RegExp source and the index of its `]`. */
function bracket(glob: string, start: number): { source: string; end: number } {
  let i = start + 1
  const negated = glob[i] === '^'
  if (negated) i++
  const items: string[] = []
  for (; i < glob.length; i++) {
    let c = glob[i] as string
    if (c === ']' && items.length > 0) {
      return { source: `[${negated ? '^' : ''}${items.join('')}]`, end: i }
    }
    if (c === '\\') {
      if (i + 1 >= glob.length) break
      c = glob[++i] as string
    }
    if (glob[i + 1] === '-' && i + 2 < glob.length && glob[i + 2] !== ']') {
      let to = glob[i + 2] as string
      let skip = 2
      if (to === '\\' && i + 3 < glob.length) {
        to = glob[i + 3] as string
        skip = 3
      }
      if (to < c) {
        throw new Error(`the range ${c}-${to} in ${JSON.stringify(glob)} runs backwards (write ${to}-${c})`)
      }
      items.push(`${escapeForRegExp(c)}-${escapeForRegExp(to)}`)
      i += skip
    } else items.push(escapeForRegExp(c))
  }
  throw new Error(`the [ at position ${start + 1} of ${JSON.stringify(glob)} has no closing ]`)
}
