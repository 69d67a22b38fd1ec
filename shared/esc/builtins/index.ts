/**
 * The `fn::` builtins, one function each, behind the small interface of api.ts: the evaluator hands a call
 * (its node and syntax) to `evalBuiltin` and gets its value. Grouped by what they touch: text.ts (values
 * only), secret.ts (the cipher), providers.ts (providers and rotators); fn::final and fn::validate are here.
 */
import type { BuiltinExpr, BuiltinName, Expr } from '../ast.ts'
import type { Schema, V } from '../value.ts'
import { containsUnknown, copyV, markFinal, plain, unknownV } from '../value.ts'
import type { BuiltinHost } from './api.ts'
import { fnOpen, fnRotate } from './providers.ts'
import { fnSecret } from './secret.ts'
import { fnConcat, fnFromBase64, fnFromJSON, fnJoin, fnSplit, fnToBase64, fnToJSON, fnToString } from './text.ts'

type Builtin = <N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr) => V

/** fn::final: the value, marked so that an environment importing it cannot override it. */
function fnFinal<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const v = h.arg(n, x.arg)
  return markFinal(copyV(v, { trace: { def: x.range } }))
}

/** fn::validate: {schema, value} -> the value when it is valid against the schema, else unknown. */
function fnValidate<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const s = h.arg(n, x.schema as Expr)
  const v = h.arg(n, x.value as Expr)
  if (containsUnknown(s)) return unknownV(r, true, v.secret)
  const schema = plain(s) as Schema
  if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
    h.error(x.schema as Expr, `invalid schema: expected an object or a boolean`)
    return unknownV(r, true, v.secret)
  }
  if (!h.check(v, schema, x.value as Expr)) return unknownV(r, schema, v.secret)
  return v
}

const BUILTINS: { [K in BuiltinName]: Builtin } = {
  final: fnFinal,
  secret: fnSecret,
  join: fnJoin,
  split: fnSplit,
  concat: fnConcat,
  toJSON: fnToJSON,
  toString: fnToString,
  fromJSON: fnFromJSON,
  toBase64: fnToBase64,
  fromBase64: fnFromBase64,
  validate: fnValidate,
  open: fnOpen,
  rotate: fnRotate,
}

/** The value of the builtin call `x` at node `n`. A malformed call (reported when parsed) is unknown. */
export function evalBuiltin<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  if (x.invalid && x.name !== 'secret') return unknownV(x.range)
  return BUILTINS[x.name](h, n, x)
}
