/**
 * What a builtin (`fn::…`) needs from the evaluator, and nothing more: evaluate an argument, validate a
 * value against a schema, report a diagnostic, start an asynchronous operation (a provider call, a
 * decryption) whose result a later round sees. The evaluator (eval.ts) implements it; the builtins never
 * see its graph of nodes, only an opaque node `N` to hand back (the call being evaluated).
 */
import type { Expr } from '../ast.ts'
import type { EvalMode, EvaluateOptions, Limits, Range, RotationPatch } from '../host.ts'
import type { Schema, V } from '../value.ts'
import { mk, unknownV } from '../value.ts'

/** The outcome of an asynchronous operation, kept for the next rounds. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: string }

/** The environment a call is evaluated in. */
export interface CallEnv {
  readonly name: string
  /** the environment evaluated (not one of its imports): only its fn::rotate calls rotate */
  readonly isRoot: boolean
}

export interface BuiltinHost<N> {
  readonly mode: EvalMode
  readonly limits: Limits
  /** the host's providers, cipher, abort signal and rotation paths */
  readonly opts: EvaluateOptions
  /** Evaluates `x`, an argument expression of the call at `n` (not part of the merged value tree). */
  arg(n: N, x: Expr): V
  envOf(n: N): CallEnv
  /** Validates `v` (evaluated from `loc`) against `schema`, reporting at the matching sub-expressions. */
  check(v: V, schema: Schema | undefined, loc: Expr): boolean
  error(loc: { range: Range; path: string }, summary: string): void
  /** Starts (once per evaluation) an asynchronous operation; undefined until a later round has its result. */
  async<T>(key: string, f: () => Promise<T>): Settled<T> | undefined
  /** Settles the operation `key` at once when `f` can (returns a value): no asynchronous round needed. */
  settleNow<T>(key: string, f: () => T | undefined): void
  /** Records a rotated state to write back (rotate mode). */
  patch(p: RotationPatch): void
}

export const STRING: Schema = { type: 'string' }

/** The text of a thrown error, for a diagnostic (its message only, never a stack). */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message
  return String(e)
}

/** Reports a string past `maxStringBytes` at `x`: the result is an unknown string. */
export function tooLong<N>(h: BuiltinHost<N>, x: Expr, secret: boolean): V {
  h.error(x, `string exceeds the maximum length of ${h.limits.maxStringBytes} bytes`)
  return unknownV(x.range, STRING, secret)
}

/** A string made by a builtin at `x`, within the limits. */
export function str<N>(h: BuiltinHost<N>, x: Expr, s: string, secret: boolean): V {
  if (s.length > h.limits.maxStringBytes) return tooLong(h, x, secret)
  return mk(s, x.range, secret)
}

/** Evaluates an argument and validates it against `schema` (when given). */
export function checkedArg<N>(h: BuiltinHost<N>, n: N, x: Expr, schema?: Schema): { v: V; ok: boolean } {
  const v = h.arg(n, x)
  const ok = h.check(v, schema, x)
  return { v, ok }
}
