/**
 * JSON-schema subset of the reference: validation of values (with the reference's messages) and, for
 * unknown values (check mode), of the schema they are known to have.
 */
import { setOwn } from './own.ts'
import type { Expr } from './ast.ts'
import type { JsonValue } from './host.ts'
import type { Schema, V } from './value.ts'
import { plain, schemaOf } from './value.ts'

type SObj = { [key: string]: JsonValue }

export type Report = (loc: Expr, summary: string) => void

export function typeOf(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return 'array'
  const t = typeof v
  if (t === 'object') return 'object'
  if (t === 'bigint') return 'number'
  return t
}

function childLoc(loc: Expr, key: string | number): Expr {
  if (typeof key === 'number') {
    if (loc.kind === 'list' && key < loc.items.length) return loc.items[key]
    return loc
  }
  if (loc.kind === 'object') return loc.props.get(key) ?? loc
  return loc
}

export class Validator {
  readonly root: Schema
  readonly report: Report
  constructor(root: Schema, report: Report) {
    this.root = root
    this.report = report
  }

  resolve(s: Schema | undefined): Schema | undefined {
    let guard = 0
    while (s && typeof s === 'object' && typeof s.$ref === 'string' && guard++ < 32) {
      const ref = s.$ref as string
      if (!ref.startsWith('#/')) return true
      let cur: JsonValue = this.root as JsonValue
      for (const part of ref.slice(2).split('/')) {
        const k = part.replace(/~1/g, '/').replace(/~0/g, '~')
        if (cur && typeof cur === 'object' && !Array.isArray(cur)) cur = (cur as SObj)[k]
        else return true
      }
      s = cur as Schema
    }
    return s
  }

  /** validation steps left: shared values can make a tree exponentially large */
  budget = 1_000_000

  /** Validates a value (known or unknown) against a schema; returns true if valid. */
  value(v: V, s0: Schema | undefined, loc: Expr): boolean {
    if (--this.budget < 0) return true
    const s = this.resolve(s0)
    if (s === undefined || s === true) return true
    if (s === false) return true
    if (v.unknown) return this.schema(schemaOf(v), s, loc)
    let ok = true
    if (Array.isArray(s.anyOf)) {
      const errs: Array<[Expr, string]> = []
      let any = false
      for (const sub of s.anyOf as Schema[]) {
        const sv = new Validator(this.root, (l, m) => errs.push([l, m]))
        if (sv.value(v, sub, loc)) any = true
      }
      if (!any) {
        for (const [l, m] of errs) this.report(l, m)
        this.report(loc, 'at least one subschema must match')
        ok = false
      }
    }
    if (Array.isArray(s.oneOf)) {
      const errs: Array<[Expr, string]> = []
      let n = 0
      for (const sub of s.oneOf as Schema[]) {
        const sv = new Validator(this.root, (l, m) => errs.push([l, m]))
        if (sv.value(v, sub, loc)) n++
      }
      if (n !== 1) {
        if (n === 0) for (const [l, m] of errs) this.report(l, m)
        this.report(loc, 'exactly one subschema must match')
        ok = false
      }
    }
    if (Array.isArray(s.allOf)) {
      for (const sub of s.allOf as Schema[]) if (!this.value(v, sub, loc)) ok = false
    }
    // the plain form for const/enum, without a size budget (validation has its own step budget)
    const pv = s.const !== undefined || Array.isArray(s.enum) ? plain(v, { n: Infinity }) : undefined
    if (s.const !== undefined && !deepEqual(pv, s.const)) {
      this.report(loc, `expected ${goJSON(s.const)}`)
      ok = false
    }
    if (Array.isArray(s.enum) && !(s.enum as JsonValue[]).some((e) => deepEqual(pv, e))) {
      this.report(loc, `expected one of ${goJSON(s.enum)}`)
      ok = false
    }
    const t = typeOf(v.value)
    const want = schemaType(undefined, s)
    if (want !== undefined) {
      if (want !== t) {
        this.report(loc, `expected ${want}, got ${t}`)
        return false
      }
      if (s.type === 'integer' && !Number.isInteger(v.value)) {
        this.report(loc, 'expected integer, got number')
        return false
      }
    }
    switch (t) {
      case 'number': {
        const n = v.value as number
        if (typeof s.multipleOf === 'number' && s.multipleOf !== 0) {
          const q = n / s.multipleOf
          if (Math.abs(q - Math.round(q)) > 1e-9) {
            this.report(loc, `expected a multiple of ${fmtNum(s.multipleOf)}`)
            ok = false
          }
        }
        if (typeof s.minimum === 'number' && n < s.minimum) {
          this.report(loc, `expected a number greater than or equal to ${fmtNum(s.minimum)}`)
          ok = false
        }
        if (typeof s.exclusiveMinimum === 'number' && n <= s.exclusiveMinimum) {
          this.report(loc, `expected a number greater than ${fmtNum(s.exclusiveMinimum)}`)
          ok = false
        }
        if (typeof s.maximum === 'number' && n > s.maximum) {
          this.report(loc, `expected a number less than or equal to${fmtNum(s.maximum)}`)
          ok = false
        }
        if (typeof s.exclusiveMaximum === 'number' && n >= s.exclusiveMaximum) {
          this.report(loc, `expected a number less than ${fmtNum(s.exclusiveMaximum)}`)
          ok = false
        }
        break
      }
      case 'string': {
        const str = v.value as string
        const len = [...str].length
        if (typeof s.minLength === 'number' && len < s.minLength) {
          this.report(loc, `expected a string of at least length ${s.minLength}`)
          ok = false
        }
        if (typeof s.maxLength === 'number' && len > s.maxLength) {
          this.report(loc, `expected a string of at most length ${s.maxLength}`)
          ok = false
        }
        if (typeof s.pattern === 'string') {
          let re: RegExp | undefined
          try {
            re = new RegExp(s.pattern, 'u')
          } catch {
            re = undefined
          }
          if (re && !re.test(str)) {
            this.report(loc, `string must match the pattern ${JSON.stringify(s.pattern)}`)
            ok = false
          }
        }
        break
      }
      case 'array': {
        const arr = v.value as V[]
        if (typeof s.minItems === 'number' && arr.length < s.minItems) {
          this.report(loc, `expected an array with at least ${s.minItems} items`)
          ok = false
        }
        if (typeof s.maxItems === 'number' && arr.length > s.maxItems) {
          this.report(loc, `expected an array with at most ${s.maxItems} items`)
          ok = false
        }
        const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as Schema[]) : []
        for (let i = 0; i < arr.length; i++) {
          const sub = i < prefix.length ? prefix[i] : (s.items as Schema | undefined)
          if (sub !== undefined && sub !== false && !this.value(arr[i], sub, childLoc(loc, i))) ok = false
        }
        break
      }
      case 'object': {
        const obj = v.value as Record<string, V>
        const keys = Object.keys(obj)
        if (Array.isArray(s.required)) {
          const missing = (s.required as string[]).filter((k) => !(k in obj))
          if (missing.length) {
            this.report(loc, `missing required properties: ${missing.join(', ')}`)
            ok = false
          }
        }
        if (s.dependentRequired && typeof s.dependentRequired === 'object') {
          for (const [k, deps] of Object.entries(s.dependentRequired as SObj)) {
            if (!(k in obj) || !Array.isArray(deps)) continue
            const missing = (deps as string[]).filter((d) => !(d in obj))
            if (missing.length) {
              this.report(loc, `missing required properties: ${missing.join(', ')}`)
              ok = false
            }
          }
        }
        if (typeof s.minProperties === 'number' && keys.length < s.minProperties) {
          this.report(loc, `expected an object with at least ${s.minProperties} properties`)
          ok = false
        }
        if (typeof s.maxProperties === 'number' && keys.length > s.maxProperties) {
          this.report(loc, `expected an object with at most ${s.maxProperties} properties`)
          ok = false
        }
        const props = (s.properties && typeof s.properties === 'object' ? s.properties : {}) as SObj
        for (const k of keys) {
          const sub = (k in props ? props[k] : s.additionalProperties) as Schema | undefined
          if (sub !== undefined && sub !== false && !this.value(obj[k], sub, childLoc(loc, k))) ok = false
        }
        break
      }
    }
    return ok
  }

  /** Check mode: validates what is known about an unknown value (its schema) against a schema. */
  schema(have0: Schema | undefined, want0: Schema | undefined, loc: Expr): boolean {
    const want = this.resolve(want0)
    const have = this.resolve(have0)
    if (want === undefined || want === true || want === false) return true
    if (have === undefined || have === true || have === false) return true
    const branches = Array.isArray(want.anyOf) ? (want.anyOf as Schema[]) : Array.isArray(want.oneOf) ? (want.oneOf as Schema[]) : undefined
    if (branches) {
      const errs: Array<[Expr, string]> = []
      let any = false
      for (const sub of branches) {
        const sv = new Validator(this.root, (l, m) => errs.push([l, m]))
        if (sv.schema(have, sub, loc)) any = true
      }
      if (!any) {
        for (const [l, m] of errs) this.report(l, m)
        this.report(loc, 'at least one subschema must match')
        return false
      }
    }
    if (Array.isArray(have.anyOf) || Array.isArray(have.oneOf)) return true
    const wt = schemaType(undefined, want)
    const ht = schemaType(undefined, have)
    if (wt && ht && wt !== ht) {
      this.report(loc, `expected ${wt}, got ${ht}`)
      return false
    }
    let ok = true
    if (ht === 'object') {
      const hreq = new Set(Array.isArray(have.required) ? (have.required as string[]) : [])
      const hprops = (have.properties && typeof have.properties === 'object' ? have.properties : {}) as SObj
      if (Array.isArray(want.required)) {
        for (const r of want.required as string[]) {
          if (!hreq.has(r)) {
            this.report(loc, `${r}: missing required property`)
            ok = false
          }
        }
      }
      if (want.dependentRequired && typeof want.dependentRequired === 'object') {
        for (const [k, deps] of Object.entries(want.dependentRequired as SObj)) {
          if (!hreq.has(k) || !Array.isArray(deps)) continue
          for (const d of deps as string[]) {
            if (!hreq.has(d)) {
              this.report(loc, `${d}: missing required property`)
              ok = false
            }
          }
        }
      }
      const wprops = (want.properties && typeof want.properties === 'object' ? want.properties : {}) as SObj
      for (const k of Object.keys(hprops)) {
        const sub = (k in wprops ? wprops[k] : want.additionalProperties) as Schema | undefined
        if (sub !== undefined && !this.schema(hprops[k] as Schema, sub, childLoc(loc, k))) ok = false
      }
    } else if (ht === 'array') {
      const hp = Array.isArray(have.prefixItems) ? (have.prefixItems as Schema[]) : []
      const wp = Array.isArray(want.prefixItems) ? (want.prefixItems as Schema[]) : []
      for (let i = 0; i < hp.length; i++) {
        const sub = i < wp.length ? wp[i] : (want.items as Schema | undefined)
        if (sub !== undefined && sub !== false && !this.schema(hp[i], sub, childLoc(loc, i))) ok = false
      }
      if (have.items !== undefined && have.items !== false && want.items !== undefined && want.items !== false && wp.length === 0) {
        if (!this.schema(have.items as Schema, want.items as Schema, loc)) ok = false
      }
    }
    return ok
  }
}

function fmtNum(n: number): string {
  return String(n)
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    return a.every((x, i) => deepEqual(x, b[i]))
  }
  if (Array.isArray(b)) return false
  const ak = Object.keys(a as object)
  const bk = Object.keys(b as object)
  if (ak.length !== bk.length) return false
  return ak.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

/** Go's encoding/json output: sorted keys, HTML-escaped. */
export function goJSON(v: unknown): string {
  return JSON.stringify(sortKeys(v)).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) setOwn(o, k, sortKeys((v as Record<string, unknown>)[k]))
    return o
  }
  return v
}

/** The schema of a property / element of a value whose schema is `s` (for unknown values). */
export function subSchema(v: Validator | undefined, s: Schema | undefined, key: string | number): Schema {
  const r = v ? v.resolve(s) : s
  if (r === undefined || typeof r === 'boolean') return true
  if (typeof key === 'number') {
    const prefix = Array.isArray(r.prefixItems) ? (r.prefixItems as Schema[]) : []
    if (key < prefix.length) return (v ? v.resolve(prefix[key]) : prefix[key]) ?? true
    const it = r.items as Schema | undefined
    return it === undefined || it === false ? true : ((v ? v.resolve(it) : it) ?? true)
  }
  const props = r.properties as SObj | undefined
  if (props && key in props) return (v ? v.resolve(props[key] as Schema) : (props[key] as Schema)) ?? true
  const ap = r.additionalProperties as Schema | undefined
  return ap === undefined || ap === false ? true : ((v ? v.resolve(ap) : ap) ?? true)
}

/** The type a schema gives (`integer` is a number), if any; `v` resolves `$ref`s against its root. */
export function schemaType(v: Validator | undefined, s: Schema | undefined): string | undefined {
  const r = v ? v.resolve(s) : s
  if (r === undefined || typeof r === 'boolean') return undefined
  if (typeof r.type === 'string' && r.type !== '') return r.type === 'integer' ? 'number' : r.type
  return undefined
}
