import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseRef, parseVersion, checkTagName } from '../../../electron/services/store/names.ts'
import { UserError } from '../../../shared/errors.ts'

test('parseRef: project/env, legacy env, versions', () => {
  assert.deepEqual(parseRef('app/dev'), { project: 'app', name: 'dev', id: 'app/dev' })
  assert.deepEqual(parseRef('dev'), { project: 'default', name: 'dev', id: 'default/dev' })
  assert.deepEqual(parseRef('app/dev@3'), { project: 'app', name: 'dev', id: 'app/dev', version: '3' })
  assert.deepEqual(parseRef('app/dev@stable'), { project: 'app', name: 'dev', id: 'app/dev', version: 'stable' })
})

test('parseRef: refuses bad names with the offending part named', () => {
  assert.throws(() => parseRef('org/app/dev'), (e: unknown) => e instanceof UserError && e.code === 'invalid_input' && /organizations/.test(e.message))
  assert.throws(() => parseRef('app/.hidden'), /invalid environment name "\.hidden"/)
  assert.throws(() => parseRef('a b/dev'), /invalid project name "a b"/)
  assert.throws(() => parseRef(''), /required/)
  assert.throws(() => parseRef('app/dev@3x'), /must be a revision number/)
})

test('parseVersion: numbers, tags, latest', () => {
  assert.deepEqual(parseVersion(undefined), { kind: 'latest' })
  assert.deepEqual(parseVersion('latest'), { kind: 'latest' })
  assert.deepEqual(parseVersion(7), { kind: 'number', number: 7 })
  assert.deepEqual(parseVersion('12'), { kind: 'number', number: 12 })
  assert.deepEqual(parseVersion('prod'), { kind: 'tag', tag: 'prod' })
  assert.throws(() => parseVersion(0), /invalid revision number 0/)
  assert.throws(() => parseVersion('0'), /invalid revision/)
})

test('checkTagName: a tag cannot look like a revision number', () => {
  assert.throws(() => checkTagName('1st'), /invalid tag name/)
  assert.throws(() => checkTagName('has space'), /invalid tag name/)
  checkTagName('stable')
  checkTagName('prod-2024_a.b')
})
