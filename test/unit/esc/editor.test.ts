/** Editor support: `${}` completions, hover and go-to-definition across imports. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { completePath, evaluate, symbolAt } from '../../../shared/esc/index.ts'

const base = 'values:\n  db:\n    host: db.internal\n    port: 5432\n    pw: {fn::secret: s3cret}\n'
const app = 'imports:\n  - base\nvalues:\n  app:\n    url: postgres://${db.host}:${db.port}\n    "weird.key": [a, b]\n  copy: ${app["weird.key"][1]}\n'
const loader = { async load(name: string) { return name === 'base' ? { name, source: base } : undefined } }

test('completions list the keys at a path, with types, secrecy and definitions', async () => {
  const r = await evaluate({ name: 'app', source: app, mode: 'eval', loader })
  assert.deepEqual(r.diagnostics, [])
  const top = completePath({ values: r.value }, '')
  assert.deepEqual(top.items.map((i) => i.label), ['app', 'copy', 'db'])
  const db = completePath({ values: r.value }, 'db.p')
  assert.equal(db.from, 3)
  assert.deepEqual(db.items.map((i) => [i.label, i.detail, !!i.secret]), [['port', 'number', false], ['pw', 'string', true]])
  assert.equal(db.items[0].def?.environment, 'base')
  assert.equal(db.items[0].def?.begin.line, 4)
  const weird = completePath({ values: r.value }, 'app.')
  assert.deepEqual(weird.items.map((i) => i.insertText), ['url', '["weird.key"]'])
  const idx = completePath({ values: r.value }, 'app["weird.key"][')
  assert.deepEqual(idx.items.map((i) => i.insertText), ['[0]', '[1]'])
  assert.deepEqual(completePath({ values: r.value }, 'nope.').items, [])
})

test('go-to-definition on a reference points into the imported environment', async () => {
  const r = await evaluate({ name: 'app', source: app, mode: 'eval', loader })
  // line 5: `    url: postgres://${db.host}:${db.port}` — cursor on `host`
  const col = '    url: postgres://${db.h'.length
  const s = symbolAt('app', app, { values: r.value }, 5, col)
  assert.ok(s)
  assert.equal(s.reference, 'db.host')
  assert.equal(s.value?.value, 'db.internal')
  assert.deepEqual([s.definition?.environment, s.definition?.begin.line, s.definition?.begin.column], ['base', 3, 11])
  // cursor on `db` only: the object
  const s2 = symbolAt('app', app, { values: r.value }, 5, '    url: postgres://${d'.length)
  assert.equal(s2?.reference, 'db')
  assert.equal(s2?.definition?.environment, 'base')
  // hover on a plain value: its evaluated value
  const h = symbolAt('app', app, { values: r.value }, 7, '  copy: ${app["weird.key"][1'.length)
  assert.equal(h?.reference, 'app["weird.key"][1]')
  assert.equal(h?.value?.value, 'b')
  const k = symbolAt('app', app, { values: r.value }, 4, 3)
  assert.equal(k?.path, 'values.app')
  assert.equal(typeof k?.value?.value, 'object')
  assert.equal(symbolAt('app', app, { values: r.value }, 1, 1), undefined)
})
