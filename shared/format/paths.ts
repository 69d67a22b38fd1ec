/**
 * Property paths, written once: `app.token`, `list[0]`, `a["key.with.dots"]`, `["k"].x` — how the `esc`
 * CLI, `env get/set/rm <path>`, `open <env> <path>`, `run` argument substitution, rotation paths and the
 * editor name a place in a value tree. Parse and format are inverses: `parsePath(formatPath(p))` is `p`
 * for every non-empty path (quoted keys use JSON escapes, the way `formatPath` writes them).
 *
 * `${...}` interpolations inside a definition are the ESC grammar's own business (`shared/esc/syntax.ts`
 * parses them with positions and ESC's error texts); this module is the path as a user types it.
 */
import { UserError } from '../errors.ts'

export type PathSegment = string | number

/** A bad path: what is wrong and the 0-based offset where. */
export interface PathError {
  message: string
  offset: number
}

/** A key written bare (`a.b`); any other key is written quoted (`["a b"]`). */
const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/

/** Parses a property path without throwing: the segments, or what is wrong and where. */
export function tryParsePath(text: string): { path: PathSegment[] } | { error: PathError } {
  const segs: PathSegment[] = []
  let i = 0
  const fail = (message: string) => ({ error: { message, offset: i } })
  if (text.length === 0) return fail('the path is empty')
  while (i < text.length) {
    if (text[i] === '[') {
      i++
      if (text[i] === '"') {
        const open = i
        i++
        while (i < text.length && text[i] !== '"') i += text[i] === '\\' && i + 1 < text.length ? 2 : 1
        if (text[i] !== '"') return fail('key subscript is missing its closing quote')
        const key = unquote(text.slice(open, i + 1))
        i++
        if (key === '') return fail('key subscript must not be empty')
        segs.push(key)
      } else {
        const start = i
        while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++
        if (i === start) return fail('subscript must be a non-negative integer or a quoted key')
        segs.push(Number(text.slice(start, i)))
      }
      if (text[i] !== ']') return fail("subscript is missing its closing bracket ']'")
      i++
      if (i < text.length && text[i] !== '.' && text[i] !== '[') return fail("expected '.' or '[' after a subscript")
    } else {
      const start = i
      while (i < text.length && text[i] !== '.' && text[i] !== '[') i++
      if (i === start) return fail('property name must not be empty')
      segs.push(text.slice(start, i))
    }
    if (text[i] === '.') {
      i++
      if (i >= text.length) return fail('property name must not be empty')
    }
  }
  return { path: segs }
}

/** A quoted key's text: JSON escapes decoded; a backslash before any other character keeps that character. */
function unquote(quoted: string): string {
  try {
    return JSON.parse(quoted) as string
  } catch {
    return quoted.slice(1, -1).replace(/\\(.)/gs, '$1')
  }
}

/** Parses a property path; throws an `invalid_input` UserError naming the column and what is wrong. */
export function parsePath(text: string): PathSegment[] {
  const r = tryParsePath(text)
  if ('path' in r) return r.path
  throw new UserError('invalid_input', `invalid property path ${JSON.stringify(text)} at column ${r.error.offset + 1}: ${r.error.message}`, {
    hint: 'write paths like app.token, list[0] or app["key.with.dots"]',
  })
}

/** Formats segments into the canonical path text: bare keys with dots, others quoted, indexes in brackets. */
export function formatPath(segs: readonly PathSegment[]): string {
  let out = ''
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`
    else if (BARE_KEY.test(s)) out += out === '' ? s : `.${s}`
    else out += `[${JSON.stringify(s)}]`
  }
  return out
}

/** The segments of the grammar's accessors (`{ key }` / `{ index }`, as `shared/esc/syntax.ts` parses `${...}`). */
export function accessorSegments(path: readonly { key?: string; index?: number }[]): PathSegment[] {
  return path.map((a) => (a.index !== undefined ? a.index : (a.key ?? '')))
}
