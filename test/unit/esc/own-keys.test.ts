/** A key named `__proto__` is data like any other key: evaluation, merging through imports, every output keep it. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { evaluate, objectToJSON } from '../../../shared/esc/index.ts'
import { projectEnvironment, toPlainObject } from '../../../shared/format/index.ts'
import { showSecrets } from '../../../shared/domain/open.ts'

const BASE = 'values:\n  o:\n    __proto__: {fromBase: 1}\n'
const DOC = 'imports:\n  - base\nvalues:\n  o:\n    __proto__: {z: 1}\n  environmentVariables:\n    __proto__: protoval\n    S:\n      fn::secret: s3cr3t\n'

test('__proto__ keys survive evaluation, merging, JSON, plain values, variables and redaction', async () => {
  const res = await evaluate({
    name: 'p/app',
    source: DOC,
    mode: 'eval',
    loader: { load: async (name) => (name === 'base' ? { name: 'p/base', source: BASE } : undefined) },
  })
  assert.deepEqual(res.diagnostics, [])
  const json = objectToJSON(res.value, { reveal: true }) as Record<string, Record<string, unknown>>
  assert.ok(Object.hasOwn(json.o!, '__proto__'))
  assert.equal(JSON.stringify(json.o), '{"__proto__":{"fromBase":1,"z":1}}')
  const plain = toPlainObject(res.value, { reveal: true }) as Record<string, Record<string, unknown>>
  assert.equal(JSON.stringify(plain.environmentVariables), '{"__proto__":"protoval","S":"s3cr3t"}')
  const p = projectEnvironment(res.value, { reveal: true })
  assert.ok(Object.hasOwn(p.variables, '__proto__'))
  assert.equal(p.variables.__proto__, 'protoval')
  const hidden = showSecrets(res.value!, { reveal: false })
  assert.ok(Object.hasOwn(hidden.environmentVariables!.value as object, '__proto__'))
})
