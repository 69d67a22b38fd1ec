/**
 * A parsed environment in a portable form: the syntax tree of `parseEnvironmentDoc` as JSON, so that a
 * host which keeps documents (the local store keeps one per revision) parses each of them once instead
 * of at every evaluation. Decoding is a `JSON.parse` and one walk; parsing YAML is the most expensive part
 * of opening an environment in a fresh process (`envelope run`).
 *
 * The encoding is generic (any field the parser adds is kept) with these rules:
 * - a Range of the document itself becomes `{"$r":[line, column, byte, line, column, byte]}` (begin, end);
 *   it is decoded with the decoding name (the tree does not depend on the name it was parsed under);
 * - a Map becomes `{"$m":[[key, value], ...]}`; `undefined`, NaN, ±Infinity and -0 are spelled out;
 * - an object met a second time (the parser shares sub-trees, e.g. a builtin's `inputs` is also under its
 *   `arg`) becomes `{"$p":n}`, n counting objects in encoding order, so sharing survives the round trip;
 * - the evaluator's per-node cache (`cached`) and the source map are not kept (the source map is rebuilt
 *   from the text).
 * A tree holding a plaintext secret (`fn::secret: text`, before encryption) is never encoded.
 * SYNTAX_FORMAT names the parser's output: bump it whenever the parser's tree changes (the unit test
 * test/unit/esc/syntax-cache.test.ts fails until then), and hosts ignore entries of another format.
 */
import { setOwn } from './own.ts'
import type { Range } from './host.ts'
import { SourceMap } from './source.ts'
import type { EnvironmentDoc, Expr } from './ast.ts'

export const SYNTAX_FORMAT = 1

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

function isRange(v: object): v is Range {
  const r = v as Partial<Range>
  return typeof r.environment === 'string' && typeof r.begin === 'object' && typeof r.end === 'object' && r.begin !== null && r.end !== null
}

/** The tree of `doc` as JSON text; undefined when it holds a plaintext secret or is not a complete parse. */
export function encodeEnvironmentDoc(doc: EnvironmentDoc): string | undefined {
  const seen = new Map<object, number>()
  let plaintext = false
  const enc = (v: unknown): Json => {
    if (v === undefined) return { $u: 1 }
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return v
    if (typeof v === 'number') {
      if (!Number.isFinite(v) || Object.is(v, -0)) return { $n: Object.is(v, -0) ? '-0' : String(v) }
      return v
    }
    if (typeof v !== 'object') throw new Error(`cannot encode a ${typeof v}`)
    if (v instanceof SourceMap) return { $s: 1 }
    const at = seen.get(v)
    if (at !== undefined) return { $p: at }
    seen.set(v, seen.size)
    if (Array.isArray(v)) return v.map((x) => enc(x))
    if (v instanceof Map) return { $m: [...v].map(([k, x]) => [enc(k), enc(x)]) }
    if (isRange(v) && v.environment === doc.name) return { $r: [v.begin.line, v.begin.column, v.begin.byte, v.end.line, v.end.column, v.end.byte] }
    const out: { [k: string]: Json } = {}
    for (const [k, x] of Object.entries(v)) {
      if (k === 'cached') continue
      if (k === 'plaintext' && (v as Expr).kind === 'builtin') plaintext = true
      setOwn(out, k, enc(x))
    }
    return out
  }
  if (doc.fatal) return undefined
  const json = JSON.stringify({ format: SYNTAX_FORMAT, doc: enc(doc) })
  return plaintext ? undefined : json
}

/**
 * Rebuilds a tree from `encodeEnvironmentDoc`'s text for environment `name` with source `text` (the
 * document it was parsed from). Undefined when `json` is not such an encoding, or of another
 * SYNTAX_FORMAT (a stale or damaged cache entry is a miss, never an error).
 */
export function decodeEnvironmentDoc(name: string, text: string, json: string): EnvironmentDoc | undefined {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    return undefined
  }
  const source = new SourceMap(name, text)
  const objects: object[] = []
  const dec = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v
    if (Array.isArray(v)) {
      const arr: unknown[] = []
      objects.push(arr)
      for (const x of v) arr.push(dec(x))
      return arr
    }
    const o = v as Record<string, unknown>
    if (o.$u !== undefined) return undefined
    if (o.$n !== undefined) return o.$n === '-0' ? -0 : Number(o.$n)
    if (o.$s !== undefined) return source
    if (o.$p !== undefined) {
      const target = objects[o.$p as number]
      if (target === undefined) throw new Error('bad reference')
      return target
    }
    if (o.$m !== undefined) {
      const m = new Map<unknown, unknown>()
      objects.push(m)
      for (const [k, x] of o.$m as [unknown, unknown][]) m.set(dec(k), dec(x))
      return m
    }
    if (o.$r !== undefined) {
      const r = o.$r as number[]
      const range: Range = { environment: name, begin: { line: r[0]!, column: r[1]!, byte: r[2]! }, end: { line: r[3]!, column: r[4]!, byte: r[5]! } }
      objects.push(range)
      return range
    }
    const out: Record<string, unknown> = {}
    objects.push(out)
    for (const k of Object.keys(o)) setOwn(out, k, dec(o[k]))
    return out
  }
  if (typeof raw !== 'object' || raw === null || (raw as { format?: unknown }).format !== SYNTAX_FORMAT) return undefined
  try {
    const doc = dec((raw as { doc: unknown }).doc) as EnvironmentDoc
    if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.imports) || !Array.isArray(doc.diagnostics)) return undefined
    doc.name = name
    doc.source = source
    return doc
  } catch {
    return undefined
  }
}
