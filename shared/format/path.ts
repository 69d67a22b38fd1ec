/**
 * Property paths as the `esc` CLI takes them: `app.token`, `list[0]`, `a["key.with.dots"]`, `["k"].x`.
 * Pure: used by `env get/set/rm <path>` and `open <env> <path>`.
 */
import { UserError } from '../errors.ts'

export type PathSegment = string | number

/** Parses a property path; throws UserError (with the column) on bad syntax. */
export function parsePath(text: string): PathSegment[] {
  const segs: PathSegment[] = []
  let i = 0
  const fail = (msg: string): never => {
    throw new UserError('invalid_input', `invalid property path ${JSON.stringify(text)} at column ${i + 1}: ${msg}`, {
      hint: 'write paths like app.token, list[0] or app["key.with.dots"]',
    })
  }
  if (text.length === 0) fail('the path is empty')
  while (i < text.length) {
    const c = text[i]
    if (c === '[') {
      i++
      if (text[i] === '"') {
        i++
        let key = ''
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) i++
          key += text[i]
          i++
        }
        if (text[i] !== '"') fail('key subscript is missing its closing quote')
        i++
        if (key === '') fail('key subscript must not be empty')
        segs.push(key)
      } else {
        const start = i
        while (i < text.length && /[0-9]/.test(text[i]!)) i++
        if (i === start) fail('subscript must be a non-negative integer or a quoted key')
        segs.push(Number(text.slice(start, i)))
      }
      if (text[i] !== ']') fail("subscript is missing its closing bracket ']'")
      i++
      if (i < text.length && text[i] !== '.' && text[i] !== '[') fail("expected '.' or '[' after a subscript")
      if (text[i] === '.') {
        i++
        if (i >= text.length) fail('property name must not be empty')
      }
    } else {
      const start = i
      while (i < text.length && text[i] !== '.' && text[i] !== '[') i++
      if (i === start) fail('property name must not be empty')
      segs.push(text.slice(start, i))
      if (text[i] === '.') {
        i++
        if (i >= text.length) fail('property name must not be empty')
      }
    }
  }
  return segs
}

/** Formats segments back into the canonical path text. */
export function formatPath(segs: readonly PathSegment[]): string {
  let out = ''
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`
    else out += `[${JSON.stringify(s)}]`
  }
  return out
}
