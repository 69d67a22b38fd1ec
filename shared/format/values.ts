/**
 * Turning evaluated values (EvalValue trees) into plain data: JSON with secrets redacted or revealed,
 * property lookup, the `environmentVariables` / `files` projection used by run, open and export,
 * and the list of secret strings that run masks in a child's output. Pure.
 */
import { setOwn } from '../esc/own.ts'
import type { EvalValue, JsonValue } from '../esc/host.ts'
import { UserError } from '../errors.ts'
import { formatPath, type PathSegment } from './paths.ts'
import { plainText } from './text.ts'

export const SECRET_MARK = '[secret]'
export const UNKNOWN_MARK = '[unknown]'

export interface RevealOptions {
  /** show secret plaintext (otherwise `[secret]`) */
  reveal: boolean
}

/** EvalValue -> JSON. Secrets become "[secret]" unless reveal; unknowns become "[unknown]". */
export function toPlain(v: EvalValue | undefined, opts: RevealOptions): JsonValue {
  if (v === undefined) return null
  // a secret stays `[secret]` even when it is also unknown (check mode does not decrypt)
  if (v.secret && !opts.reveal) return SECRET_MARK
  if (v.unknown) return UNKNOWN_MARK
  const x = v.value
  if (Array.isArray(x)) return x.map((e) => toPlain(e, opts))
  if (x !== null && typeof x === 'object') {
    const out: { [k: string]: JsonValue } = {}
    for (const [k, e] of Object.entries(x)) setOwn(out, k, toPlain(e, opts))
    return out
  }
  return x
}

/** The top-level value map -> JSON object. */
export function toPlainObject(values: Record<string, EvalValue> | undefined, opts: RevealOptions): { [k: string]: JsonValue } {
  const out: { [k: string]: JsonValue } = {}
  for (const [k, v] of Object.entries(values ?? {})) setOwn(out, k, toPlain(v, opts))
  return out
}

/** Wraps the top-level map as one object EvalValue, so paths can be walked uniformly. */
export function rootValue(values: Record<string, EvalValue> | undefined): EvalValue {
  return { value: values ?? {}, trace: {} }
}

/** Looks up a property path; throws UserError naming the missing part. */
export function lookup(root: EvalValue, path: readonly PathSegment[]): EvalValue {
  let cur = root
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!
    const x = cur.value
    const here = formatPath(path.slice(0, i + 1))
    if (typeof seg === 'number') {
      if (!Array.isArray(x)) throw new UserError('not_found', `${formatPath(path.slice(0, i)) || 'the value'} is not a list, so ${here} does not exist`)
      const next = x[seg]
      if (next === undefined) throw new UserError('not_found', `${here} is out of range (the list has ${x.length} items)`)
      cur = next
    } else {
      if (x === null || typeof x !== 'object' || Array.isArray(x)) {
        throw new UserError('not_found', `${formatPath(path.slice(0, i)) || 'the value'} is not an object, so ${here} does not exist`)
      }
      const next = (x as Record<string, EvalValue>)[seg]
      if (next === undefined) throw new UserError('not_found', `property ${here} does not exist`)
      cur = next
    }
  }
  return cur
}

/** Every secret string leaf (and every string under a secret subtree), longest first, at least `minLength` long. */
export function collectSecrets(values: Record<string, EvalValue> | undefined, minLength = 3): string[] {
  const found = new Set<string>()
  const walk = (v: EvalValue, secret: boolean): void => {
    const s = secret || v.secret === true
    const x = v.value
    if (Array.isArray(x)) x.forEach((e) => walk(e, s))
    else if (x !== null && typeof x === 'object') Object.values(x).forEach((e) => walk(e, s))
    else if (s && x !== null && !v.unknown) {
      const text = String(x)
      if (text.length >= minLength) found.add(text)
    }
  }
  for (const v of Object.values(values ?? {})) walk(v, false)
  return [...found].sort((a, b) => b.length - a.length)
}

/** Text of a value as it goes into a process environment variable or argument (shared/format/text.ts). */
export function scalarText(v: EvalValue, opts: RevealOptions): string {
  return plainText(toPlain(v, opts), 'variable')
}

export interface EnvironmentProjection {
  /** `environmentVariables`: name -> text */
  variables: Record<string, string>
  /** `files`: variable name -> file content (the variable will hold the file's path) */
  files: Record<string, string>
  /** names (in variables or files) whose value is secret */
  secretNames: string[]
}

/** Projects `environmentVariables` and `files` out of an evaluated environment. */
export function projectEnvironment(values: Record<string, EvalValue> | undefined, opts: RevealOptions): EnvironmentProjection {
  const variables: Record<string, string> = {}
  const files: Record<string, string> = {}
  const secretNames: string[] = []
  const take = (key: 'environmentVariables' | 'files', into: Record<string, string>): void => {
    const section = values?.[key]
    if (section === undefined) return
    const x = section.value
    if (x === null || typeof x !== 'object' || Array.isArray(x)) {
      throw new UserError('invalid_input', `\`${key}\` must be an object mapping names to values`)
    }
    for (const [name, v] of Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      setOwn(into, name, scalarText(v, opts))
      if (v.secret || section.secret || containsSecret(v)) secretNames.push(name)
    }
  }
  take('environmentVariables', variables)
  take('files', files)
  return { variables, files, secretNames }
}

function containsSecret(v: EvalValue): boolean {
  if (v.secret) return true
  const x = v.value
  if (Array.isArray(x)) return x.some(containsSecret)
  if (x !== null && typeof x === 'object') return Object.values(x).some(containsSecret)
  return false
}
