/** The audit events of the use cases (shared/domain/audit.ts): the detail every face records, no secret in it. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { commandName, exportEvent, runEvent } from '../../../shared/domain/audit.ts'

test('runEvent: the detail as recorded since the first releases, `via` / `agent` only when given', () => {
  const base = { environment: 'p/e', revision: 2, command: 'env', variables: 1, files: 0, masked: true }
  assert.deepEqual(runEvent(base), { action: 'run', target: 'p/e', detail: { revision: 2, command: 'env', variables: 1, files: 0, masked: true } })
  assert.deepEqual(runEvent({ ...base, via: 'electron' }).detail?.via, 'electron')
  assert.equal(runEvent({ ...base, agent: true }).detail?.agent, true)
  assert.equal('agent' in (runEvent({ ...base, agent: false }).detail ?? {}), false)
})

test('exportEvent: format, and the file only when one was written', () => {
  assert.deepEqual(exportEvent({ environment: 'p/e', revision: 3, format: 'dotenv' }), {
    action: 'export',
    target: 'p/e',
    detail: { revision: 3, format: 'dotenv' },
  })
  assert.deepEqual(exportEvent({ environment: 'p/e', revision: 3, format: 'json', file: 'out.json' }).detail, { revision: 3, format: 'json', file: 'out.json' })
})

test('commandName: the base name of a POSIX or Windows path', () => {
  assert.equal(commandName('env'), 'env')
  assert.equal(commandName('/usr/bin/env'), 'env')
  assert.equal(commandName('./bin/tool/'), 'tool')
  assert.equal(commandName('C:\\Program Files\\wt.exe'), 'wt.exe')
})
