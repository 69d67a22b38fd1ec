/** Pure helpers behind the editor's completion, hover, go-to-definition and preview (renderer/src/monaco/paths.ts). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { EvalValue } from '../../../shared/esc/host.ts'
import { childKeys, displayValue, importNameOnLine, interpolationAt, lookup, parsePath, resolveEnvName, sectionOf } from '../../../renderer/src/monaco/paths.ts'

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

test('lookup and childKeys walk the evaluated tree', () => {
  assert.equal(lookup(root, ['app', 'ports', 1])?.value, 443)
  assert.equal(lookup(root, ['app', 'nope']), undefined)
  assert.deepEqual(childKeys(root, []), ['app', 'token', 'later', 'stored'])
  assert.deepEqual(childKeys(root, ['app']), ['host', 'dotted.key', 'ports'])
  assert.deepEqual(childKeys(root, ['app', 'ports']), ['[0]', '[1]'])
})

test('displayValue masks secrets unless revealed; an encrypted secret stays [secret], an unknown is [unknown]', () => {
  assert.equal(displayValue(root.token, false), '[secret]')
  assert.equal(displayValue(root.token, true), 'hunter22')
  assert.equal(displayValue(root.later, false), '[unknown]')
  assert.equal(displayValue(root.stored, false), '[secret]')
  assert.equal(displayValue(leaf({ a: leaf('x'), s: leaf('y', { secret: true }) }), false), '{"a":"x","s":"[secret]"}')
})

test('interpolationAt finds the ${} under a 1-based column and skips $${ escapes', () => {
  const line = '  url: https://${app.host}:${app.ports[1]}/$${literal}'
  const at = interpolationAt(line, line.indexOf('app.host') + 2)
  assert.deepEqual(at && { path: at.path, start: at.start }, { path: 'app.host', start: line.indexOf('${') + 1 })
  assert.equal(interpolationAt(line, line.indexOf('ports') + 1)?.path, 'app.ports[1]')
  assert.equal(interpolationAt(line, line.indexOf('literal') + 1), undefined)
  assert.equal(interpolationAt(line, 3), undefined)
})

test('imports: the name on a list line, its section, and resolution in the current project', () => {
  const lines = ['imports:', '  - base@3', '  - other/db: { merge: false }', 'values:', '  a: 1']
  assert.equal(importNameOnLine(lines[1] as string), 'base@3')
  assert.equal(importNameOnLine(lines[2] as string), 'other/db')
  assert.equal(sectionOf(lines, 2), 'imports')
  assert.equal(sectionOf(lines, 4), 'values')
  assert.equal(resolveEnvName('base@3', 'shop'), 'shop/base')
  assert.equal(resolveEnvName('org/other/db', 'shop'), 'other/db')
})
