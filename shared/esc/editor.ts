/**
 * Editor support on top of the evaluated value tree: `${}` path completions, hover (the value under the
 * cursor) and go-to-definition (where a referenced value is defined, across imports).
 */
import type { EvalValue, Range } from './host.ts'
import type { Accessor, EnvironmentDoc, Expr } from './syntax.ts'
import { parseEnvironmentDoc, parsePath } from './syntax.ts'
import { advance } from './source.ts'

export interface Completion {
  /** text to insert for this step (`name`, `["key with.dots"]` or `[0]`) */
  insertText: string
  label: string
  kind: 'property' | 'index'
  /** type of the value: string, number, boolean, null, array, object, unknown */
  detail: string
  secret?: boolean
  /** where the value is defined */
  def?: Range
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/

function typeOfValue(v: EvalValue | undefined): string {
  if (!v || v.unknown) return 'unknown'
  const x = v.value
  if (x === null) return 'null'
  if (Array.isArray(x)) return 'array'
  return typeof x
}

function step(v: EvalValue | undefined, a: { key?: string; index?: number }): EvalValue | undefined {
  if (!v || v.unknown) return undefined
  const x = v.value
  if (Array.isArray(x)) return a.index !== undefined ? x[a.index] : undefined
  if (x !== null && typeof x === 'object' && a.key !== undefined) {
    return Object.prototype.hasOwnProperty.call(x, a.key) ? (x as Record<string, EvalValue>)[a.key] : undefined
  }
  return undefined
}

/** The root of `${...}` paths: the environment's values, plus `context` (and `imports`) when given. */
export interface Scope {
  values: { [key: string]: EvalValue } | undefined
  context?: EvalValue
  imports?: EvalValue
}

function rootValue(scope: Scope): EvalValue {
  const o: { [k: string]: EvalValue } = { ...(scope.values ?? {}) }
  if (scope.context) o.context = scope.context
  if (scope.imports) o.imports = scope.imports
  return { value: o, trace: {} }
}

/**
 * Completions for the text typed after `${` up to the cursor (e.g. `app.db.` or `app["x`).
 * `from` is the offset in `prefix` where the completed step starts (the text to replace).
 */
export function completePath(scope: Scope, prefix: string): { from: number; items: Completion[] } {
  // split off the step being typed: after the last `.` or `[` that is not inside a quoted key
  let cut = 0
  let inQuote = false
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix[i]
    if (inQuote) {
      if (c === '\\') i++
      else if (c === '"') inQuote = false
      continue
    }
    if (c === '"') inQuote = true
    else if (c === '.' || c === '[') cut = c === '.' ? i + 1 : i
  }
  const done = prefix.slice(0, cut).replace(/\.$/, '')
  const partial = prefix.slice(cut)
  let target: EvalValue | undefined = rootValue(scope)
  if (done !== '') {
    const parsed = parsePath(done + '}', 0)
    if (parsed.error || !parsed.path) return { from: cut, items: [] }
    for (const a of parsed.path) target = step(target, a)
  }
  if (!target || target.unknown) return { from: cut, items: [] }
  const x = target.value
  const items: Completion[] = []
  const bracket = partial.startsWith('[')
  const filter = partial.replace(/^\["?/, '').toLowerCase()
  if (Array.isArray(x)) {
    x.forEach((v, i) => {
      if (!String(i).startsWith(filter)) return
      items.push({ insertText: `[${i}]`, label: `[${i}]`, kind: 'index', detail: typeOfValue(v), secret: v.secret || undefined, def: v.trace.def })
    })
  } else if (x !== null && typeof x === 'object') {
    for (const k of Object.keys(x).sort()) {
      if (!k.toLowerCase().startsWith(filter)) continue
      const v = (x as Record<string, EvalValue>)[k]
      const plain = IDENT.test(k) && !bracket && !k.includes('-')
      items.push({
        insertText: plain ? k : `[${JSON.stringify(k)}]`, label: k, kind: 'property', detail: typeOfValue(v),
        secret: v.secret || undefined, def: v.trace.def,
      })
    }
  }
  return { from: cut, items }
}

function contains(r: Range, line: number, column: number): boolean {
  const { begin, end } = r
  if (line < begin.line || line > end.line) return false
  if (line === begin.line && column < begin.column) return false
  if (line === end.line && column > end.column) return false
  return true
}

export interface SymbolInfo {
  /** range of the token under the cursor (a `${}` accessor, or a value) */
  range: Range
  /** diagnostic-style path of the syntax node, e.g. `values.app.url` */
  path: string
  /** the value at the cursor: for a reference, the referenced value; else the value defined there */
  value?: EvalValue
  /** where that value is defined (go-to-definition); may be in an imported environment */
  definition?: Range
  /** for a reference: the accessor path text, e.g. `app.host` */
  reference?: string
}

/**
 * What is under the cursor (1-based line/column) of an environment's source: a `${}` reference (its
 * target's value and definition) or a value (its evaluated value). `scope` is the evaluation result.
 */
export function symbolAt(name: string, source: string, scope: Scope, line: number, column: number): SymbolInfo | undefined {
  const doc: EnvironmentDoc = parseEnvironmentDoc(name, source)
  if (!doc.values) return undefined
  const found = findNode(doc.values, [], line, column)
  if (!found) return undefined
  const { x, segs } = found
  if (x.kind === 'interp') {
    for (const part of x.parts) {
      if (!part.path || part.start === undefined || part.end === undefined) continue
      const pr: Range = { environment: x.range.environment, begin: advance(x.range.begin, x.value, 0, part.start), end: advance(x.range.begin, x.value, 0, part.end) }
      if (!contains(pr, line, column)) continue
      // the accessor under the cursor (or the whole path when on `${` / `}`)
      let upto = part.path.length
      for (let i = 0; i < part.path.length; i++) {
        const a = part.path[i]
        const ar: Range = { environment: x.range.environment, begin: advance(x.range.begin, x.value, 0, a.start), end: advance(x.range.begin, x.value, 0, a.end) }
        if (contains(ar, line, column)) {
          upto = i + 1
          break
        }
      }
      const path = part.path.slice(0, upto)
      let v: EvalValue | undefined = rootValue(scope)
      for (const a of path) v = step(v, a)
      return { range: pr, path: x.path, value: v, definition: v?.trace.def, reference: formatPath(path) }
    }
  }
  let v: EvalValue | undefined = rootValue({ values: scope.values })
  for (const s of segs) v = step(v, s)
  return { range: x.range, path: x.path, value: v, definition: v?.trace.def }
}

function formatPath(path: Accessor[]): string {
  let s = ''
  for (const a of path) {
    if (a.index !== undefined) s += `[${a.index}]`
    else if (a.key !== undefined && IDENT.test(a.key) && !a.key.includes('-')) s += s === '' ? a.key : `.${a.key}`
    else s += `[${JSON.stringify(a.key)}]`
  }
  return s
}

/** Deepest syntax node containing the position, with the value path (keys / indices) that leads to it. */
function findNode(x: Expr, segs: Array<{ key?: string; index?: number }>, line: number, column: number): { x: Expr; segs: Array<{ key?: string; index?: number }> } | undefined {
  if (x.kind === 'object') {
    for (const k of x.keys) {
      const c = x.props.get(k) as Expr
      const kr = x.keyRanges.get(k)
      if (kr && contains(kr, line, column)) return { x: c, segs: [...segs, { key: k }] }
      const hit = findNode(c, [...segs, { key: k }], line, column)
      if (hit) return hit
    }
    return contains(x.range, line, column) && segs.length ? { x, segs } : undefined
  }
  if (x.kind === 'list') {
    for (let i = 0; i < x.items.length; i++) {
      const hit = findNode(x.items[i], [...segs, { index: i }], line, column)
      if (hit) return hit
    }
    return contains(x.range, line, column) ? { x, segs } : undefined
  }
  if (x.kind === 'builtin') {
    // inside a builtin call: the value is the call's result; references inside still resolve
    const inner = findNode(x.arg, segs, line, column)
    if (inner && inner.x.kind === 'interp') return { x: inner.x, segs }
    return contains(x.range, line, column) || contains(x.nameRange, line, column) ? { x, segs } : undefined
  }
  return contains(x.range, line, column) ? { x, segs } : undefined
}
