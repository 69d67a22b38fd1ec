/** The CLI entry: the hand-parsed `run` fast path matches what commander would accept, and defers otherwise. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fastRunArgs, main } from '../../../electron/cli/main.ts'
import { fakeCli } from './fake-cli.ts'

test('run fast path: env, optional --, command; mask flags before the env', () => {
  assert.deepEqual(fastRunArgs(['run', 'app/dev', '--', 'sh', '-c', 'echo -h']), { ref: 'app/dev', command: ['sh', '-c', 'echo -h'], mask: true })
  assert.deepEqual(fastRunArgs(['run', 'app/dev', 'true']), { ref: 'app/dev', command: ['true'], mask: true })
  assert.deepEqual(fastRunArgs(['run', '--no-mask', 'app/dev@3', '--', 'env']), { ref: 'app/dev@3', command: ['env'], mask: false })
  assert.deepEqual(fastRunArgs(['run', '-i', 'app/dev', 'vim']), { ref: 'app/dev', command: ['vim'], mask: false })
})

test('anything else goes through commander', () => {
  for (const argv of [
    ['run'],
    ['run', '-h'],
    ['run', '--help', 'x', 'y'],
    ['run', 'app/dev'],
    ['run', 'app/dev', '--'],
    ['run', 'app/dev', '--weird', 'x'],
    ['run', '--', 'x'],
    ['open', 'x'],
    ['env', 'run', 'x', 'y'],
  ]) {
    assert.equal(fastRunArgs(argv), undefined, argv.join(' '))
  }
})

test('usage errors exit 2, help and version exit 0, unexpected failures say so without a stack', async () => {
  const a = fakeCli()
  assert.equal(await main(['run'], a), 2)
  assert.match(a.errText, /missing required argument 'env'/)
  const b = fakeCli()
  assert.equal(await main(['--version'], b), 0)
  assert.equal(b.outText, '0.1.0\n')
  const c = fakeCli()
  assert.equal(await main(['env', 'ls'], c), 1)
  assert.equal(
    c.errText,
    'error: unexpected failure: no store in this test\nhint: this is a bug in envelope; run again with ENVELOPE_DEBUG=1 for details and report it\n',
  )
})
