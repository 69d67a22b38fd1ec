/**
 * Parsing: YAML source (via the `yaml` package, positions kept) -> environment syntax tree
 * (literals, interpolations, lists, objects, builtin calls), with the reference's load diagnostics.
 */
import { Alias, isMap, isScalar, isSeq, parseDocument } from 'yaml'
import type { Node as YNode, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml'
import type { Diagnostic, Limits, Pos, Range } from './host.ts'
import { advance, SourceMap } from './source.ts'
import type { Accessor, BuiltinExpr, BuiltinName, EnvironmentDoc, Expr, InterpPart, NumberExpr, ObjectExpr } from './ast.ts'
import { decodeEnvironmentDoc } from './syntax-cache.ts'

export const DEFAULT_LIMITS: Limits = {
  maxDocumentBytes: 1024 * 1024,
  maxDepth: 64,
  maxImportDepth: 32,
  maxImports: 256,
  maxAliasCount: 100,
  maxStringBytes: 4 * 1024 * 1024,
  operationTimeoutMs: 120_000,
}

/**
 * The summary of a `yaml` parse error: its first line. `yaml` recurses once per nesting level and reports a stack
 * overflow on deeply nested input (5,000 `[`) as a parse error at that place: that is the depth limit, said so.
 */
export function yamlErrorSummary(message: string, limits: Pick<Limits, 'maxDepth'> = DEFAULT_LIMITS): string {
  if (/Maximum call stack size exceeded|too much recursion/i.test(message)) return `value nesting exceeds the maximum depth of ${limits.maxDepth}`
  return message.split('\n')[0]!
}

export function resolveLimits(l?: Partial<Limits>): Limits {
  return l ? { ...DEFAULT_LIMITS, ...l } : DEFAULT_LIMITS
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/

export function keyPath(parent: string, key: string): string {
  if (IDENT.test(key)) return parent === '' ? key : `${parent}.${key}`
  return `${parent}[${JSON.stringify(key)}]`
}

export function indexPath(parent: string, i: number): string {
  return `${parent}[${i}]`
}

class Parser {
  readonly src: SourceMap
  readonly diags: Diagnostic[] = []
  readonly evalDiags: Diagnostic[] = []
  readonly limits: Limits
  aliases = 0
  aliasOverflow = false
  readonly doc: ReturnType<typeof parseDocument>

  constructor(src: SourceMap, doc: ReturnType<typeof parseDocument>, limits: Limits) {
    this.src = src
    this.doc = doc
    this.limits = limits
  }

  error(summary: string, path: string, range: Range | undefined): void {
    this.diags.push({ severity: 'error', summary, path, range })
  }

  /** start offset of a node (empty plain scalars are placed where the reference puts them) */
  startOf(n: YNode): number {
    const r = n.range
    if (!r) return 0
    if (isScalar(n) && n.type === 'PLAIN' && n.source === '' && r[0] > 0 && this.src.text[r[0] - 1] === ' ') return r[0] - 1
    return r[0]
  }

  /** The reference's node range: strings end `len(value)` after their start; collections end at their last child. */
  rangeOf(n: YNode | null | undefined): Range {
    if (!n) return this.src.range(0, 0)
    return this.computeRange(n)
  }

  private computeRange(n: YNode): Range {
    if (n instanceof Alias) n = this.derefQuiet(n) ?? n
    const start = this.startOf(n)
    if (isScalar(n)) {
      if (typeof n.value === 'string') {
        const b = this.src.pos(start)
        return { environment: this.src.environment, begin: b, end: advance(b, n.value, 0, n.value.length) }
      }
      return this.src.range(start, n.range ? n.range[1] : start)
    }
    const last = this.lastChild(n)
    if (last) return { environment: this.src.environment, begin: this.src.pos(start), end: this.rangeOf(last).end }
    // an empty collection ends where it starts (as the reference)
    return this.src.range(start, start)
  }

  lastChild(n: YNode): YNode | undefined {
    if (isMap(n)) {
      const items = (n as YAMLMap).items as Pair[]
      if (items.length === 0) return undefined
      const p = items[items.length - 1]
      return (p.value as YNode | null) ?? (p.key as YNode)
    }
    if (isSeq(n)) {
      const items = (n as YAMLSeq).items as YNode[]
      return items.length ? items[items.length - 1] : undefined
    }
    return undefined
  }

  /** alias target without counting an expansion (for ranges) */
  derefQuiet(n: YNode): YNode | undefined {
    let guard = 0
    while (n instanceof Alias) {
      if (++guard > 64) return undefined
      const t = n.resolve(this.doc) as YNode | undefined
      if (!t) return undefined
      n = t
    }
    return n
  }

  deref(n: YNode | null | undefined): YNode | undefined {
    if (!n) return undefined
    let guard = 0
    while (n instanceof Alias) {
      if (++guard > 64) return undefined
      this.aliases++
      if (this.aliases > this.limits.maxAliasCount) {
        if (!this.aliasOverflow) {
          this.aliasOverflow = true
          this.error(`too many YAML alias expansions (limit ${this.limits.maxAliasCount})`, '', this.src.range(n.range?.[0] ?? 0, n.range?.[1] ?? 0))
        }
        return undefined
      }
      n = n.resolve(this.doc) as YNode | undefined
      if (!n) return undefined
    }
    return n
  }

  keyString(k: unknown): string | undefined {
    if (k === null || k === undefined) return undefined
    const kn = this.deref(k as YNode)
    if (!kn || !isScalar(kn)) return undefined
    const v = kn.value
    if (typeof v === 'string') return v
    if (kn.source !== undefined && kn.type === 'PLAIN') return kn.source
    return v === null ? '' : String(v)
  }

  parseExpr(n: YNode | null | undefined, path: string, key: string, depth: number): Expr {
    const node = this.deref(n)
    if (depth > this.limits.maxDepth) {
      const range = this.rangeOf(n)
      this.error(`value nesting exceeds the maximum depth of ${this.limits.maxDepth}`, path, range)
      return { kind: 'null', range, path, key }
    }
    if (!node) return { kind: 'null', range: this.rangeOf(n), path, key }
    if (isScalar(node)) return this.parseScalar(node, this.computeRange(node), path, key)
    if (isSeq(node)) {
      const begin = this.src.pos(this.startOf(node))
      const items: Expr[] = []
      const seq = node as YAMLSeq
      for (let i = 0; i < seq.items.length; i++) {
        items.push(this.parseExpr(seq.items[i] as YNode, indexPath(path, i), indexPath(key, i), depth + 1))
      }
      const end = items.length ? items[items.length - 1].range.end : begin
      return { kind: 'list', items, range: { environment: this.src.environment, begin, end }, path, key }
    }
    if (isMap(node)) return this.parseMap(node as YAMLMap, path, key, depth)
    return { kind: 'null', range: this.rangeOf(n), path, key }
  }

  parseScalar(node: Scalar, range: Range, path: string, key: string): Expr {
    const v = node.value
    if (v === null || v === undefined) return { kind: 'null', range, path, key }
    if (typeof v === 'boolean') return { kind: 'boolean', value: v, range, path, key }
    if (typeof v === 'number') {
      const n: NumberExpr = { kind: 'number', value: v, range, path, key }
      // numbers keep their source text for interpolation, as the reference's json.Number does
      if (node.type === 'PLAIN' && node.source !== undefined && node.source !== String(v) && /^-?[0-9]/.test(node.source)) n.text = node.source
      return n
    }
    if (typeof v === 'bigint') return { kind: 'number', value: Number(v), range, path, key }
    const s = typeof v === 'string' ? v : String(v)
    if (s.indexOf('$') < 0) return { kind: 'string', value: s, range, path, key }
    return this.parseInterp(s, range, path, key)
  }

  parseInterp(s: string, range: Range, path: string, key: string): Expr {
    const parts: InterpPart[] = []
    let text = ''
    let invalid = false
    let i = 0
    let hasInterp = false
    while (i < s.length) {
      const d = s.indexOf('$', i)
      if (d < 0) {
        text += i === 0 ? s : s.slice(i)
        break
      }
      if (d > i) text += s.slice(i, d)
      i = d
      if (s.charCodeAt(i + 1) === 36 && s.charCodeAt(i + 2) === 123) {
        text += '${'
        i += 3
        continue
      }
      if (s.charCodeAt(i + 1) === 123) {
        const res = parsePath(s, i + 2)
        if (res.error) {
          invalid = true
          const at = res.errorAt ?? i
          const b = advance(range.begin, s, 0, at)
          this.error(res.error, path, { environment: range.environment, begin: b, end: advance(range.begin, s, 0, res.end) })
          i = res.end
          continue
        }
        parts.push({ text, path: res.path, start: i, end: res.end })
        hasInterp = true
        text = ''
        i = res.end
        continue
      }
      text += '$'
      i++
    }
    if (!hasInterp && !invalid) return { kind: 'string', value: text, range, path, key }
    parts.push({ text })
    return { kind: 'interp', value: s, parts, range, path, key, invalid }
  }

  parseMap(node: YAMLMap, path: string, key: string, depth: number): Expr {
    const items = node.items as Pair[]
    const begin = this.src.pos(this.startOf(node))
    // builtin function call?
    let fnCount = 0
    const ks: Array<string | undefined> = new Array(items.length)
    for (let i = 0; i < items.length; i++) {
      const k = this.keyString(items[i].key)
      ks[i] = k
      if (k !== undefined && k.charCodeAt(0) === 102 /* f */ && k.startsWith('fn::')) fnCount++
    }
    if (fnCount > 0 && items.length === 1) {
      const p = items[0]
      const k = ks[0] as string
      const b = this.parseBuiltin(k, p, begin, path, key, depth)
      if (b) return b
    } else if (fnCount > 0) {
      for (let i = 0; i < items.length; i++) {
        const p = items[i]
        const k = ks[i]
        if (k !== undefined && k.startsWith('fn::') && builtinName(k)) {
          this.error(
            `illegal call to builtin function: ${JSON.stringify(k)} must be the only key within its containing object`,
            keyPath(path, k),
            this.rangeOf(p.key as YNode),
          )
        }
      }
    }
    const keys: string[] = []
    const props = new Map<string, Expr>()
    const keyRanges = new Map<string, Range>()
    let lastParsed: Expr | undefined
    let lastPair: Pair | undefined
    for (let i = 0; i < items.length; i++) {
      const p = items[i]
      const k = ks[i]
      const kr = this.rangeOf(p.key as YNode)
      if (k === undefined) {
        this.error('object keys must be strings', path, kr)
        continue
      }
      if (props.has(k)) {
        // reported when the document is evaluated, as the reference does
        this.evalDiags.push({ severity: 'error', summary: `duplicate key ${JSON.stringify(k)}`, path: keyPath(path, k), range: kr })
        continue
      }
      keys.push(k)
      keyRanges.set(k, kr)
      // a mis-nested `fn::secret` (an error, reported above) still evaluates as a secret: its plaintext must
      // not reach a preview, a hover or a completion as a plain value
      const parsed = this.parseExpr(p.value as YNode, keyPath(path, k), keyPath(key, k), depth + 1)
      lastParsed = k === 'fn::secret' && items.length > 1 && secretLiteral(parsed) ? (this.parseBuiltin(k, p, kr.begin, path, key, depth) ?? parsed) : parsed
      lastPair = p
      props.set(k, lastParsed)
    }
    let end = begin
    if (items.length) {
      const lp = items[items.length - 1]
      end = lastParsed && lastPair === lp ? lastParsed.range.end : this.rangeOf((lp.value as YNode | null) ?? (lp.key as YNode)).end
    }
    return { kind: 'object', keys, props, keyRanges, range: { environment: this.src.environment, begin, end }, path, key }
  }

  parseBuiltin(fn: string, pair: Pair, begin: Pos, path: string, key: string, depth: number): BuiltinExpr | undefined {
    const name = builtinName(fn)
    if (!name) return undefined
    const argPath = keyPath(path, fn)
    const argKey = keyPath(key, fn)
    const arg = this.parseExpr(pair.value as YNode, argPath, argKey, depth + 1)
    const range: Range = { environment: this.src.environment, begin, end: arg.range.end }
    const b: BuiltinExpr = { kind: 'builtin', fn, name, nameRange: this.rangeOf(pair.key as YNode), arg, range, path, key }
    const fail = (msg: string, at: Expr = arg): BuiltinExpr => {
      this.error(msg, at.path, at.range)
      b.invalid = true
      return b
    }
    switch (name) {
      case 'open':
      case 'rotate': {
        const short = fn !== `fn::${name}`
        if (short) b.provider = fn.slice(`fn::${name}::`.length)
        if (name === 'open' && short) {
          b.inputs = arg
          return b
        }
        if (arg.kind !== 'object') {
          return fail(
            name === 'open'
              ? "the argument to fn::open must be an object containing 'provider' and 'inputs'"
              : short
                ? "the argument to fn::rotate must be an object containing 'inputs' and 'state'"
                : "the argument to fn::rotate must be an object containing 'provider', 'inputs' and 'state'",
          )
        }
        if (!short) {
          const p = arg.props.get('provider')
          if (!p) return fail("missing provider name ('provider')")
          if (p.kind !== 'string') return fail('provider name must be a string literal', p)
          b.provider = p.value
        }
        b.inputs = arg.props.get('inputs')
        if (!b.inputs) return fail("missing provider inputs ('inputs')")
        if (name === 'rotate') {
          b.state = arg.props.get('state')
          if (b.state && b.state.kind !== 'object' && b.state.kind !== 'null') return fail('rotation state must be an object literal', b.state)
        }
        return b
      }
      case 'secret': {
        if (arg.kind === 'string') {
          b.plaintext = arg.value
          return b
        }
        if (arg.kind === 'object' && arg.keys.length === 1 && arg.keys[0] === 'ciphertext') {
          const c = arg.props.get('ciphertext') as Expr
          if (c.kind === 'string') {
            b.ciphertext = c.value
            return b
          }
        }
        fail('secret values must be string literals')
        b.plaintext = ''
        return b
      }
      case 'join':
      case 'split': {
        if (arg.kind !== 'list' || arg.items.length !== 2) return fail(`the argument to fn::${name} must be a two-valued list`)
        b.args = [arg.items[0], arg.items[1]]
        return b
      }
      case 'concat':
        if (arg.kind !== 'list') {
          this.error('the argument to fn::concat must be an array of arrays', arg.path, arg.range)
        }
        return b
      case 'validate': {
        if (arg.kind !== 'object') return fail("the argument to fn::validate must be an object containing 'schema' and 'value'")
        b.schema = arg.props.get('schema')
        b.value = arg.props.get('value')
        if (!b.schema) return fail("missing required property 'schema'")
        if (!b.value) return fail("missing required property 'value'")
        return b
      }
      default:
        return b
    }
  }
}

const BUILTINS: Record<string, BuiltinName> = {
  'fn::open': 'open',
  'fn::rotate': 'rotate',
  'fn::secret': 'secret',
  'fn::join': 'join',
  'fn::split': 'split',
  'fn::concat': 'concat',
  'fn::toJSON': 'toJSON',
  'fn::fromJSON': 'fromJSON',
  'fn::toBase64': 'toBase64',
  'fn::fromBase64': 'fromBase64',
  'fn::toString': 'toString',
  'fn::final': 'final',
  'fn::validate': 'validate',
}

/** A string literal or `{ciphertext: <string>}`: what `fn::secret` takes. */
function secretLiteral(e: Expr): boolean {
  if (e.kind === 'string') return true
  if (e.kind !== 'object' || e.keys.length !== 1 || e.keys[0] !== 'ciphertext') return false
  return e.props.get('ciphertext')?.kind === 'string'
}

export function builtinName(k: string): BuiltinName | undefined {
  const b = BUILTINS[k]
  if (b) return b
  if (k.startsWith('fn::open::') && k.length > 10) return 'open'
  if (k.startsWith('fn::rotate::') && k.length > 12) return 'rotate'
  return undefined
}

interface PathResult {
  path?: Accessor[]
  end: number
  error?: string
  errorAt?: number
}

/** Parses a property path starting at `i` (just after `${`) up to and including the closing `}`. */
export function parsePath(s: string, i: number): PathResult {
  const path: Accessor[] = []
  const start = i
  const close = (): PathResult => {
    // find the closing brace to resync
    const j = s.indexOf('}', i)
    return { end: j < 0 ? s.length : j + 1 }
  }
  for (;;) {
    if (i >= s.length) return { end: s.length, error: "missing closing brace '}' in interpolation", errorAt: start - 2 }
    const c = s[i]
    if (c === '}') {
      if (path.length === 0) return { end: i + 1, error: 'Property access expressions cannot be empty', errorAt: start - 2 }
      return { path, end: i + 1 }
    }
    if (c === '[') {
      const s0 = i
      i++
      if (s[i] === '"') {
        // quoted key, JSON-like escapes
        let j = i + 1
        let raw = '"'
        let closed = false
        while (j < s.length) {
          const d = s[j]
          if (d === '\\') {
            raw += d + (s[j + 1] ?? '')
            j += 2
            continue
          }
          raw += d
          j++
          if (d === '"') {
            closed = true
            break
          }
        }
        if (!closed) return { ...close(), error: "key subscript is missing closing quote '\"'", errorAt: s0 }
        let k: string
        try {
          k = JSON.parse(raw) as string
        } catch {
          k = raw.slice(1, -1)
        }
        if (s[j] !== ']') return { ...close(), error: "subscript is missing closing bracket ']'", errorAt: s0 }
        i = j + 1
        path.push({ key: k, start: s0, end: i })
        continue
      }
      let j = i
      while (j < s.length && s[j] !== ']' && s[j] !== '}') j++
      if (s[j] !== ']') return { ...close(), error: "subscript is missing closing bracket ']'", errorAt: s0 }
      const digits = s.slice(i, j)
      if (digits === '') return { end: close().end, error: 'key subscript must not be empty', errorAt: s0 }
      if (!/^-?[0-9]+$/.test(digits)) return { end: close().end, error: 'numeric subscript must be a positive base-10 integer', errorAt: s0 }
      if (path.length === 0)
        return { end: close().end, error: 'the first accessor must be a property name or key subscript, not a numeric subscript', errorAt: s0 }
      i = j + 1
      path.push({ index: Number(digits), start: s0, end: i })
      continue
    }
    // property name
    const s0 = i
    if (c === '.') {
      if (path.length === 0) return { end: close().end, error: 'property name must not be empty', errorAt: s0 }
      i++
    }
    let j = i
    while (j < s.length && s[j] !== '.' && s[j] !== '[' && s[j] !== '}' && s[j] !== ']') j++
    if (j === i) return { end: close().end, error: 'property name must not be empty', errorAt: s0 }
    path.push({ key: s.slice(i, j), start: s0, end: j })
    i = j
  }
}

const cache = new Map<string, EnvironmentDoc>()
const CACHE_MAX = 512

/**
 * Parses an environment definition. Results are cached by (name, source, limits) since the tree is
 * immutable: live preview re-evaluates the same imported documents on every keystroke. `syntax`: the
 * tree's cached form kept by the host (syntax-cache.ts), decoded instead of parsing when it is current.
 */
export function parseEnvironmentDoc(name: string, text: string, limits?: Partial<Limits>, syntax?: string): EnvironmentDoc {
  const lim = resolveLimits(limits)
  const cacheKey = limits ? undefined : `${name}\u0000${text}`
  if (cacheKey !== undefined) {
    const hit = cache.get(cacheKey)
    if (hit) return hit
  }
  // the host's cached tree (syntax-cache.ts) stands for parsing under the default limits only
  const doc = (syntax !== undefined && cacheKey !== undefined ? decodeEnvironmentDoc(name, text, syntax) : undefined) ?? parseUncached(name, text, lim)
  if (cacheKey !== undefined) {
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string)
    cache.set(cacheKey, doc)
  }
  return doc
}

function parseUncached(name: string, text: string, limits: Limits): EnvironmentDoc {
  const src = new SourceMap(name, text)
  const out: EnvironmentDoc = { name, source: src, imports: [], diagnostics: [], evalDiagnostics: [] }
  if (text.length > limits.maxDocumentBytes || (text.length * 3 > limits.maxDocumentBytes && new TextEncoder().encode(text).length > limits.maxDocumentBytes)) {
    out.diagnostics.push({ severity: 'error', summary: `document exceeds the maximum size of ${limits.maxDocumentBytes} bytes`, range: src.range(0, 0) })
    out.fatal = true
    return out
  }
  let ydoc: ReturnType<typeof parseDocument>
  try {
    ydoc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, strict: false })
  } catch (e) {
    out.diagnostics.push({ severity: 'error', summary: `parsing YAML: ${yamlErrorSummary((e as Error).message, limits)}`, range: src.range(0, 0) })
    out.fatal = true
    return out
  }
  if (ydoc.errors.length > 0) {
    for (const e of ydoc.errors) {
      const at = e.pos?.[0] ?? 0
      out.diagnostics.push({ severity: 'error', summary: yamlErrorSummary(e.message, limits), range: src.range(at, e.pos?.[1] ?? at) })
    }
    out.fatal = true
    return out
  }
  const p = new Parser(src, ydoc, limits)
  const root = p.deref(ydoc.contents as YNode | null)
  if (!root || (isScalar(root) && root.value === null)) return out
  if (!isMap(root)) {
    p.error('environment must be an object', '', p.rangeOf(root))
    out.diagnostics = p.diags
    out.evalDiagnostics = p.evalDiags
    out.fatal = true
    return out
  }
  for (const pair of (root as YAMLMap).items as Pair[]) {
    const k = p.keyString(pair.key)
    if (k === 'imports') parseImports(p, pair.value as YNode, out)
    else if (k === 'values') {
      const vn = p.deref(pair.value as YNode)
      if (!vn || (isScalar(vn) && vn.value === null)) continue
      if (!isMap(vn)) {
        p.error('values must be an object', 'values', p.rangeOf(vn))
        continue
      }
      const v = p.parseMap(vn as YAMLMap, 'values', '', 0)
      if (v.kind === 'builtin') {
        p.error(`builtin function call ${JSON.stringify(v.fn)} not allowed at the top level`, keyPath('values', v.fn), v.nameRange)
        out.values = { kind: 'object', keys: [], props: new Map(), keyRanges: new Map(), range: v.range, path: 'values', key: '' }
      } else out.values = v as ObjectExpr
    }
  }
  out.diagnostics = p.diags
  out.evalDiagnostics = p.evalDiags
  return out
}

function parseImports(p: Parser, n: YNode, out: EnvironmentDoc): void {
  const node = p.deref(n)
  if (!node || (isScalar(node) && node.value === null)) return
  if (!isSeq(node)) {
    p.error('imports must be a list', 'imports', p.rangeOf(node))
    return
  }
  const items = (node as YAMLSeq).items as YNode[]
  for (let i = 0; i < items.length; i++) {
    const path = `imports[${i}]`
    const it = p.deref(items[i])
    const range = p.rangeOf(items[i])
    if (it && isScalar(it) && typeof it.value === 'string') {
      out.imports.push({ name: it.value, merge: true, range, path })
      continue
    }
    if (it && isMap(it)) {
      const pairs = (it as YAMLMap).items as Pair[]
      if (pairs.length !== 1) {
        p.error('import must have a single key', path, range)
        continue
      }
      const name = p.keyString(pairs[0].key)
      if (name === undefined) {
        p.error('object keys must be strings', path, range)
        continue
      }
      let merge = true
      const opts = p.deref(pairs[0].value as YNode)
      if (opts && isMap(opts)) {
        for (const op of (opts as YAMLMap).items as Pair[]) {
          if (p.keyString(op.key) === 'merge') {
            const mv = p.deref(op.value as YNode)
            if (mv && isScalar(mv) && typeof mv.value === 'boolean') merge = mv.value
            else p.error('merge must be a boolean', `${path}.merge`, p.rangeOf(op.value as YNode))
          }
        }
      }
      out.imports.push({ name, merge, range: p.rangeOf(pairs[0].key as YNode), path })
      continue
    }
    p.error('import must be a string or an object', path, range)
  }
}

/** Drops the parsed-document cache (benchmarks, memory pressure). */
export function clearParseCache(): void {
  cache.clear()
}
