/** The export use case (shared/domain/export.ts), shared by `envelope env export` and the app's Export dialog. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { EvalValue } from '../../../shared/esc/host.ts'
import type { OpenResult } from '../../../shared/models.ts'
import { UserError } from '../../../shared/errors.ts'
import { countSecrets, planExport } from '../../../shared/domain/export.ts'

const v = (value: EvalValue['value'], extra: Partial<EvalValue> = {}): EvalValue => ({ value, trace: {}, ...extra })
const value: Record<string, EvalValue> = {
  environmentVariables: v({ A: v('a'), S: v('s3cret', { secret: true }) }),
  files: v({ CFG: v('x') }),
  db: v({ pw: v('p4ss', { secret: true }), creds: v([v('u'), v('k')], { secret: true }) }),
}
const opened: OpenResult = { environment: 'p/e', revision: 5, value, diagnostics: [], imports: [] }

test('dotenv/shell: environmentVariables only, files named as skipped, secrets of that part counted', () => {
  const masked = planExport('p/e', opened, 'dotenv', { reveal: false, hint: '' })
  assert.equal(masked.filename, 'p-e.env')
  assert.match(masked.content, /S=.*\[secret\]/)
  assert.ok(!masked.content.includes('s3cret'))
  assert.deepEqual(masked.skippedFiles, ['CFG'])
  assert.equal(masked.secretCount, 1)
  assert.equal(masked.containsSecrets, false)
  const shown = planExport('p/e', opened, 'shell', { reveal: true, hint: '', file: 'out.sh' })
  assert.equal(shown.filename, 'p-e.sh')
  assert.match(shown.content, /s3cret/)
  assert.equal(shown.containsSecrets, true)
  assert.deepEqual(shown.audit, { action: 'export', target: 'p/e', detail: { revision: 5, format: 'shell', file: 'out.sh' } })
})

test('json/yaml: the whole environment, every secret counted (a secret array once), nothing skipped', () => {
  const j = planExport('p/e', opened, 'json', { reveal: true, hint: '' })
  assert.deepEqual(JSON.parse(j.content).db, { pw: 'p4ss', creds: ['u', 'k'] })
  assert.equal(j.secretCount, 3)
  assert.deepEqual(j.skippedFiles, [])
  assert.equal(planExport('p/e', opened, 'yaml', { reveal: false, hint: '' }).filename, 'p-e.yaml')
  assert.equal(countSecrets(value.db), 2)
})

test('an environment with errors is refused with the shared text and the face hint', () => {
  const bad: OpenResult = { ...opened, value: undefined, diagnostics: [{ severity: 'error', summary: 'boom' }] }
  assert.throws(
    () => planExport('p/e', bad, 'json', { reveal: false, hint: 'fix and export again' }),
    (e: unknown) => e instanceof UserError && e.message === 'cannot export p/e: it has 1 error; first: boom' && e.hint === 'fix and export again',
  )
})
