import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { isoNow } from '../../../electron/services/time.ts'

test('isoNow writes what toISOString writes, for any date', () => {
  fc.assert(
    fc.property(fc.date({ min: new Date(-62198755200000), max: new Date(8640000000000000), noInvalidDate: true }), (d) => {
      assert.equal(isoNow(d), d.toISOString())
    }),
    { numRuns: 5000 },
  )
  assert.equal(isoNow(new Date(0)), '1970-01-01T00:00:00.000Z')
  assert.match(isoNow(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
})
