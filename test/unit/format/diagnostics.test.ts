/** Compiler-style rendering, property paths, value projection. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { renderDiagnostic } from '../../../shared/format/diagnostics.ts'
import { parsePath, formatPath } from '../../../shared/format/paths.ts'
import { projectEnvironment, collectSecrets, toPlain, formatString } from '../../../shared/format/index.ts'
import type { EvalValue } from '../../../shared/esc/host.ts'

const pos = (line: number, column: number) => ({ line, column, byte: 0 })

test('file:line:col: severity: message, source line, caret spanning the range', () => {
  const text = 'values:\n\turl: https://${hots}/x\n'
  const out = renderDiagnostic(
    { severity: 'error', summary: 'unknown property "hots"', range: { environment: 'app', begin: pos(2, 15), end: pos(2, 22) } },
    { source: () => ({ display: 'app.yaml', text }) },
  )
  assert.equal(out, 'app.yaml:2:15: error: unknown property "hots"\n  \turl: https://${hots}/x\n  \t             ^^^^^^^\n')
})

test('multi-line ranges underline to the end of the first line; warnings; no range', () => {
  const text = 'a: é${x\nb: 2\n'
  const w = renderDiagnostic(
    { severity: 'warning', summary: 'w', range: { environment: 'e', begin: pos(1, 5), end: pos(2, 2) } },
    { source: () => ({ display: 'e', text }) },
  )
  assert.equal(w, 'e:1:5: warning: w\n  a: é${x\n      ^^^\n')
  assert.equal(
    renderDiagnostic({ severity: 'error', summary: 's', path: 'values.a' }, { source: () => undefined, fallback: 'f.yaml' }),
    'f.yaml: error: s (at values.a)\n',
  )
})

test('property paths parse and print back', () => {
  assert.deepEqual(parsePath('app.token'), ['app', 'token'])
  assert.deepEqual(parsePath('a[0]["x.y"].b'), ['a', 0, 'x.y', 'b'])
  assert.equal(formatPath(['a', 0, 'x.y', 'b']), 'a[0]["x.y"].b')
  assert.throws(() => parsePath('a..b'), /column 3: property name must not be empty/)
  assert.throws(() => parsePath('a[x]'), /subscript must be a non-negative integer/)
  assert.throws(() => parsePath('a["x'), /missing its closing quote/)
})

const v = (value: EvalValue['value'], extra: Partial<EvalValue> = {}): EvalValue => ({ value, trace: {}, ...extra })

test('environmentVariables and files projection; secrets listed; redaction', () => {
  const values = {
    environmentVariables: v({ B: v('b'), A: v(1), S: v('s3cret', { secret: true }), N: v(null), O: v({ k: v(true) }) }),
    files: v({ F: v('content') }),
    other: v([v('x', { secret: true }), v('y')], {}),
  }
  const p = projectEnvironment(values, { reveal: true })
  assert.deepEqual(Object.keys(p.variables), ['A', 'B', 'N', 'O', 'S'])
  assert.deepEqual(p.variables, { A: '1', B: 'b', N: '', O: '{"k":true}', S: 's3cret' })
  assert.deepEqual(p.files, { F: 'content' })
  assert.deepEqual(p.secretNames, ['S'])
  assert.equal(projectEnvironment(values, { reveal: false }).variables.S, '[secret]')
  assert.deepEqual(collectSecrets(values), ['s3cret'])
  assert.deepEqual(toPlain(values.other, { reveal: false }), ['[secret]', 'y'])
  assert.equal(formatString(toPlain(values.other, { reveal: true })), '"x","y"\n')
})

test('a secret that is also unknown (check mode) prints [secret] when redacted, [unknown] when revealed', () => {
  const s = v(null, { secret: true, unknown: true })
  assert.equal(toPlain(s, { reveal: false }), '[secret]')
  assert.equal(toPlain(s, { reveal: true }), '[unknown]')
  assert.equal(toPlain(v(null, { unknown: true }), { reveal: false }), '[unknown]')
})
