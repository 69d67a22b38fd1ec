/**
 * Issue 12, rule 13: the app's notices (renderer/src/stores/notices.ts) collapse (an identical notice counts
 * up instead of stacking), are capped (the oldest go first), expire (errors too), and dismiss; a user error
 * carries its own hint and nothing calls user input a bug.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { maxNotices, noticeLifetime, reportError, useNotices } from '../../../renderer/src/stores/notices.ts'
import { UserError } from '../../../shared/errors.ts'

const notices = () => useNotices.getState().notices

test('identical errors collapse, distinct ones are capped, all expire, dismiss removes', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  useNotices.setState({ notices: [] })
  for (let i = 0; i < 5; i++) reportError('Saving a/b', new UserError('invalid_input', 'bad value at values.x'))
  assert.equal(notices().length, 1)
  assert.equal(notices()[0]?.count, 5)
  assert.equal(notices()[0]?.hint, 'correct the input and try again')
  for (let i = 0; i < 10; i++) reportError(`Step ${i}`, new UserError('io', `disk ${i}`))
  assert.equal(notices().length, maxNotices, 'capped')
  assert.deepEqual(
    notices().map((n) => n.what),
    ['Step 7 failed', 'Step 8 failed', 'Step 9 failed'],
    'the newest stay',
  )
  const first = notices()[0]
  if (first) useNotices.getState().dismiss(first.id)
  assert.equal(notices().length, maxNotices - 1)
  t.mock.timers.tick(noticeLifetime.error + 1)
  assert.equal(notices().length, 0, 'errors expire too')
})

test('no notice calls a failure "a bug"', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const logged = t.mock.method(console, 'error', () => undefined)
  useNotices.setState({ notices: [] })
  reportError('Doing x', new Error('boom'))
  reportError('Doing y', new UserError('invalid_input', 'bad'))
  for (const n of notices()) assert.doesNotMatch(`${n.what} ${n.why ?? ''} ${n.hint ?? ''}`, /bug/i)
  assert.equal(logged.mock.callCount(), 1, 'only the unexpected error goes to the console')
})
