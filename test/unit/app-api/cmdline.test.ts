import { test } from 'node:test'
import assert from 'node:assert/strict'
import { splitCommandLine } from '../../../shared/cmdline.ts'
import { UserError } from '../../../shared/errors.ts'

test('splitCommandLine: whitespace, quotes, escapes, empty quoted args', () => {
  assert.deepEqual(splitCommandLine(`sh -c 'echo "$HOME"; exit 3'`), ['sh', '-c', 'echo "$HOME"; exit 3'])
  assert.deepEqual(splitCommandLine(`gnome-terminal --  "a b" c\\ d ''`), ['gnome-terminal', '--', 'a b', 'c d', ''])
  assert.deepEqual(splitCommandLine(`"say \\"hi\\""`), ['say "hi"'])
  assert.deepEqual(splitCommandLine('   '), [])
})

test('splitCommandLine: an unterminated quote is an invalid_input error naming the quote', () => {
  assert.throws(
    () => splitCommandLine(`echo 'oops`),
    (e: unknown) => e instanceof UserError && e.code === 'invalid_input' && /unterminated ' quote/.test(e.message),
  )
})
