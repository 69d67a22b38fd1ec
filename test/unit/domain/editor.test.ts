/** Editor support: `${}` completions, hover and go-to-definition across imports. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { evaluate } from '../../../shared/esc/index.ts'
import {
  BUILTINS,
  builtinNamed,
  builtinTyped,
  completePath,
  symbolAt,
  importAt,
  importNameTyped,
  openInterpolation,
  sectionAt,
} from '../../../shared/domain/editor.ts'

const base = 'values:\n  db:\n    host: db.internal\n    port: 5432\n    pw: {fn::secret: s3cret}\n'
const app = 'imports:\n  - base\nvalues:\n  app:\n    url: postgres://${db.host}:${db.port}\n    "weird.key": [a, b]\n  copy: ${app["weird.key"][1]}\n'
const loader = {
  async load(name: string) {
    return name === 'base' ? { name, source: base } : undefined
  },
}

test('completions list the keys at a path, with types, secrecy and definitions', async () => {
  const r = await evaluate({ name: 'app', source: app, mode: 'eval', loader })
  assert.deepEqual(r.diagnostics, [])
  const top = completePath({ values: r.value }, '')
  assert.deepEqual(
    top.items.map((i) => i.label),
    ['app', 'copy', 'db'],
  )
  const db = completePath({ values: r.value }, 'db.p')
  assert.equal(db.from, 3)
  assert.deepEqual(
    db.items.map((i) => [i.label, i.detail, !!i.secret]),
    [
      ['port', 'number', false],
      ['pw', 'string', true],
    ],
  )
  assert.equal(db.items[0].def?.environment, 'base')
  assert.equal(db.items[0].def?.begin.line, 4)
  const weird = completePath({ values: r.value }, 'app.')
  assert.deepEqual(
    weird.items.map((i) => i.insertText),
    ['url', '["weird.key"]'],
  )
  const idx = completePath({ values: r.value }, 'app["weird.key"][')
  assert.deepEqual(
    idx.items.map((i) => i.insertText),
    ['[0]', '[1]'],
  )
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

test('symbolAt: keys and builtins under the cursor, quoted scalars at the columns the user sees, the nearest definition', async () => {
  const src = 'values:\n  a: "x ${b.c} y"\n  b: {c: 1}\n  s:\n    fn::secret: hi\n  u:\n    fn::foo: 1\n  o:\n    fn::open::test: {x: "${b.c}"}\n'
  const line2 = '  a: "x ${b.c} y"'
  const q = symbolAt('e', src, { values: undefined }, 2, line2.indexOf('c}') + 1)
  assert.deepEqual([q?.reference, q?.range.begin.column, q?.range.end.column], ['b.c', line2.indexOf('${') + 1, line2.indexOf('} y') + 2])
  assert.equal(symbolAt('e', src, { values: undefined }, 5, 8)?.key?.name, 'fn::secret')
  assert.equal(symbolAt('e', src, { values: undefined }, 7, 8)?.key?.name, 'fn::foo')
  assert.equal(symbolAt('e', src, { values: undefined }, 9, 8)?.key?.name, 'fn::open::test')
  assert.equal(symbolAt('e', src, { values: undefined }, 3, 3)?.key?.name, 'b')
  // a reference into a value without a definition of its own: the nearest enclosing definition
  const r = await evaluate({ name: 'app', source: app, mode: 'eval', loader })
  const opaque = { ...r.value!, db: { ...r.value!.db!, value: { ...(r.value!.db!.value as object), host: { value: 'h', trace: {} } } } }
  const s = symbolAt('app', app, { values: opaque }, 5, '    url: postgres://${db.h'.length)
  assert.deepEqual([s?.reference, s?.value?.value], ['db.host', 'h'])
  assert.equal(s?.definition?.environment, 'base')
  assert.deepEqual(s?.definition, r.value!.db!.trace.def)
})

test('completion facts: an open ${, the section, a typed import, a typed builtin; unfiltered completion', async () => {
  assert.equal(openInterpolation('  a: ${app.d'), 'app.d')
  assert.equal(openInterpolation('  a: ${app}.d'), undefined)
  assert.equal(openInterpolation('  a: plain'), undefined)
  assert.equal(sectionAt(['imports:', '  - a', 'values:', '  x: 1'], 1), 'imports')
  assert.equal(importNameTyped('  - proj/ba'), 'proj/ba')
  assert.equal(importNameTyped('  - '), '')
  assert.equal(importNameTyped('  x: 1'), undefined)
  assert.equal(builtinTyped('  fn::se', false), 'fn::se')
  assert.equal(builtinTyped('  f', false), 'f')
  assert.equal(builtinTyped('  a: ', true), '')
  assert.equal(builtinTyped('  a: ', false), undefined)
  assert.equal(builtinNamed('fn::secret')?.name, 'fn::secret')
  assert.equal(builtinNamed('fn::open::aws-login')?.name, 'fn::open::')
  assert.equal(builtinNamed('fn::nope'), undefined)
  assert.ok(BUILTINS.length >= 14)
  const r = await evaluate({ name: 'app', source: app, mode: 'eval', loader })
  const all = completePath({ values: r.value }, 'db.p', { filter: false })
  assert.deepEqual([all.from, all.items.map((i) => i.label)], [3, ['host', 'port', 'pw']])
  assert.equal(all.items[1]?.value.value, 5432)
  // a key that is not a bare name is inserted quoted; a hyphenated one is bare, as ${a-b} reads it
  assert.deepEqual(
    completePath({ values: { 'a-b': { value: 1, trace: {} }, 'x y': { value: 2, trace: {} } } }, '').items.map((i) => i.insertText),
    ['a-b', '["x y"]'],
  )
})

test('importAt: the import declared on a line', () => {
  const src = 'imports:\n  - base@3\n  - other/db: {merge: false}\nvalues:\n  a: 1\n'
  assert.equal(importAt('e', src, 2)?.name, 'base@3')
  assert.equal(importAt('e', src, 3)?.name, 'other/db')
  assert.equal(importAt('e', src, 5), undefined)
})
