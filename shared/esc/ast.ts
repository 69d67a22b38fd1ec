/**
 * The environment syntax tree: what the parser (syntax.ts) produces and every later stage reads (the
 * evaluator, the schema validator, the tree cache, the editor). Types only, in a module of their own so
 * that the stages depend on the tree and not on each other (syntax.ts and syntax-cache.ts used to import
 * each other, schema.ts imported the parser for its `Expr`).
 */
import type { Diagnostic, Range } from './host.ts'
import type { SourceMap } from './source.ts'

/** One step of a property path: `.name` / `["name"]` (key) or `[0]` (index). start/end are offsets in the string. */
export interface Accessor {
  key?: string
  index?: number
  start: number
  end: number
}

export interface InterpPart {
  text: string
  /** the `${...}` following `text`, if any */
  path?: Accessor[]
  /** offsets of `${` and after `}` */
  start?: number
  end?: number
}

interface Base {
  range: Range
  /** diagnostic path, e.g. `values.a["fn::open"]` */
  path: string
  /** path without the `values` prefix, e.g. `a.p` (used in cycle messages) */
  key: string
  /** evaluator cache (e.g. the immutable value of a literal, shared by every evaluation) */
  cached?: unknown
}

export interface NullExpr extends Base {
  kind: 'null'
}
export interface BoolExpr extends Base {
  kind: 'boolean'
  value: boolean
}
export interface NumberExpr extends Base {
  kind: 'number'
  value: number
  /** the literal's source text when it differs from the number's shortest form (e.g. `1.0`, `1e3`) */
  text?: string
}
export interface StringExpr extends Base {
  kind: 'string'
  value: string
}
export interface InterpExpr extends Base {
  kind: 'interp'
  value: string
  parts: InterpPart[]
  invalid?: boolean
}
export interface ListExpr extends Base {
  kind: 'list'
  items: Expr[]
}
export interface ObjectExpr extends Base {
  kind: 'object'
  keys: string[]
  props: Map<string, Expr>
  keyRanges: Map<string, Range>
}

export type BuiltinName =
  'open' | 'rotate' | 'secret' | 'join' | 'split' | 'concat' | 'toJSON' | 'fromJSON' | 'toBase64' | 'fromBase64' | 'toString' | 'final' | 'validate'

export interface BuiltinExpr extends Base {
  kind: 'builtin'
  /** the full key, e.g. `fn::open::test` */
  fn: string
  name: BuiltinName
  nameRange: Range
  arg: Expr
  /** the builtin is malformed (a load diagnostic was reported): it evaluates to unknown */
  invalid?: boolean
  provider?: string
  inputs?: Expr
  state?: Expr
  /** fn::secret */
  plaintext?: string
  ciphertext?: string
  /** fn::join / fn::split: the two arguments */
  args?: [Expr, Expr]
  /** fn::validate */
  schema?: Expr
  value?: Expr
}

export type Expr = NullExpr | BoolExpr | NumberExpr | StringExpr | InterpExpr | ListExpr | ObjectExpr | BuiltinExpr

export interface ImportDecl {
  name: string
  merge: boolean
  range: Range
  path: string
}

export interface EnvironmentDoc {
  name: string
  source: SourceMap
  imports: ImportDecl[]
  values?: ObjectExpr
  /** load diagnostics (evaluation goes on, best effort) */
  diagnostics: Diagnostic[]
  /** diagnostics the reference reports at evaluation time (e.g. duplicate keys) */
  evalDiagnostics: Diagnostic[]
  /** the document could not be loaded at all (YAML syntax, size, not a mapping): nothing to evaluate */
  fatal?: boolean
}
