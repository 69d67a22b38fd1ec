/**
 * Writing rotation state back into a definition: only the `state` text changes, the rest of the document
 * (comments, flow spacing, quoting, long lines) stays byte for byte, in block and flow style alike.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { parse } from 'yaml'
import { applyRotationPatches, rotationPathOf } from '../../../electron/providers/rotation.ts'

const S = { current: { user: 'blue', password: { 'fn::secret': 'p2' } }, previous: { user: 'green', password: { 'fn::secret': 'p1' } } }

describe('applyRotationPatches', () => {
  it('replaces an existing block state and keeps everything else byte for byte', () => {
    const src = `# header comment
values:
  long: "a quoted string that is much longer than eighty characters, and must not be folded by any writer"
  flow: {a: 1, b: [x, y]}
  db:
    fn::rotate::postgres:
      inputs: {connection: "\${admin}", users: [blue, green]}   # inline comment
      state:
        current: {user: green, password: {fn::secret: p1}}
  after: 1 # stays
`
    const out = applyRotationPatches(src, [{ environment: 'e', path: 'values.db["fn::rotate::postgres"].state', state: S }])
    assert.equal(
      out,
      `# header comment
values:
  long: "a quoted string that is much longer than eighty characters, and must not be folded by any writer"
  flow: {a: 1, b: [x, y]}
  db:
    fn::rotate::postgres:
      inputs: {connection: "\${admin}", users: [blue, green]}   # inline comment
      state:
        current:
          user: blue
          password:
            fn::secret: p2
        previous:
          user: green
          password:
            fn::secret: p1
  after: 1 # stays
`,
    )
  })

  it('adds a missing state to a block call, at the indentation of its keys', () => {
    const src = 'values:\n  token:\n    fn::rotate::example:\n      inputs:\n        prefix: ak_\n  # trailing comment\n  other: 2\n'
    const out = applyRotationPatches(src, [{ environment: 'e', path: 'values.token["fn::rotate::example"].state', state: { current: { 'fn::secret': 'x' } } }])
    assert.equal(
      out,
      'values:\n  token:\n    fn::rotate::example:\n      inputs:\n        prefix: ak_\n      state:\n        current:\n          fn::secret: x\n  # trailing comment\n  other: 2\n',
    )
    // also at the very end of a file without a final newline
    const end = applyRotationPatches('values:\n  t:\n    fn::rotate::x:\n      inputs: {}', [
      { environment: 'e', path: 'values.t["fn::rotate::x"].state', state: { a: 1 } },
    ])
    assert.equal(end, 'values:\n  t:\n    fn::rotate::x:\n      inputs: {}\n      state:\n        a: 1\n')
  })

  it('writes flow-style calls in flow style, with or without a state, and the long form', () => {
    const src =
      'values:\n  a: {fn::rotate::x: {inputs: {}}}\n  b: {fn::rotate::x: {inputs: {}, state: {current: old}}}   # c\n  c:\n    fn::rotate:\n      provider: x\n      inputs: {}\n      state: {}\n'
    const out = applyRotationPatches(src, [
      { environment: 'e', path: 'values.a["fn::rotate::x"].state', state: { current: 'n1' } },
      { environment: 'e', path: 'values.b["fn::rotate::x"].state', state: { current: 'n2', previous: 'old' } },
      { environment: 'e', path: 'values.c["fn::rotate"].state', state: { current: 'n3' } },
    ])
    assert.equal(
      out,
      'values:\n  a: {fn::rotate::x: {inputs: {}, state: {"current":"n1"}}}\n  b: {fn::rotate::x: {inputs: {}, state: {"current":"n2","previous":"old"}}}   # c\n  c:\n    fn::rotate:\n      provider: x\n      inputs: {}\n      state:\n        current: n3\n',
    )
    assert.deepEqual(parse(out).values.b, { 'fn::rotate::x': { inputs: {}, state: { current: 'n2', previous: 'old' } } })
  })

  it('names rotations by the value that holds them', () => {
    assert.equal(rotationPathOf('values.db["fn::rotate::postgres"].state'), 'values.db')
    assert.equal(rotationPathOf('values.a.b[2]["fn::rotate"].state'), 'values.a.b[2]')
  })
})
