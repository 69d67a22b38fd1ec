import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DefinitionError, formatDiagnostic } from '../../../electron/services/store/environment-store.ts'
import { serializeError, fromSerialized, UserError } from '../../../shared/errors.ts'
import type { Diagnostic } from '../../../shared/esc/host.ts'

const at = (line: number, column: number) => ({ line, column, byte: 0 })
const diags: Diagnostic[] = [
  { severity: 'warning', summary: 'just a warning' },
  { severity: 'error', summary: 'unknown property "nope"', path: 'values.a', range: { environment: 'app/dev', begin: at(3, 6), end: at(3, 13) } },
  { severity: 'error', summary: 'cyclic reference to b', path: 'values.b' },
]

test('DefinitionError names the first error with file:line:col and counts the rest', () => {
  const e = new DefinitionError('app/dev', diags)
  assert.equal(e.message, 'app/dev:3:6: unknown property "nope" (and 1 more error); the definition was not saved')
  assert.equal(e.code, 'invalid_input')
  assert.equal(formatDiagnostic('app/dev', diags[2]!), 'app/dev (values.b): cyclic reference to b')
})

test('its diagnostics survive serialization (IPC / HTTP) for editor markers', () => {
  const s = serializeError(new DefinitionError('app/dev', diags))
  assert.equal(s.code, 'invalid_input')
  assert.deepEqual(s.data?.diagnostics, diags)
  const back = fromSerialized(JSON.parse(JSON.stringify(s)))
  assert.ok(back instanceof UserError)
  assert.equal(back.message, s.message)
  // plain user errors carry no data
  assert.equal(serializeError(new UserError('not_found', 'x')).data, undefined)
})
