/**
 * Internal values: the public EvalValue plus what evaluation needs (a schema for unknowns, the final flag).
 */
import { setOwn } from './own.ts'
import type { EvalValue, JsonValue, Range } from './host.ts'

export interface V extends EvalValue {
  value: null | boolean | number | string | V[] | { [key: string]: V }
}

/**
 * A JSON schema (the subset schema.ts validates): what is known of an unknown value. Declared here, beside
 * the values that carry it, so that the validator depends on the values and not the other way round.
 */
export type Schema = boolean | { [key: string]: JsonValue }

/**
 * What evaluation knows beyond the public tree is kept beside it, so the internal values are the public
 * output as they are (no conversion pass): the schema of unknown values (check mode) and fn::final marks.
 */
const schemas = new WeakMap<V, Schema>()
const finals = new WeakSet<V>()

export function schemaOf(v: V): Schema | undefined {
  return v.unknown ? schemas.get(v) : undefined
}

export function setSchema(v: V, s: Schema | undefined): V {
  if (s !== undefined && s !== true) schemas.set(v, s)
  return v
}

export function isFinal(v: V | undefined): boolean {
  return v !== undefined && finals.has(v)
}

export function markFinal(v: V): V {
  finals.add(v)
  return v
}

/** Source text of literal numbers whose text differs from their shortest form (e.g. `1.0`). */
const numberTexts = new WeakMap<V, string>()

export function setNumberText(v: V, text: string | undefined): V {
  if (text !== undefined) numberTexts.set(v, text)
  return v
}

export function numberText(v: V): string | undefined {
  return typeof v.value === 'number' ? numberTexts.get(v) : undefined
}

/** A shallow copy (same children), keeping the schema of an unknown value. */
export function copyV(v: V, patch: Partial<V>): V {
  const c: V = { ...v, ...patch }
  const s = schemas.get(v)
  if (s !== undefined) schemas.set(c, s)
  const t = numberTexts.get(v)
  if (t !== undefined) numberTexts.set(c, t)
  return c
}

export function mk(value: V['value'], def: Range | undefined, secret?: boolean): V {
  const v: V = { value, trace: def ? { def } : {} }
  if (secret) v.secret = true
  return v
}

export function unknownV(def: Range | undefined, schema?: Schema, secret?: boolean): V {
  const v: V = { value: null, unknown: true, trace: def ? { def } : {} }
  if (schema !== undefined && schema !== true) schemas.set(v, schema)
  if (secret) v.secret = true
  return v
}

/**
 * Is the value, or anything inside it, secret / unknown? Memoized: values are shared (references,
 * aliases), so a tree can have exponentially many paths over few distinct values.
 */
const flagMemo = new WeakMap<V, number>()
const SECRET = 1
const UNKNOWN = 2

function flags(v: V): number {
  const x = v.value
  let f = (v.secret ? SECRET : 0) | (v.unknown ? UNKNOWN : 0)
  if (x === null || typeof x !== 'object') return f
  const memo = flagMemo.get(v)
  if (memo !== undefined) return memo
  if (f !== (SECRET | UNKNOWN)) {
    if (Array.isArray(x)) {
      for (const i of x) f |= flags(i)
    } else if (x !== null && typeof x === 'object') {
      for (const k in x) f |= flags((x as Record<string, V>)[k])
    }
  }
  flagMemo.set(v, f)
  return f
}

export function containsSecret(v: V): boolean {
  return (flags(v) & SECRET) !== 0
}

export function containsUnknown(v: V): boolean {
  return (flags(v) & UNKNOWN) !== 0
}

/** Thrown when a value expands past the size budget (e.g. toJSON of a reference bomb). */
export class ValueTooLarge extends Error {
  readonly limit: number
  constructor(limit: number) {
    super(`value exceeds the maximum size of ${limit} elements`)
    this.limit = limit
  }
}

const sizeMemo = new WeakMap<V, number>()

/** Number of elements the value expands to (memoized; saturates just past MAX_PLAIN_NODES). */
export function sizeOf(v: V): number {
  const x = v.value
  if (x === null || typeof x !== 'object') return 1
  let n = sizeMemo.get(v)
  if (n !== undefined) return n
  n = 1
  if (Array.isArray(x)) {
    for (const i of x) if ((n += sizeOf(i)) > MAX_PLAIN_NODES) break
  } else if (x !== null && typeof x === 'object') {
    for (const k in x) if ((n += sizeOf((x as Record<string, V>)[k])) > MAX_PLAIN_NODES) break
  }
  if (n > MAX_PLAIN_NODES) n = MAX_PLAIN_NODES + 1
  sizeMemo.set(v, n)
  return n
}

/** Upper bound on the number of elements a value may expand to when made plain (JSON, provider inputs). */
export const MAX_PLAIN_NODES = 1_000_000

/** Converts a plain JSON value (e.g. provider output) into a value tree with the given definition range. */
export function fromJSON(j: unknown, def: Range | undefined, secret?: boolean): V {
  if (Array.isArray(j))
    return mk(
      j.map((x) => fromJSON(x, def, secret)),
      def,
      secret,
    )
  if (j !== null && typeof j === 'object') {
    if (isEvalValue(j)) return fromEvalValue(j as EvalValue, secret)
    const o: Record<string, V> = {}
    for (const k of Object.keys(j)) setOwn(o, k, fromJSON((j as Record<string, unknown>)[k], def, secret))
    return mk(o, def, secret)
  }
  if (j === undefined) return mk(null, def, secret)
  if (typeof j === 'bigint') return mk(Number(j), def, secret)
  return mk(j as V['value'], def, secret)
}

function isEvalValue(j: object): boolean {
  return 'value' in j && 'trace' in j && Object.keys(j).every((k) => k === 'value' || k === 'trace' || k === 'secret' || k === 'unknown')
}

function fromEvalValue(e: EvalValue, secret?: boolean): V {
  const x = e.value
  let value: V['value']
  if (Array.isArray(x)) value = x.map((i) => fromEvalValue(i, secret))
  else if (x !== null && typeof x === 'object') {
    const o: Record<string, V> = {}
    for (const k of Object.keys(x)) setOwn(o, k, fromEvalValue((x as Record<string, EvalValue>)[k], secret))
    value = o
  } else value = x
  const v: V = { value, trace: e.trace ?? {} }
  if (e.secret || secret) v.secret = true
  if (e.unknown) v.unknown = true
  return v
}

/** Public conversion: secrets -> "[secret]" unless reveal, unknown -> "[unknown]". */
export function toJSON(v: EvalValue | undefined, opts: { reveal: boolean }): JsonValue {
  if (!v) return null
  if (v.secret && !opts.reveal) return '[secret]'
  if (v.unknown) return '[unknown]'
  const x = v.value
  if (Array.isArray(x)) return x.map((i) => toJSON(i, opts))
  if (x !== null && typeof x === 'object') {
    const o: { [k: string]: JsonValue } = {}
    for (const k of Object.keys(x).sort()) setOwn(o, k, toJSON((x as Record<string, EvalValue>)[k], opts))
    return o
  }
  return x
}

/** JSON of a whole object of top-level values. */
export function objectToJSON(values: { [key: string]: EvalValue } | undefined, opts: { reveal: boolean }): JsonValue {
  const o: { [k: string]: JsonValue } = {}
  if (!values) return o
  for (const k of Object.keys(values).sort()) setOwn(o, k, toJSON(values[k], opts))
  return o
}

/** Plain JSON of a value (secrets revealed), for providers and JSON. Throws ValueTooLarge past the budget. */
export function plain(v: V, budget: { n: number } = { n: MAX_PLAIN_NODES }): JsonValue {
  if (--budget.n < 0) throw new ValueTooLarge(MAX_PLAIN_NODES)
  const x = v.value
  if (Array.isArray(x)) return x.map((i) => plain(i, budget))
  if (x !== null && typeof x === 'object') {
    const o: { [k: string]: JsonValue } = {}
    for (const k of Object.keys(x)) setOwn(o, k, plain((x as Record<string, V>)[k], budget))
    return o
  }
  return x
}

/** Deep merge (objects key by key, anything else replaced by the later value). */
export function merge(base: V | undefined, top: V): V {
  if (!base) return top
  const b = base.value
  const t = top.value
  if (base.unknown || top.unknown || b === null || t === null || typeof b !== 'object' || typeof t !== 'object' || Array.isArray(b) || Array.isArray(t))
    return top
  const o: Record<string, V> = {}
  for (const k of Object.keys(b)) setOwn(o, k, (b as Record<string, V>)[k])
  for (const k of Object.keys(t)) {
    const tv = (t as Record<string, V>)[k]
    if (!Object.hasOwn(o, k)) setOwn(o, k, tv)
    else {
      const m = merge(o[k], tv)
      // an overridden value records what it overrides
      setOwn(o, k, m === tv && !tv.trace.base ? copyV(tv, { trace: { def: tv.trace.def, base: o[k] } }) : m)
    }
  }
  const r: V = { value: o, trace: { def: top.trace.def, base } }
  if (top.secret) r.secret = true
  return r
}

/** Merges several values in order (later wins), in one pass: importing many environments stays linear. */
export function mergeAll(vals: V[], def: Range | undefined): V | undefined {
  if (vals.length === 0) return undefined
  if (vals.length === 1) return vals[0]
  const objects = vals.every((v) => !v.unknown && v.value !== null && typeof v.value === 'object' && !Array.isArray(v.value))
  if (!objects) return vals.reduce((a, b) => merge(a, b))
  const o: Record<string, V> = {}
  for (const v of vals) {
    const x = v.value as Record<string, V>
    for (const k in x) {
      const prev = o[k]
      setOwn(o, k, prev === undefined ? x[k] : merge(prev, x[k]))
    }
  }
  return { value: o, trace: def ? { def } : {} }
}
