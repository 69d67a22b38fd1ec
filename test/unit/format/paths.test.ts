/** Property paths (shared/format/paths.ts): one parser and one formatter, inverse of each other. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { accessorSegments, formatPath, parsePath, tryParsePath, type PathSegment } from '../../../shared/format/paths.ts'
import { parsePath as grammarPath } from '../../../shared/esc/syntax.ts'
import { UserError } from '../../../shared/errors.ts'

const key = fc.string({ unit: fc.constantFrom(...'ab_Z9-. "\\[]\n'.split('')), minLength: 1, maxLength: 6 })
const segment: fc.Arbitrary<PathSegment> = fc.oneof(key, fc.nat({ max: 30 }))
const path = fc.array(segment, { minLength: 1, maxLength: 5 })

test('format∘parse: every path survives formatting and parsing', () => {
  fc.assert(
    fc.property(path, (p) => {
      assert.deepEqual(parsePath(formatPath(p)), p)
    }),
    { numRuns: 3000 },
  )
})

test('parse∘format: a canonical text is formatted back as it was', () => {
  fc.assert(
    fc.property(path, (p) => {
      const text = formatPath(p)
      assert.equal(formatPath(parsePath(text)), text)
    }),
    { numRuns: 1000 },
  )
})

test('a path that starts with a name reads the same in ${...} (the ESC grammar) as on the command line', () => {
  fc.assert(
    fc.property(key, fc.array(segment, { maxLength: 4 }), (first, rest) => {
      const p = [first, ...rest]
      const r = grammarPath(formatPath(p) + '}', 0)
      assert.equal(r.error, undefined)
      assert.deepEqual(accessorSegments(r.path ?? []), p)
    }),
    { numRuns: 2000 },
  )
})

test('tryParsePath: the error and its offset, the same ones parsePath throws', () => {
  for (const [text, at, message] of [
    ['', 0, /empty/],
    ['a..b', 2, /property name must not be empty/],
    ['a.', 2, /property name must not be empty/],
    ['a[x]', 2, /non-negative integer or a quoted key/],
    ['a["x', 4, /closing quote/],
    ['a[0', 3, /closing bracket/],
    ['a[0]b', 4, /expected '.' or '\['/],
    ['a[""]', 4, /must not be empty/],
  ] as const) {
    const r = tryParsePath(text)
    assert.ok('error' in r, text)
    assert.equal(r.error.offset, at, text)
    assert.match(r.error.message, message)
    assert.throws(
      () => parsePath(text),
      (e: unknown) => e instanceof UserError && e.code === 'invalid_input' && e.message.includes(`at column ${at + 1}: ${r.error.message}`),
    )
  }
})

test('quoted keys: JSON escapes; a backslash before another character keeps it', () => {
  assert.deepEqual(parsePath('a["x\\"y"]'), ['a', 'x"y'])
  assert.deepEqual(parsePath('["a\\nb"]'), ['a\nb'])
  assert.deepEqual(parsePath('["a\\qb"]'), ['aqb'])
  assert.deepEqual(parsePath('["a\\\\b"]'), ['a\\b'])
  assert.equal(formatPath(['a-b', 'c d', 0, 'e']), 'a-b["c d"][0].e')
})
