/**
 * The cached form of syntax trees (shared/esc/syntax-cache.ts): decoding gives back the parser's tree,
 * evaluating decoded trees gives the reference's results, and nothing secret or stale gets through.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clearParseCache, decodeEnvironmentDoc, encodeEnvironmentDoc, evaluate, parseEnvironment, SYNTAX_FORMAT } from '../../../shared/esc/index.ts'
import type { EnvironmentDoc } from '../../../shared/esc/index.ts'
import { runCase } from '../../conformance/run.ts'

const CASES = resolve(dirname(fileURLToPath(import.meta.url)), '../../esc-conformance/cases')

/** every YAML document of the reference cases, by case/file */
function caseDocuments(): Array<{ id: string; text: string }> {
  const out: Array<{ id: string; text: string }> = []
  for (const c of readdirSync(CASES).sort()) {
    for (const f of readdirSync(join(CASES, c)).sort()) {
      if (f.endsWith('.yaml')) out.push({ id: `${c}/${f}`, text: readFileSync(join(CASES, c, f), 'utf8') })
    }
  }
  return out
}

/**
 * the tree without what the cache does not keep: the source map (compared by text), evaluator caches,
 * and the sharing of positions between ranges (positions are never modified)
 */
function comparable(doc: EnvironmentDoc): unknown {
  const seen = new Set<object>()
  const strip = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v
    if (Object.keys(v).join() === 'line,column,byte') return { ...v }
    if (seen.has(v)) return '[shared]'
    seen.add(v)
    if (v === doc.source) return { text: doc.source.text, environment: doc.source.environment }
    if (Array.isArray(v)) return v.map(strip)
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, strip(x)]))
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'cached')
        .map(([k, x]) => [k, strip(x)]),
    )
  }
  return strip(doc)
}

function fresh(name: string, text: string): EnvironmentDoc {
  clearParseCache()
  return parseEnvironment(name, text).doc
}

test('every reference document decodes to the tree the parser makes (ranges, maps, shared sub-trees)', () => {
  let encoded = 0
  for (const { id, text } of caseDocuments()) {
    const doc = fresh('proj/env', text)
    const json = encodeEnvironmentDoc(doc)
    if (json === undefined) continue // plaintext secret or not loadable: never cached
    encoded++
    const back = decodeEnvironmentDoc('proj/env', text, json)
    assert.ok(back, id)
    assert.deepStrictEqual(comparable(back), comparable(doc), id)
  }
  assert.ok(encoded >= 60, `only ${encoded} documents were encoded`)
})

test('a builtin keeps sharing its argument with its inputs, as the parser builds it', () => {
  const text = 'values:\n  a:\n    fn::open:\n      provider: test\n      inputs:\n        x: 1\n'
  const back = decodeEnvironmentDoc('p/e', text, encodeEnvironmentDoc(fresh('p/e', text))!)!
  const open = back.values!.props.get('a')!
  assert.equal(open.kind, 'builtin')
  if (open.kind !== 'builtin' || open.arg.kind !== 'object') throw new Error('unexpected tree')
  assert.equal(open.inputs, open.arg.props.get('inputs'))
})

test('the tree is decoded under the name it is opened as (versioned imports report their own name)', () => {
  const text = 'values:\n  a: ${nope}\n  b: [1, 2]\n'
  const json = encodeEnvironmentDoc(fresh('p/e', text))!
  const back = decodeEnvironmentDoc('p/e@3', text, json)!
  assert.deepStrictEqual(comparable(back), comparable(fresh('p/e@3', text)))
  assert.equal(back.values!.range.environment, 'p/e@3')
})

test('numbers JSON cannot spell survive: NaN, infinities, -0', () => {
  const text = 'values:\n  nan: .nan\n  inf: .inf\n  ninf: -.inf\n  nzero: -0\n  big: 1e400\n'
  const doc = fresh('p/e', text)
  const back = decodeEnvironmentDoc('p/e', text, encodeEnvironmentDoc(doc)!)!
  const v = (k: string) => (back.values!.props.get(k) as { value: number }).value
  assert.ok(Number.isNaN(v('nan')))
  assert.equal(v('inf'), Infinity)
  assert.equal(v('ninf'), -Infinity)
  assert.ok(Object.is(v('nzero'), -0))
  assert.deepStrictEqual(comparable(back), comparable(doc))
})

test('a tree with a plaintext secret is never encoded; unloadable documents neither', () => {
  assert.equal(encodeEnvironmentDoc(fresh('p/e', 'values:\n  s:\n    fn::secret: hunter2\n')), undefined)
  assert.equal(encodeEnvironmentDoc(fresh('p/e', 'values: [\n')), undefined)
  const enc = encodeEnvironmentDoc(fresh('p/e', 'values:\n  s:\n    fn::secret:\n      ciphertext: ZXNjeAAAAAEAAAA=\n'))
  assert.ok(enc)
})

test('a damaged entry or one of another format is a miss, and evaluation parses instead', async () => {
  const text = 'values:\n  a: 1\n  b: ${a}\n'
  const good = encodeEnvironmentDoc(fresh('p/e', text))!
  const other = JSON.stringify({ ...JSON.parse(good), format: SYNTAX_FORMAT + 1 })
  for (const bad of ['', '{', 'null', '[]', other, JSON.stringify({ format: SYNTAX_FORMAT, doc: { $p: 7 } })]) {
    assert.equal(decodeEnvironmentDoc('p/e', text, bad), undefined, bad)
    clearParseCache()
    const res = await evaluate({ name: 'p/e', source: text, syntax: bad, mode: 'eval' })
    assert.deepEqual(res.diagnostics, [])
    assert.equal(res.value?.b?.value, 1)
  }
})

test('every reference case gives the same results when all its documents come from the cache', async () => {
  const stats = { decoded: 0 }
  for (const c of readdirSync(CASES).sort()) {
    if (c === 'bench') continue // skipped by the conformance runner too (see its README)
    assert.deepEqual(await runCase(join(CASES, c), { viaSyntaxCache: true, stats }), [], c)
  }
  assert.ok(stats.decoded >= 60, `only ${stats.decoded} documents came from the cache`)
})

/**
 * Guards SYNTAX_FORMAT: a host keeps encoded trees across Envelope versions and trusts an entry of the
 * current format. When this fails, the parser's tree (or its encoding) changed: bump SYNTAX_FORMAT in
 * shared/esc/syntax-cache.ts and record the new digest here.
 */
test('the encoding of the reference documents is the one SYNTAX_FORMAT names', () => {
  const h = createHash('sha256')
  for (const { id, text } of caseDocuments()) h.update(`${id}\n${encodeEnvironmentDoc(fresh('proj/env', text)) ?? '-'}\n`)
  const FORMATS: Record<number, string> = { 1: '7847bb3371c0d02b35180c22547ea4c371565538de51353d4d5a59e5409668db' }
  assert.equal(h.digest('hex'), FORMATS[SYNTAX_FORMAT], 'the parser output changed: bump SYNTAX_FORMAT and record the digest')
})
