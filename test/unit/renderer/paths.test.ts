/**
 * The facts behind the editor's completion, hover, go-to-definition and preview. The renderer keeps only
 * displayValue (renderer/src/monaco/paths.ts); paths, names and cursor facts moved to shared/domain and
 * shared/domain/editor.ts, tested here with the same assertions as when they were the renderer's own.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { EvalValue } from '../../../shared/esc/host.ts'
import { displayValue } from '../../../renderer/src/monaco/paths.ts'
import { tryParsePath } from '../../../shared/format/paths.ts'
import { importTarget } from '../../../shared/domain/names.ts'
import { completePath, importAt, sectionAt, symbolAt } from '../../../shared/domain/editor.ts'

const parsePath = (text: string) => {
  const r = tryParsePath(text)
  return 'path' in r ? r.path : undefined
}
const labels = (prefix: string) => completePath({ values: root }, prefix).items.map((i) => i.label)

const leaf = (value: EvalValue['value'], extra: Partial<EvalValue> = {}): EvalValue => ({ value, trace: {}, ...extra })

const root: Record<string, EvalValue> = {
  app: leaf({ host: leaf('example.com'), 'dotted.key': leaf(1), ports: leaf([leaf(80), leaf(443)]) }),
  token: leaf('hunter22', { secret: true }),
  later: leaf(null, { unknown: true }),
  stored: leaf(null, { unknown: true, secret: true }),
}

test('parsePath: dots, quoted keys, indexes; malformed paths are undefined', () => {
  assert.deepEqual(parsePath('app.host'), ['app', 'host'])
  assert.deepEqual(parsePath('app["dotted.key"]'), ['app', 'dotted.key'])
  assert.deepEqual(parsePath('app.ports[1]'), ['app', 'ports', 1])
  assert.equal(parsePath('app[unquoted]'), undefined)
  assert.equal(parsePath('app[1'), undefined)
})

test('completion walks the evaluated tree: the keys at a path (sorted), indexes of a list', () => {
  assert.equal(completePath({ values: root }, 'app.ports[').items[1]?.value.value, 443)
  assert.deepEqual(completePath({ values: root }, 'app.nope.').items, [])
  assert.deepEqual(labels(''), ['app', 'later', 'stored', 'token'])
  assert.deepEqual(labels('app.'), ['dotted.key', 'host', 'ports'])
  assert.deepEqual(labels('app.ports['), ['[0]', '[1]'])
})

test('displayValue masks secrets unless revealed; an encrypted secret stays [secret], an unknown is [unknown]', () => {
  assert.equal(displayValue(root.token, false), '[secret]')
  assert.equal(displayValue(root.token, true), 'hunter22')
  assert.equal(displayValue(root.later, false), '[unknown]')
  assert.equal(displayValue(root.stored, false), '[secret]')
  assert.equal(displayValue(leaf({ a: leaf('x'), s: leaf('y', { secret: true }) }), false), '{"a":"x","s":"[secret]"}')
})

test('symbolAt finds the ${} under a 1-based column and skips $${ escapes', () => {
  const line = '  url: https://${app.host}:${app.ports[1]}/$${literal}'
  const source = `values:\n${line}\n`
  // on `app` of `${app.host}`: that interpolation, and the accessor under the cursor (hover/F12 act on it)
  const at = symbolAt('e', source, { values: root }, 2, line.indexOf('app.host') + 2)
  assert.deepEqual(at && { path: at.reference, start: at.range.begin.column }, { path: 'app', start: line.indexOf('${') + 1 })
  const host = symbolAt('e', source, { values: root }, 2, line.indexOf('host') + 1)
  assert.deepEqual(host && { path: host.reference, start: host.range.begin.column, value: host.value?.value }, {
    path: 'app.host',
    start: line.indexOf('${') + 1,
    value: 'example.com',
  })
  assert.equal(symbolAt('e', source, { values: root }, 2, line.indexOf('[1]') + 2)?.reference, 'app.ports[1]')
  assert.equal(symbolAt('e', source, { values: root }, 2, line.indexOf('ports') + 1)?.range.begin.column, line.indexOf('${app.ports') + 1)
  assert.equal(symbolAt('e', source, { values: root }, 2, line.indexOf('literal') + 1)?.reference, undefined)
  assert.equal(symbolAt('e', source, { values: root }, 2, 3)?.reference, undefined)
})

test('imports: the name on a list line, its section, and resolution in the current project', () => {
  const lines = ['imports:', '  - base@3', '  - other/db: { merge: false }', 'values:', '  a: 1']
  const source = lines.join('\n') + '\n'
  assert.equal(importAt('e', source, 2)?.name, 'base@3')
  assert.equal(importAt('e', source, 3)?.name, 'other/db')
  assert.equal(sectionAt(lines, 2), 'imports')
  assert.equal(sectionAt(lines, 4), 'values')
  assert.equal(importTarget('base@3', 'shop'), 'shop/base')
  assert.equal(importTarget('org/other/db', 'shop'), 'other/db')
})
