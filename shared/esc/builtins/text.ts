/**
 * The pure builtins, from values to values: fn::join, fn::split, fn::concat, fn::toJSON, fn::toString,
 * fn::fromJSON, fn::toBase64, fn::fromBase64. A secret argument makes a secret result; an unknown one
 * (check mode, a value not yet loaded) an unknown result of the type the builtin returns.
 */
import type { BuiltinExpr, Expr } from '../ast.ts'
import { base64ToBytes, bytesToBase64 } from '../base64.ts'
import { goJSON } from '../schema.ts'
import type { Schema, V } from '../value.ts'
import { containsSecret, containsUnknown, fromJSON, mk, numberText, plain, unknownV } from '../value.ts'
import type { BuiltinHost } from './api.ts'
import { checkedArg, errorMessage, str, STRING } from './api.ts'

const ARRAY_OF_STRINGS: Schema = { type: 'array', items: { type: 'string' } }
const ARRAY_OF_ARRAYS: Schema = { type: 'array', items: { type: 'array' } }

/** Text form of a value inside an interpolation / fn::toString. */
export function stringify(v: V): string {
  const x = v.value
  if (typeof x === 'string') return x
  if (x === null) return 'null'
  if (typeof x === 'number') return numberText(v) ?? String(x)
  if (typeof x === 'boolean') return String(x)
  return goJSON(plain(v))
}

/** fn::join: [delimiter, [strings]] -> one string. */
export function fnJoin<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const [a, b] = x.args as [Expr, Expr]
  const d = checkedArg(h, n, a, STRING)
  const items = checkedArg(h, n, b, ARRAY_OF_STRINGS)
  const secret = containsSecret(d.v) || containsSecret(items.v)
  if (!d.ok || !items.ok || containsUnknown(d.v) || containsUnknown(items.v)) return unknownV(r, STRING, secret)
  const s = (items.v.value as V[]).map((i) => i.value as string).join(d.v.value as string)
  return str(h, x, s, secret)
}

/** fn::split: [delimiter, string] -> the parts (an empty delimiter splits into characters). */
export function fnSplit<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const [a, b] = x.args as [Expr, Expr]
  const d = checkedArg(h, n, a, STRING)
  const s = checkedArg(h, n, b, STRING)
  const secret = containsSecret(d.v) || containsSecret(s.v)
  if (!d.ok || !s.ok || d.v.unknown || s.v.unknown) return unknownV(r, ARRAY_OF_STRINGS, secret)
  const delim = d.v.value as string
  const text = s.v.value as string
  const parts = delim === '' ? Array.from(text) : text.split(delim)
  return mk(
    parts.map((p) => mk(p, r, secret)),
    r,
    secret,
  )
}

/** fn::concat: [[...], [...]] -> one array. */
export function fnConcat<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const a = checkedArg(h, n, x.arg, ARRAY_OF_ARRAYS)
  const secret = containsSecret(a.v)
  if (!a.ok || a.v.unknown || !Array.isArray(a.v.value) || (a.v.value as V[]).some((i) => i.unknown)) return unknownV(r, { type: 'array' }, secret)
  const out: V[] = []
  for (const arr of a.v.value as V[]) out.push(...(arr.value as V[]))
  return mk(out, r, a.v.secret)
}

/** fn::toJSON: any value -> its JSON text (Go's encoding: sorted keys, HTML-escaped). */
export function fnToJSON<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const a = checkedArg(h, n, x.arg)
  const secret = containsSecret(a.v)
  if (containsUnknown(a.v)) return unknownV(r, STRING, secret)
  return str(h, x, goJSON(plain(a.v)), secret)
}

/** fn::toString: any value -> its text, as in an interpolation. */
export function fnToString<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const a = checkedArg(h, n, x.arg)
  const secret = containsSecret(a.v)
  if (containsUnknown(a.v)) return unknownV(r, STRING, secret)
  return str(h, x, stringify(a.v), secret)
}

/** fn::fromJSON: JSON text -> the value. */
export function fnFromJSON<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const a = checkedArg(h, n, x.arg, STRING)
  const secret = containsSecret(a.v)
  if (!a.ok || a.v.unknown) return unknownV(r, true, secret)
  try {
    return fromJSON(JSON.parse(a.v.value as string), r, secret)
  } catch (e) {
    h.error(x.arg, `decoding JSON string: ${errorMessage(e)}`)
    return unknownV(r, true, secret)
  }
}

/** fn::toBase64: string -> the base64 of its UTF-8 bytes. */
export function fnToBase64<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const a = checkedArg(h, n, x.arg, STRING)
  const secret = containsSecret(a.v)
  if (!a.ok || a.v.unknown) return unknownV(r, STRING, secret)
  return str(h, x, bytesToBase64(new TextEncoder().encode(a.v.value as string)), secret)
}

/** fn::fromBase64: base64 -> the string of those (UTF-8) bytes. */
export function fnFromBase64<N>(h: BuiltinHost<N>, n: N, x: BuiltinExpr): V {
  const r = x.range
  const a = checkedArg(h, n, x.arg, STRING)
  const secret = containsSecret(a.v)
  if (!a.ok || a.v.unknown) return unknownV(r, STRING, secret)
  try {
    return mk(new TextDecoder().decode(base64ToBytes(a.v.value as string)), r, secret)
  } catch (e) {
    h.error(x.arg, `decoding base64 string: ${errorMessage(e)}`)
    return unknownV(r, STRING, secret)
  }
}
