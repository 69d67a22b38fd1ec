import { test } from 'node:test'
import assert from 'node:assert/strict'
import { shareEqual } from '../../../renderer/src/lib/share.ts'

test('shareEqual keeps the identity of unchanged subtrees and returns the new values where they changed', () => {
  const prev = { a: { value: 'x', trace: { line: 1 } }, b: { value: [1, 2, { c: 3 }] }, d: { value: 'old' } }
  const next = JSON.parse(JSON.stringify(prev)) as typeof prev
  next.d.value = 'new'
  const out = shareEqual(prev, next)
  assert.notEqual(out, prev)
  assert.equal(out.a, prev.a)
  assert.equal(out.b, prev.b)
  assert.notEqual(out.d, prev.d)
  assert.deepEqual(out, next)
})

test('shareEqual returns the previous object when everything is equal, and handles shape changes', () => {
  const prev = { a: [1, { b: null }], c: 'x' }
  assert.equal(shareEqual(prev, JSON.parse(JSON.stringify(prev))), prev)
  // a key removed, a key added, array length changed, type changed
  assert.deepEqual(shareEqual(prev, { a: [1] }), { a: [1] })
  assert.deepEqual(shareEqual(prev, { a: [1, { b: null }], c: 'x', d: 1 }), { a: [1, { b: null }], c: 'x', d: 1 })
  assert.deepEqual(shareEqual(prev, { a: { 0: 1 }, c: 'x' }), { a: { 0: 1 }, c: 'x' })
  assert.equal(shareEqual(undefined, prev), prev)
  const arr = [{ x: 1 }, { y: 2 }]
  const arr2 = shareEqual(arr, [{ x: 1 }, { y: 3 }])
  assert.equal(arr2[0], arr[0])
  assert.deepEqual(arr2[1], { y: 3 })
})
