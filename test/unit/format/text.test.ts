/** Value to text (shared/format/text.ts): one rule for variables, arguments, the `string` format and displays. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { EvalValue, JsonValue } from '../../../shared/esc/host.ts'
import { plainText, truncateText } from '../../../shared/format/text.ts'
import { formatString, scalarText, toPlain } from '../../../shared/format/index.ts'
import { displayValue } from '../../../renderer/src/monaco/paths.ts'

const json: fc.Arbitrary<JsonValue> = fc.jsonValue() as fc.Arbitrary<JsonValue>
const asEval = (x: JsonValue): EvalValue => ({
  value: Array.isArray(x) ? x.map(asEval) : x !== null && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, asEval(v)])) : x,
  trace: {},
})

test('a string is itself, a number or boolean its text, a list or object compact JSON; null is empty only for a process', () => {
  fc.assert(
    fc.property(json, (x) => {
      for (const use of ['variable', 'argument', 'string', 'display'] as const) {
        const t = plainText(x, use)
        if (typeof x === 'string') assert.equal(t, x)
        else if (x === null) assert.equal(t, use === 'variable' || use === 'argument' ? '' : 'null')
        else if (typeof x === 'object') assert.equal(t, JSON.stringify(x))
        else assert.equal(t, String(x))
      }
    }),
    { numRuns: 500 },
  )
})

test('the faces agree: scalarText (run, export), formatString (string format) and the editor display use the one rule', () => {
  fc.assert(
    fc.property(json, (x) => {
      const v = asEval(x)
      assert.equal(scalarText(v, { reveal: true }), plainText(x, 'variable'))
      if (x === null || typeof x !== 'object') assert.equal(formatString(toPlain(v, { reveal: true })), plainText(x, 'string') + '\n')
      assert.equal(displayValue(v, true, 1e9), plainText(x, 'display'))
    }),
    { numRuns: 500 },
  )
  assert.equal(scalarText({ value: 'pw', secret: true, trace: {} }, { reveal: false }), '[secret]')
  assert.equal(truncateText('abcdef', 3), 'abc…')
  assert.equal(truncateText('abc', 3), 'abc')
})
