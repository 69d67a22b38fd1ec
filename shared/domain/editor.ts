/**
 * Editor facts on top of the syntax tree and the evaluated value tree, for any editor (the app's Monaco
 * providers are thin adapters over these): `${}` path completions, what is under the cursor (a reference,
 * a key, a builtin, an import) for hover and go-to-definition across imports, and the cheap line facts a
 * completion needs while the user types (an open `${`, the section, a partly typed import or builtin).
 *
 * Cost: completion runs on keystrokes, so its facts read only the current line (and scan up for the
 * section); hover and go-to-definition parse the document (the last buffer asked about is kept).
 */
import type { EvalValue, Pos, Range } from '../esc/host.ts'
import type { EnvironmentDoc, Expr } from '../esc/ast.ts'
import { DEFAULT_LIMITS, parseEnvironmentDoc, parsePath } from '../esc/syntax.ts'
import { advance } from '../esc/source.ts'
import { accessorSegments, formatPath } from '../format/paths.ts'

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
  /** the value itself (for a preview of it; mask secrets before showing) */
  value: EvalValue
}

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
 * `from` is the offset in `prefix` where the completed step starts (the text to replace). The items are
 * filtered by the partly typed step unless `filter` is false (an editor that filters fuzzily itself).
 */
export function completePath(scope: Scope, prefix: string, opts: { filter?: boolean } = {}): { from: number; items: Completion[] } {
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
  const filter = opts.filter === false ? '' : partial.replace(/^\["?/, '').toLowerCase()
  if (Array.isArray(x)) {
    x.forEach((v, i) => {
      if (!String(i).startsWith(filter)) return
      items.push({ insertText: `[${i}]`, label: `[${i}]`, kind: 'index', detail: typeOfValue(v), secret: v.secret || undefined, def: v.trace.def, value: v })
    })
  } else if (x !== null && typeof x === 'object') {
    for (const k of Object.keys(x).sort()) {
      if (!k.toLowerCase().startsWith(filter)) continue
      const v = (x as Record<string, EvalValue>)[k]
      const plain = !bracket && formatPath([k]) === k
      items.push({
        insertText: plain ? k : `[${JSON.stringify(k)}]`,
        label: k,
        kind: 'property',
        detail: typeOfValue(v),
        secret: v.secret || undefined,
        def: v.trace.def,
        value: v,
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
  /** range of the token under the cursor (a `${}` interpolation, a key, or a value) */
  range: Range
  /** diagnostic-style path of the syntax node, e.g. `values.app.url` */
  path: string
  /** the value at the cursor: for a reference, the referenced value; else the value defined there */
  value?: EvalValue
  /**
   * where that value is defined (go-to-definition); may be in an imported environment. For a reference
   * into a value without a definition of its own (inside an opaque object), the nearest enclosing one.
   */
  definition?: Range
  /** for a reference: the accessor path text, e.g. `app.host` */
  reference?: string
  /** when the cursor is on a key (a property name, or a builtin such as `fn::secret`): its text and range */
  key?: { name: string; range: Range }
}

type Segs = Array<{ key?: string; index?: number }>

let last: { name: string; source: string; doc: EnvironmentDoc } | undefined

/**
 * The syntax tree of the buffer an editor asks about. One entry is kept (the buffer being hovered is
 * asked about again and again), outside syntax.ts's cache of evaluated documents: an editor buffer
 * changes on every keystroke and each version would otherwise be kept there.
 */
function bufferDoc(name: string, source: string): EnvironmentDoc {
  if (last?.name !== name || last.source !== source) last = { name, source, doc: parseEnvironmentDoc(name, source, DEFAULT_LIMITS) }
  return last.doc
}

/**
 * What is under the cursor (1-based line/column) of an environment's source: a `${}` reference (its
 * target's value and definition) or a value (its evaluated value). `scope` is the evaluation result.
 */
export function symbolAt(name: string, source: string, scope: Scope, line: number, column: number): SymbolInfo | undefined {
  const doc = bufferDoc(name, source)
  if (!doc.values) return undefined
  const found = findNode(doc.values, [], line, column)
  if (!found) return undefined
  const { x, segs, key } = found
  if (x.kind === 'interp' && !key) {
    const begin = contentBegin(source, x.range.begin)
    for (const part of x.parts) {
      if (!part.path || part.start === undefined || part.end === undefined) continue
      const pr: Range = { environment: x.range.environment, begin: advance(begin, x.value, 0, part.start), end: advance(begin, x.value, 0, part.end) }
      if (!contains(pr, line, column)) continue
      // the accessor under the cursor (or the whole path when on `${` / `}`)
      let upto = part.path.length
      for (let i = 0; i < part.path.length; i++) {
        const a = part.path[i]
        const ar: Range = { environment: x.range.environment, begin: advance(begin, x.value, 0, a.start), end: advance(begin, x.value, 0, a.end) }
        if (contains(ar, line, column)) {
          upto = i + 1
          break
        }
      }
      const path = part.path.slice(0, upto)
      // the value at each step: the last one is the target, the nearest with a definition is where it is defined
      const steps: Array<EvalValue | undefined> = []
      let v: EvalValue | undefined = rootValue(scope)
      for (const a of path) steps.push((v = step(v, a)))
      const definition = steps.reduceRight<Range | undefined>((def, s) => def ?? s?.trace.def, undefined)
      return { range: pr, path: x.path, value: v, definition, reference: formatPath(accessorSegments(path)) }
    }
  }
  let v: EvalValue | undefined = rootValue({ values: scope.values })
  for (const s of segs) v = step(v, s)
  return { range: x.range, path: x.path, value: v, definition: v?.trace.def, ...(key ? { key } : {}) }
}

/**
 * Where a scalar's text starts: after the opening quote of a quoted scalar (the node's range starts at
 * the quote), so that offsets in the value land on the columns the user sees.
 */
function contentBegin(source: string, begin: Pos): Pos {
  let at = 0
  for (let l = 1; l < begin.line; l++) {
    const nl = source.indexOf('\n', at)
    if (nl < 0) return begin
    at = nl + 1
  }
  const c = source[at + begin.column - 1]
  return c === '"' || c === "'" ? { line: begin.line, column: begin.column + 1, byte: begin.byte + 1 } : begin
}

interface Found {
  x: Expr
  segs: Segs
  key?: { name: string; range: Range }
}

/** Deepest syntax node containing the position, with the value path (keys / indices) that leads to it. */
function findNode(x: Expr, segs: Segs, line: number, column: number): Found | undefined {
  if (x.kind === 'object') {
    for (const k of x.keys) {
      const c = x.props.get(k) as Expr
      const kr = x.keyRanges.get(k)
      if (kr && contains(kr, line, column)) return { x: c, segs: [...segs, { key: k }], key: { name: k, range: kr } }
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
    if (contains(x.nameRange, line, column)) return { x, segs, key: { name: x.fn, range: x.nameRange } }
    // inside a builtin call: the value is the call's result; references inside still resolve
    const inner = findNode(x.arg, segs, line, column)
    if (inner && inner.x.kind === 'interp') return { x: inner.x, segs }
    return contains(x.range, line, column) ? { x, segs } : undefined
  }
  return contains(x.range, line, column) ? { x, segs } : undefined
}

/** The import declared on `line` (1-based) of an environment's source: its name as written and its range. */
export function importAt(name: string, source: string, line: number): { name: string; range: Range } | undefined {
  const decl = bufferDoc(name, source).imports.find((i) => i.range.begin.line === line)
  return decl && { name: decl.name, range: decl.range }
}

// ---------------------------------------------------------------- line facts (cheap: for completion)

/** The text typed after a `${` that is still open before the cursor (`before` = the line up to it). */
export function openInterpolation(before: string): string | undefined {
  const open = before.lastIndexOf('${')
  if (open < 0 || before.slice(open).includes('}')) return undefined
  return before.slice(open + 2)
}

/** The top-level section (`imports`, `values`, …) that line `lineIndex` (0-based) belongs to. */
export function sectionAt(lines: readonly string[], lineIndex: number): string | undefined {
  for (let i = lineIndex; i >= 0; i--) {
    const m = /^([A-Za-z_][\w-]*):/.exec(lines[i] ?? '')
    if (m) return m[1]
  }
  return undefined
}

/** On an `imports:` list item being typed (`  - proj/en`): the partly typed name (may be empty). */
export function importNameTyped(before: string): string | undefined {
  return /^\s*-\s*([\w./@-]*)$/.exec(before)?.[1]
}

/**
 * A builtin being typed at a key position (`f`, `fn`, `fn::…`): the typed text; on an explicit request
 * (`invoked`, e.g. Ctrl+Space) at a key or value position with nothing typed, ''. Otherwise undefined.
 */
export function builtinTyped(before: string, invoked: boolean): string | undefined {
  const m = /(?:^|[\s{,-])(fn(?::(?::[\w:]*)?)?|f)$/.exec(before)
  if (m) return m[1]
  return invoked && /(?:^\s*-?\s*|:\s*)$/.test(before) ? '' : undefined
}

export interface BuiltinDoc {
  name: string
  signature: string
  doc: string
  /** snippet text (`${1:…}` placeholders) */
  snippet: string
}

/** The builtins, for completion and hover. `fn::open::` and `fn::rotate::` name a provider after them. */
export const BUILTINS: readonly BuiltinDoc[] = [
  {
    name: 'fn::secret',
    signature: 'fn::secret: <string>',
    doc: 'Marks a value as secret. Stored encrypted; shown as [secret] unless revealed.',
    snippet: 'fn::secret: ${1:value}',
  },
  { name: 'fn::join', signature: 'fn::join: [<separator>, [<items>...]]', doc: 'Joins strings with a separator.', snippet: 'fn::join: ["${1:,}", [${2}]]' },
  { name: 'fn::split', signature: 'fn::split: [<separator>, <string>]', doc: 'Splits a string into a list.', snippet: 'fn::split: ["${1:,}", ${2:string}]' },
  { name: 'fn::concat', signature: 'fn::concat: [[...], [...]]', doc: 'Concatenates lists.', snippet: 'fn::concat: [[${1}], [${2}]]' },
  { name: 'fn::toJSON', signature: 'fn::toJSON: <value>', doc: 'Encodes a value as a JSON string.', snippet: 'fn::toJSON: ${1}' },
  { name: 'fn::fromJSON', signature: 'fn::fromJSON: <string>', doc: 'Decodes a JSON string into a value.', snippet: 'fn::fromJSON: ${1}' },
  { name: 'fn::toBase64', signature: 'fn::toBase64: <string>', doc: 'Encodes a string as base64.', snippet: 'fn::toBase64: ${1}' },
  { name: 'fn::fromBase64', signature: 'fn::fromBase64: <string>', doc: 'Decodes a base64 string.', snippet: 'fn::fromBase64: ${1}' },
  { name: 'fn::toString', signature: 'fn::toString: <value>', doc: 'Converts a value to its string form.', snippet: 'fn::toString: ${1}' },
  { name: 'fn::final', signature: 'fn::final: <value>', doc: 'A value that importing environments may not override.', snippet: 'fn::final: ${1}' },
  {
    name: 'fn::validate',
    signature: 'fn::validate: {schema: <JSON schema>, value: <value>}',
    doc: 'Checks a value against a JSON schema; each violation is a diagnostic.',
    snippet: 'fn::validate:\n  schema: ${1:{}}\n  value: ${2}',
  },
  {
    name: 'fn::open',
    signature: 'fn::open: {provider: <name>, inputs: {...}}',
    doc: 'Opens a dynamic provider (long form). Unknown in check mode.',
    snippet: 'fn::open:\n  provider: ${1}\n  inputs: ${2:{}}',
  },
  {
    name: 'fn::open::',
    signature: 'fn::open::<provider>: {inputs}',
    doc: 'Opens the named dynamic provider with the given inputs. Unknown in check mode.',
    snippet: 'fn::open::${1:provider}: ${2:{}}',
  },
  {
    name: 'fn::rotate::',
    signature: 'fn::rotate::<rotator>: {inputs, state}',
    doc: 'A rotated secret: `rotate` writes the new state back as a new revision.',
    snippet: 'fn::rotate::${1:rotator}:\n  inputs: ${2:{}}\n  state: ${3:{}}',
  },
]

/** The builtin a key names (`fn::secret`, `fn::open::aws-login`), or undefined when it is no builtin. */
export function builtinNamed(key: string): BuiltinDoc | undefined {
  return BUILTINS.find((b) => b.name === key) ?? BUILTINS.find((b) => b.name.endsWith('::') && key.startsWith(b.name))
}
