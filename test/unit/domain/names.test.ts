/** One set of name rules (shared/domain/names.ts): the local store, the app API, the renderer and the server use it. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  parseRef,
  parseVersion,
  tryParseVersion,
  checkTagName,
  nameError,
  orgNameError,
  tagNameError,
  envIdError,
  envTagKeyError,
  envTagValueError,
  parseImportName,
  importTarget,
  splitRef,
} from '../../../shared/domain/names.ts'
import { UserError } from '../../../shared/errors.ts'

test('parseRef: project/env, legacy env, versions', () => {
  assert.deepEqual(parseRef('app/dev'), { project: 'app', name: 'dev', id: 'app/dev' })
  assert.deepEqual(parseRef('dev'), { project: 'default', name: 'dev', id: 'default/dev' })
  assert.deepEqual(parseRef('app/dev@3'), { project: 'app', name: 'dev', id: 'app/dev', version: '3' })
  assert.deepEqual(parseRef('app/dev@stable'), { project: 'app', name: 'dev', id: 'app/dev', version: 'stable' })
})

test('parseRef: refuses bad names with the offending part named', () => {
  assert.throws(
    () => parseRef('org/app/dev'),
    (e: unknown) => e instanceof UserError && e.code === 'invalid_input' && /organizations/.test(e.message),
  )
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

// The rules every face used before (kept here as the oracle): whatever a face accepted, the one rule accepts.
const OLD_LOCAL_NAME = (s: string) => /^[A-Za-z0-9_.-]{1,100}$/.test(s) && !s.startsWith('.')
const OLD_SERVER_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/
const OLD_LOCAL_TAG = (s: string) => /^[A-Za-z0-9_.-]{1,100}$/.test(s) && !/^[0-9.]/.test(s)
const OLD_SERVER_TAG = (s: string) => /^[A-Za-z0-9_.-][A-Za-z0-9_.:/-]{0,99}$/.test(s) && !/^[0-9]/.test(s)
const OLD_ORG = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{1,38})[A-Za-z0-9]$/
const OLD_ID = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/

const nameChar = fc.constantFrom(...'abcXYZ019_.-:/@ é'.split(''))
const text = fc.string({ unit: nameChar, minLength: 0, maxLength: 8 })
const longText = fc.oneof(text, fc.string({ unit: nameChar, minLength: 95, maxLength: 105 }))
const goodName = fc.string({ unit: fc.constantFrom(...'abcXYZ019_.-'.split('')), minLength: 1, maxLength: 12 }).filter((s) => !s.startsWith('.'))

test('names: local and server project/env rules were the same; the one rule is both', () => {
  fc.assert(
    fc.property(longText, (s) => {
      assert.equal(OLD_LOCAL_NAME(s), OLD_SERVER_NAME.test(s))
      assert.equal(nameError('project', s) === undefined, OLD_SERVER_NAME.test(s))
      assert.equal(nameError('environment', s) === undefined, OLD_SERVER_NAME.test(s))
    }),
    { numRuns: 2000 },
  )
})

test('tags: every tag either side accepted is accepted; the server rule (what ESC accepts) is the rule', () => {
  fc.assert(
    fc.property(longText, (s) => {
      const ok = tagNameError(s) === undefined
      if (OLD_LOCAL_TAG(s)) assert.ok(ok, s)
      assert.equal(ok, OLD_SERVER_TAG(s), s)
    }),
    { numRuns: 3000 },
  )
  for (const t of ['release/v1', 'a:b', '.hidden', '-x', '_y', 'stable']) assert.equal(tagNameError(t), undefined, t)
  for (const t of ['1st', '9', ':a', '/a', 'a b', 'a@b', '', 'x'.repeat(101)]) assert.match(tagNameError(t) ?? '', /^invalid tag name /, t)
})

test('organizations: the server rule, unchanged', () => {
  fc.assert(
    fc.property(fc.string({ unit: nameChar, minLength: 0, maxLength: 45 }), (s) => {
      assert.equal(orgNameError(s) === undefined, OLD_ORG.test(s))
    }),
    { numRuns: 2000 },
  )
  assert.match(orgNameError('ab') ?? '', /invalid organization name "ab"/)
})

test('environment ids (the app): every id the one rule accepts was accepted by the old pattern', () => {
  fc.assert(
    fc.property(text, text, (a, b) => {
      const id = `${a}/${b}`
      if (envIdError(id) === undefined) assert.ok(OLD_ID.test(id), id)
      // and an id of two valid names is valid
      if (nameError('project', a) === undefined && nameError('environment', b) === undefined) assert.equal(envIdError(id), undefined)
    }),
    { numRuns: 2000 },
  )
  assert.match(envIdError('a/b/c') ?? '', /must be project\/name/)
  assert.match(envIdError('app/.x') ?? '', /invalid environment name "\.x"/)
  assert.equal(envIdError('app/dev'), undefined)
})

test('environment tags: 1-255 characters of any text; values at most 4096', () => {
  assert.equal(envTagKeyError('envelope.allow-command'), undefined)
  assert.equal(envTagKeyError('k'.repeat(255)), undefined)
  assert.match(envTagKeyError('') ?? '', /invalid environment tag name/)
  assert.match(envTagKeyError('k'.repeat(256)) ?? '', /at most 255/)
  assert.equal(envTagValueError(''), undefined)
  assert.match(envTagValueError('v'.repeat(4097)) ?? '', /at most 4096/)
})

test('references: parseRef and the server reading agree on every valid reference', () => {
  fc.assert(
    fc.property(
      fc.option(goodName, { nil: undefined }),
      goodName,
      fc.option(
        fc.oneof(
          fc.nat({ max: 999 }).map((n) => String(n + 1)),
          goodName.filter((t) => tagNameError(t) === undefined),
        ),
        { nil: undefined },
      ),
      (p, e, v) => {
        const ref = `${p === undefined ? '' : p + '/'}${e}${v === undefined ? '' : '@' + v}`
        const local = parseRef(ref)
        const server = parseImportName(ref)
        assert.deepEqual(server, { project: local.project, env: local.name, ...(local.version ? { version: local.version } : {}) })
        assert.equal(importTarget(ref, 'default'), local.id)
        assert.deepEqual(splitRef(ref).version, v)
      },
    ),
    { numRuns: 1000 },
  )
})

test('parseRef names the bad part and where it is', () => {
  assert.throws(() => parseRef('a b/dev'), /invalid project name "a b": .* \(in "a b\/dev"\)/)
  assert.throws(() => parseRef('app/dev@rel/v1x y'), /invalid tag name/)
  assert.deepEqual(parseRef('app/dev@release/v1'), { project: 'app', name: 'dev', id: 'app/dev', version: 'release/v1' })
})

test('importTarget: the editor reading of import names', () => {
  assert.equal(importTarget('base@3', 'shop'), 'shop/base')
  assert.equal(importTarget('org/other/db', 'shop'), 'other/db')
  assert.equal(parseImportName('org/other/db'), undefined)
  assert.equal(parseImportName('/x'), undefined)
})

test('tryParseVersion: what the server resolveVersion reads, without throwing', () => {
  assert.deepEqual(tryParseVersion(''), { kind: 'latest' })
  assert.deepEqual(tryParseVersion('12'), { kind: 'number', number: 12 })
  assert.deepEqual(tryParseVersion('release/v1'), { kind: 'tag', tag: 'release/v1' })
  for (const bad of ['3x', '0', 'a b']) assert.equal(tryParseVersion(bad), undefined, bad)
})
