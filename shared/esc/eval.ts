/**
 * The evaluator. Evaluation itself is synchronous and runs in "rounds": whenever a round needs something
 * asynchronous (an imported document, a provider call, a decryption) it starts it, finishes the round with
 * that value unknown, and once every started operation has settled a new round runs with the results
 * cached. Independent provider calls are thus started in the same round and run concurrently; only the
 * last (complete) round's values and diagnostics are returned.
 * Here: imports, references, merging and the rounds. The `fn::` builtins are in builtins/ and see the
 * evaluator only through BuiltinHost (builtins/api.ts), which a Round implements.
 */
import { setOwn } from './own.ts'
import type { Diagnostic, EvalMode, EvalValue, EvalResult, EvaluateOptions, Limits, Range, RotationPatch } from './host.ts'
import type { BuiltinHost, CallEnv, Settled } from './builtins/api.ts'
import { errorMessage, STRING, tooLong } from './builtins/api.ts'
import { evalBuiltin } from './builtins/index.ts'
import { stringify } from './builtins/text.ts'
import { schemaType, subSchema, typeOf, Validator } from './schema.ts'
import { advance, zeroRange } from './source.ts'
import type { Accessor, EnvironmentDoc, Expr, InterpExpr } from './ast.ts'
import { keyPath, parseEnvironmentDoc, resolveLimits } from './syntax.ts'
import type { Schema, V } from './value.ts'
import {
  containsSecret,
  containsUnknown,
  copyV,
  fromJSON,
  isFinal,
  MAX_PLAIN_NODES,
  merge,
  mergeAll,
  mk,
  schemaOf,
  setNumberText,
  sizeOf,
  unknownV,
  ValueTooLarge,
} from './value.ts'

interface LoadedEnv {
  doc?: EnvironmentDoc
  error?: string
}

/** nested evaluations (references of references...) before giving up: keeps well below the JS stack limit */
const MAX_EVAL_DEPTH = 500

export class Evaluation {
  readonly opts: EvaluateOptions
  readonly mode: EvalMode
  readonly limits: Limits
  readonly loaded = new Map<string, LoadedEnv>()
  readonly loading = new Map<string, Promise<void>>()
  readonly results = new Map<string, Settled<unknown>>()
  readonly running = new Map<string, Promise<void>>()
  readonly rootDoc: EnvironmentDoc

  constructor(opts: EvaluateOptions) {
    this.opts = opts
    this.mode = opts.mode
    this.limits = resolveLimits(opts.limits)
    this.rootDoc = parseEnvironmentDoc(opts.name, opts.source, opts.limits, opts.syntax)
  }

  async run(): Promise<EvalResult> {
    await this.preload(this.rootDoc)
    for (let round = 0; ; round++) {
      if (this.opts.signal?.aborted) {
        return { diagnostics: [{ severity: 'error', summary: 'evaluation aborted' }], imports: [] }
      }
      const r = new Round(this)
      const res = r.run()
      if (r.work.length === 0 || round > 10_000) return res
      await Promise.all(r.work)
    }
  }

  /** Loads the import graph ahead of evaluation, concurrently, within the limits. */
  async preload(doc: EnvironmentDoc): Promise<void> {
    const seen = new Set<string>([doc.name])
    let frontier = [doc]
    let depth = 0
    while (frontier.length && depth < this.limits.maxImportDepth) {
      const names: string[] = []
      for (const d of frontier) {
        for (const imp of d.imports) {
          if (seen.has(imp.name) || seen.size > this.limits.maxImports) continue
          seen.add(imp.name)
          names.push(imp.name)
        }
      }
      await Promise.all(names.map((n) => this.load(n)))
      frontier = names.map((n) => this.loaded.get(n)?.doc).filter((d): d is EnvironmentDoc => !!d)
      depth++
    }
  }

  load(name: string): Promise<void> {
    const existing = this.loading.get(name)
    if (existing) return existing
    const p = (async () => {
      const loader = this.opts.loader
      if (!loader) {
        this.loaded.set(name, { error: notFound(name) })
        return
      }
      try {
        const got = await loader.load(name)
        if (!got) this.loaded.set(name, { error: notFound(name) })
        else this.loaded.set(name, { doc: parseEnvironmentDoc(got.name ?? name, got.source, this.opts.limits, got.syntax) })
      } catch (e) {
        this.loaded.set(name, { error: errorMessage(e) })
      }
    })()
    this.loading.set(name, p)
    return p
  }
}

function notFound(name: string): string {
  return `environment ${JSON.stringify(name)} not found`
}

/** A node of the evaluation graph: one syntax node of one environment, with the imported value beneath it. */
interface ENode {
  x: Expr
  env: EnvEval
  base?: V
  state: 0 | 1 | 2
  value?: V
  props?: Map<string, ENode>
  items?: ENode[]
}

class EnvEval {
  readonly name: string
  readonly doc: EnvironmentDoc
  readonly round: Round
  readonly isRoot: boolean
  base?: V
  root?: ENode
  context!: V
  importsValue!: V
  result?: V

  constructor(round: Round, doc: EnvironmentDoc, isRoot: boolean) {
    this.round = round
    this.doc = doc
    this.name = doc.name
    this.isRoot = isRoot
  }
}

function node(x: Expr, env: EnvEval, base: V | undefined): ENode {
  return { x, env, base, state: 0 }
}

function isENode(c: ENode | V): c is ENode {
  return 'x' in c && 'env' in c
}

function baseChild(base: V | undefined, key: string): V | undefined {
  if (!base || base.unknown) return undefined
  const b = base.value
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return undefined
  return (b as Record<string, V>)[key]
}

function child(n: ENode, key: string): ENode | undefined {
  if (n.x.kind !== 'object') return undefined
  const x = n.x.props.get(key)
  if (!x) return undefined
  if (!n.props) n.props = new Map()
  let c = n.props.get(key)
  if (!c) {
    c = node(x, n.env, baseChild(n.base, key))
    n.props.set(key, c)
  }
  return c
}

function item(n: ENode, i: number): ENode | undefined {
  if (n.x.kind !== 'list' || i < 0 || i >= n.x.items.length) return undefined
  if (!n.items) n.items = new Array(n.x.items.length)
  let c = n.items[i]
  if (!c) {
    c = node(n.x.items[i], n.env, undefined)
    n.items[i] = c
  }
  return c
}

/** Creates a child node for an argument of a builtin (not part of the merged value tree). */
function argNode(n: ENode, x: Expr): ENode {
  if (!n.props) n.props = new Map()
  const k = `\u0000arg:${x.path}`
  let c = n.props.get(k)
  if (!c) {
    c = node(x, n.env, undefined)
    n.props.set(k, c)
  }
  return c
}

/** The reference's message for a missing property, with a suggestion among `candidates` when one is close. */
function unknownProperty(key: string, candidates: Iterable<string>): string {
  return `unknown property ${JSON.stringify(key)}${didYouMean(key, candidates)}`
}

function didYouMean(key: string, candidates: Iterable<string>): string {
  const sorted = [...candidates].sort()
  for (const c of sorted) {
    if (levenshtein(key, c) < 3) return `; did you mean ${JSON.stringify(c)}?`
  }
  return ''
}

function levenshtein(a: string, b: string): number {
  if (a === b) return 0
  if (Math.abs(a.length - b.length) >= 3) return 3
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]
}

function objectKeys(v: V | undefined): string[] {
  if (!v || v.unknown) return []
  const x = v.value
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return []
  return Object.keys(x)
}

/** One synchronous pass of evaluation; it is also what the builtins see of the evaluator (BuiltinHost). */
class Round implements BuiltinHost<ENode> {
  readonly ev: Evaluation
  readonly mode: EvalMode
  readonly limits: Limits
  readonly opts: EvaluateOptions
  readonly work: Promise<void>[] = []
  readonly diags: Diagnostic[] = []
  readonly envs = new Map<string, EnvEval>()
  readonly stack: string[] = []
  readonly importOrder: string[] = []
  readonly patches: RotationPatch[] = []
  rootName = ''
  depth = 0
  depthReported = false
  validatorCache = new Map<unknown, Validator>()

  constructor(ev: Evaluation) {
    this.ev = ev
    this.mode = ev.mode
    this.limits = ev.limits
    this.opts = ev.opts
  }

  error(x: { range: Range; path: string }, summary: string, range?: Range): void {
    this.diags.push({ severity: 'error', summary, path: x.path, range: range ?? x.range })
  }

  reportAt = (loc: Expr, summary: string): void => {
    this.error(loc, summary)
  }

  validator(schema: Schema): Validator {
    let v = this.validatorCache.get(schema)
    if (!v) {
      v = new Validator(schema, this.reportAt)
      this.validatorCache.set(schema, v)
    }
    return v
  }

  /** Starts (once per evaluation) an asynchronous operation; its result is available in a later round. */
  async<T>(key: string, f: () => Promise<T>): Settled<T> | undefined {
    const got = this.ev.results.get(key)
    if (got) return got as Settled<T>
    let p = this.ev.running.get(key)
    if (!p) {
      const ms = this.ev.limits.operationTimeoutMs ?? 120_000
      p = (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined
        try {
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s`)), ms)
          })
          const value = await Promise.race([f(), timeout])
          this.ev.results.set(key, { ok: true, value })
        } catch (e) {
          this.ev.results.set(key, { ok: false, error: errorMessage(e) })
        } finally {
          if (timer !== undefined) clearTimeout(timer)
        }
      })()
      this.ev.running.set(key, p)
    }
    this.work.push(p)
    return undefined
  }

  settleNow<T>(key: string, f: () => T | undefined): void {
    if (this.ev.results.has(key)) return
    try {
      const value = f()
      if (value !== undefined) this.ev.results.set(key, { ok: true, value })
    } catch (e) {
      this.ev.results.set(key, { ok: false, error: errorMessage(e) })
    }
  }

  arg(n: ENode, x: Expr): V {
    return this.evaluate(argNode(n, x))
  }

  envOf(n: ENode): CallEnv {
    return n.env
  }

  patch(p: RotationPatch): void {
    this.patches.push(p)
  }

  run(): EvalResult {
    const root = this.ev.rootDoc
    this.rootName = root.name
    const env = this.evalEnv(root, true)
    const diagnostics = [...root.diagnostics, ...this.diags]
    const rv = env.result?.value
    // the root object is created by this evaluation: handed out as it is
    const value: { [k: string]: EvalValue } = rv && typeof rv === 'object' && !Array.isArray(rv) ? (rv as Record<string, V>) : {}
    // host.ts: value is undefined when the document could not be loaded at all
    const out: EvalResult = { value: root.fatal ? undefined : value, diagnostics, imports: this.importOrder }
    if (this.ev.mode === 'rotate') out.patches = this.patches
    return out
  }

  contextFor(env: string, root: string): V {
    const ctx: Record<string, unknown> = { ...(this.ev.opts.context ?? {}) }
    ctx.rootEnvironment = { name: root }
    ctx.currentEnvironment = { name: env }
    return fromJSON(ctx, zeroRange(env))
  }

  evalEnv(doc: EnvironmentDoc, isRoot: boolean): EnvEval {
    const env = new EnvEval(this, doc, isRoot)
    this.envs.set(doc.name, env)
    this.stack.push(doc.name)
    if (doc.evalDiagnostics.length) this.diags.push(...doc.evalDiagnostics)
    const rootName = isRoot || this.rootName === '<yaml>' ? doc.name : this.rootName
    env.context = this.contextFor(doc.name, rootName)
    // imports
    const importsObj: Record<string, V> = {}
    const merged: V[] = []
    for (const imp of doc.imports) {
      const iv = this.importEnv(imp.name, imp)
      if (!iv) continue
      importsObj[imp.name] = iv
      if (imp.merge) merged.push(iv)
    }
    const base = mergeAll(merged, zeroRange(doc.name))
    env.importsValue = mk(importsObj, zeroRange(doc.name))
    env.base = base
    const values = doc.values
    if (values) {
      env.root = node(values, env, base)
      env.result = this.evaluate(env.root)
    } else {
      env.result = base ? { ...base } : mk({}, zeroRange(doc.name))
    }
    this.stack.pop()
    return env
  }

  importEnv(name: string, decl: { range: Range; path: string }): V | undefined {
    if (this.stack.includes(name)) {
      this.error(decl, `cyclic import of ${name}`)
      return undefined
    }
    const done = this.envs.get(name)
    if (done) return done.result
    if (this.stack.length > this.ev.limits.maxImportDepth) {
      this.error(decl, `import depth exceeds the maximum of ${this.ev.limits.maxImportDepth}`)
      return undefined
    }
    if (this.envs.size > this.ev.limits.maxImports) {
      this.error(decl, `too many imported environments (maximum ${this.ev.limits.maxImports})`)
      return undefined
    }
    const doc = this.loadedDoc(name, decl)
    if (!doc) return undefined
    // any imports of the imported document that were not preloaded are loaded in a later round
    const env = this.evalImported(doc)
    this.importOrder.push(name)
    return env.result
  }

  /**
   * The parsed document of environment `name` (an import or an `${environments...}` reference): undefined
   * while it is loading (for a later round) or when it could not be loaded (reported at `loc`).
   */
  loadedDoc(name: string, loc: { range: Range; path: string }): EnvironmentDoc | undefined {
    const loaded = this.ev.loaded.get(name)
    if (!loaded) {
      this.async(`load:${name}`, () => this.ev.load(name))
      return undefined
    }
    if (loaded.error !== undefined || !loaded.doc) {
      this.error(loc, loaded.error ?? notFound(name))
      return undefined
    }
    return loaded.doc
  }

  /** Evaluates an environment other than the root; its load diagnostics are reported with this one's. */
  evalImported(doc: EnvironmentDoc): EnvEval {
    if (doc.diagnostics.length) this.diags.push(...doc.diagnostics)
    return this.evalEnv(doc, false)
  }

  evaluate(n: ENode): V {
    if (n.state === 2) return n.value as V
    if (n.state === 1) {
      this.error(n.x, `cyclic reference to ${n.x.key}`)
      return unknownV(n.x.range)
    }
    if (n.base && isFinal(n.base)) {
      this.error(n.x, 'cannot override final value')
      n.state = 2
      n.value = n.base
      return n.base
    }
    if (this.depth >= MAX_EVAL_DEPTH) {
      if (!this.depthReported) {
        this.depthReported = true
        this.error(n.x, `reference chain exceeds the maximum depth of ${MAX_EVAL_DEPTH}`)
      }
      return unknownV(n.x.range)
    }
    n.state = 1
    this.depth++
    let v: V
    try {
      v = this.evalExpr(n)
    } catch (e) {
      // a chain of references deeper than the JS stack: report it instead of failing the evaluation
      n.state = 2
      n.value = unknownV(n.x.range)
      this.depth--
      if (e instanceof ValueTooLarge) {
        this.error(n.x, e.message)
        return n.value
      }
      if (!(e instanceof RangeError)) throw e
      if (!this.depthReported) {
        this.depthReported = true
        this.error(n.x, `reference chain exceeds the maximum depth of ${MAX_EVAL_DEPTH}`)
      }
      return n.value
    }
    this.depth--
    if (n.x.kind !== 'object' && n.base) {
      v = merge(n.base, v)
      if (!v.trace.base) v = copyV(v, { trace: { def: v.trace.def, base: n.base } })
    }
    if ((n.x.kind === 'list' || (n.x.kind === 'object' && n.x.path !== 'values') || n.x.kind === 'interp') && sizeOf(v) > MAX_PLAIN_NODES) {
      // e.g. references that double a value at each step: bounded here so every consumer is safe
      this.error(n.x, new ValueTooLarge(MAX_PLAIN_NODES).message)
      v = unknownV(n.x.range)
    }
    n.state = 2
    n.value = v
    return v
  }

  evalExpr(n: ENode): V {
    const x = n.x
    switch (x.kind) {
      case 'null':
        return (x.cached as V | undefined) ?? ((x.cached = mk(null, x.range)) as V)
      case 'number':
        return (x.cached as V | undefined) ?? ((x.cached = setNumberText(mk(x.value, x.range), x.text)) as V)
      case 'boolean':
      case 'string':
        // literal values are immutable: one per syntax node, shared by every evaluation
        return (x.cached as V | undefined) ?? ((x.cached = mk(x.value, x.range)) as V)
      case 'interp':
        return this.evalInterp(n, x)
      case 'list': {
        const out: V[] = []
        for (let i = 0; i < x.items.length; i++) out.push(this.evaluate(item(n, i) as ENode))
        return mk(out, x.range)
      }
      case 'object': {
        const b =
          n.base && !n.base.unknown && n.base.value !== null && typeof n.base.value === 'object' && !Array.isArray(n.base.value)
            ? (n.base.value as Record<string, V>)
            : undefined
        // inherited values are shared as they are: their trace.def already points into the imported
        // environment (the reference wraps them with trace.base = themselves; skipped: it costs an
        // allocation per inherited value per import level)
        const o: Record<string, V> = b ? { ...b } : {}
        const top = x.path === 'values'
        for (const k of x.keys) {
          if (top && (k === 'imports' || k === 'context')) {
            this.error({ path: keyPath('values', k), range: x.keyRanges.get(k) as Range }, `${JSON.stringify(k)} is a reserved key`)
            continue
          }
          setOwn(o, k, this.evaluate(child(n, k) as ENode))
        }
        const v = mk(o, x.range)
        if (n.base) v.trace.base = n.base
        return v
      }
      case 'builtin':
        return evalBuiltin(this, n, x)
    }
  }

  evalInterp(n: ENode, x: InterpExpr): V {
    if (x.invalid) return unknownV(x.range, STRING)
    const parts = x.parts
    if (parts.length === 2 && parts[0].text === '' && parts[1].text === '' && parts[0].path) {
      const v = this.resolve(n, x, parts[0])
      return copyV(v, { trace: { def: x.range } })
    }
    let s = ''
    let secret = false
    let unknown = false
    for (const p of parts) {
      s += p.text
      if (!p.path) continue
      const v = this.resolve(n, x, p)
      if (containsSecret(v)) secret = true
      if (containsUnknown(v)) {
        unknown = true
        continue
      }
      if (!unknown) s += stringify(v)
      if (s.length > this.limits.maxStringBytes) return tooLong(this, x, secret)
    }
    if (unknown) return unknownV(x.range, STRING, secret)
    return mk(s, x.range, secret)
  }

  /** Resolves one `${...}` of an interpolation. */
  resolve(n: ENode, x: InterpExpr, part: { path?: Accessor[]; start?: number; end?: number }): V {
    const path = part.path as Accessor[]
    const env = n.env
    const rangeOf = (from: number, to: number): Range => ({
      environment: x.range.environment,
      begin: advance(x.range.begin, x.value, 0, from),
      end: advance(x.range.begin, x.value, 0, to),
    })
    const first = path[0]
    const rootKey = first.key as string
    let cur: ENode | V | undefined
    let i = 1
    if (rootKey === 'context') cur = env.context
    else if (rootKey === 'imports') cur = env.importsValue
    else if (rootKey === 'environments') {
      if (path.length < 3) return unknownV(x.range)
      const envName = `${path[1].key ?? path[1].index}/${path[2].key ?? path[2].index}`
      const doc = this.loadedDoc(envName, x)
      if (!doc) return unknownV(x.range)
      const done = this.envs.get(envName)
      let result: V | undefined
      if (done) result = done.result
      else if (this.stack.includes(envName)) {
        this.error(x, `cyclic import of ${envName}`)
        return unknownV(x.range)
      } else result = this.evalImported(doc).result
      cur = result
      i = 3
    } else {
      const root = env.root
      const c = root ? child(root, rootKey) : undefined
      if (c) cur = c
      else {
        const bv = baseChild(env.base, rootKey)
        if (bv) cur = bv
        else {
          const cands = new Set<string>([...(env.doc.values?.keys ?? []), ...objectKeys(env.base)])
          this.error(x, unknownProperty(rootKey, cands), rangeOf(part.start as number, part.end as number))
          return unknownV(x.range)
        }
      }
    }
    for (; i < path.length; i++) {
      const acc = path[i]
      const accRange = () => rangeOf(acc.start, acc.end)
      if (cur && isENode(cur)) {
        const en = cur as ENode
        if (!isFinal(en.base) || en.state === 2) {
          if (en.x.kind === 'object' && acc.key !== undefined && !isFinal(en.base)) {
            const c = child(en, acc.key)
            if (c) {
              cur = c
              continue
            }
            const bv = baseChild(en.base, acc.key)
            if (bv) {
              cur = bv
              continue
            }
            const cands = new Set<string>([...en.x.keys, ...objectKeys(en.base)])
            this.error(x, unknownProperty(acc.key, cands), accRange())
            return unknownV(x.range)
          }
          if (en.x.kind === 'list' && acc.index !== undefined && !en.base) {
            const c = item(en, acc.index)
            if (c) {
              cur = c
              continue
            }
          }
        }
        cur = this.evaluate(en)
      }
      const v = cur as V
      const next = this.access(x, v, acc, accRange)
      if (!next) return unknownV(x.range)
      cur = next
    }
    if (cur && isENode(cur)) cur = this.evaluate(cur)
    return cur as V
  }

  access(x: InterpExpr, v: V, acc: { key?: string; index?: number }, range: () => Range): V | undefined {
    const vs = v.unknown ? schemaOf(v) : undefined
    // what the receiver is: known from its value or, for an unknown value, from its schema when it has one
    const t = !v.unknown ? typeOf(v.value) : vs === undefined || typeof vs === 'boolean' ? undefined : schemaType(this.validator(vs), vs)
    const wrong =
      t === undefined
        ? undefined
        : t !== 'object' && t !== 'array'
          ? 'receiver must be an array or an object'
          : t === 'array' && acc.key !== undefined
            ? 'cannot access an array element using a property name'
            : t === 'object' && acc.index !== undefined
              ? 'cannot access an object property using an integer index'
              : undefined
    if (wrong !== undefined) {
      this.error(x, wrong, range())
      return undefined
    }
    if (v.unknown) {
      const sub = vs === undefined ? true : subSchema(this.validator(vs), vs, acc.key ?? (acc.index as number))
      return unknownV(x.range, sub, v.secret)
    }
    const val = v.value
    if (Array.isArray(val)) {
      const i = acc.index as number
      if (i < 0) {
        this.error(x, 'array indices must not be negative', range())
        return undefined
      }
      if (i >= val.length) {
        this.error(x, `array index ${i} out-of-bounds for array of length ${val.length}`, range())
        return undefined
      }
      return secretIf(val[i], v.secret)
    }
    const k = acc.key as string
    const o = val as Record<string, V>
    if (!Object.prototype.hasOwnProperty.call(o, k)) {
      this.error(x, unknownProperty(k, Object.keys(o)), range())
      return undefined
    }
    return secretIf(o[k], v.secret)
  }

  /** Validates `v` (evaluated from `loc`) against `schema`, reporting at the matching sub-expressions. */
  check(v: V, schema: Schema | undefined, loc: Expr): boolean {
    if (schema === undefined || schema === true) return true
    const val = new Validator(schema, this.reportAt)
    return val.value(v, schema, loc)
  }
}

function secretIf(v: V, secret: boolean | undefined): V {
  if (!secret || v.secret) return v
  return copyV(v, { secret: true })
}

export async function evaluate(opts: EvaluateOptions): Promise<EvalResult> {
  try {
    return await new Evaluation(opts).run()
  } catch (e) {
    // evaluation must never throw: an internal failure is reported as a diagnostic
    return { diagnostics: [{ severity: 'error', summary: `internal error: ${errorMessage(e)}` }], imports: [] }
  }
}
