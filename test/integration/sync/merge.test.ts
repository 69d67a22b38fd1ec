/**
 * The three-way merge used for sync conflicts: one-sided changes apply as they are, identical changes merge
 * once, overlapping changes become conflict blocks (property-based with fast-check, plus fixed cases).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { threeWay } from '../../../electron/services/sync/merge.ts'

const doc = fc
  .array(fc.constantFrom('a: 1', 'b: 2', 'c: 3', '  - x', '  - y', 'values:', 'secret: s'), { maxLength: 12 })
  .map((l) => (l.length ? l.join('\n') + '\n' : ''))

describe('threeWay', () => {
  it('applies a change made on one side only, whatever the documents', () => {
    fc.assert(
      fc.property(doc, doc, (base, changed) => {
        assert.equal(threeWay(base, changed, base).merged, changed)
        assert.equal(threeWay(base, base, changed).merged, changed)
        assert.equal(threeWay(base, changed, base).conflicts, 0)
      }),
    )
  })

  it('merges the same change made on both sides once', () => {
    fc.assert(
      fc.property(doc, doc, (base, changed) =>
        assert.deepEqual([threeWay(base, changed, changed).merged, threeWay(base, changed, changed).conflicts], [changed, 0]),
      ),
    )
  })

  it('never loses a side: every conflict block holds both versions', () => {
    fc.assert(
      fc.property(doc, doc, doc, (base, l, r) => {
        const m = threeWay(base, l, r)
        const blocks = m.merged.split('<<<<<<< ').length - 1
        assert.equal(blocks, m.conflicts)
        if (m.conflicts === 0) return
        assert.ok(m.merged.includes('=======\n') && m.merged.includes('>>>>>>> '))
      }),
    )
  })

  it('merges disjoint edits and marks overlapping ones', () => {
    const base = 'values:\n  a: 1\n  b: 2\n  c: 3\n  d: 4\n'
    const clean = threeWay(base, base.replace('a: 1', 'a: 10'), base.replace('d: 4', 'd: 40'))
    assert.equal(clean.conflicts, 0)
    assert.equal(clean.merged, 'values:\n  a: 10\n  b: 2\n  c: 3\n  d: 40\n')
    const clash = threeWay(base, base.replace('b: 2', 'b: 20'), base.replace('b: 2', 'b: 21'), { local: 'mine', remote: 'theirs' })
    assert.equal(clash.conflicts, 1)
    assert.equal(clash.merged, 'values:\n  a: 1\n<<<<<<< mine\n  b: 20\n||||||| base\n  b: 2\n=======\n  b: 21\n>>>>>>> theirs\n  c: 3\n  d: 4\n')
    assert.match(clash.localPatch, /^- {2}b: 2$/m)
    assert.match(clash.remotePatch, /^\+ {2}b: 21$/m)
  })
})
