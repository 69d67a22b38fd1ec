/** Secret masking of a child's output: every occurrence replaced, whatever the chunking. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { SecretMasker, maskingStream } from '../../../electron/services/launcher/mask.ts'
import { chunked, maskAll, reference } from '../mask-helpers.ts'

const maskChunks = maskAll

test('masks across arbitrary chunk boundaries (also inside multi-byte characters)', () => {
  const alphabet = fc.constantFrom('a', 'b', 'c', 'é', '😀', '\n', 'ab', 'abc')
  const text = fc.array(alphabet, { maxLength: 60 }).map((a) => a.join(''))
  const secret = fc.array(alphabet, { minLength: 1, maxLength: 5 }).map((a) => a.join(''))
  fc.assert(
    fc.property(text, fc.array(secret, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 10 }), (t, secrets, cuts) => {
      const chunks = chunked(Buffer.from(t, 'utf8'), cuts)
      // the reference works on characters; only compare when secrets are whole-character sequences (always true here)
      assert.equal(maskChunks(chunks, secrets), reference(t, secrets))
    }),
    { numRuns: 3000 },
  )
})

test('a secret split one byte at a time never appears', () => {
  const secret = 'hunter2-Ω-secret'
  const text = `before ${secret} middle ${secret}${secret} after`
  const chunks = [...Buffer.from(text)].map((b) => Buffer.from([b]))
  const out = maskChunks(chunks, [secret])
  assert.equal(out, 'before [secret] middle [secret][secret] after')
})

test('output without secret prefixes is not held back', () => {
  const m = new SecretMasker(['password123'])
  assert.equal(m.push(Buffer.from('hello world\n')).toString(), 'hello world\n')
  // a tail that could start the secret waits for more input
  assert.equal(m.push(Buffer.from('x pass')).toString(), 'x ')
  assert.equal(m.push(Buffer.from('port\n')).toString(), 'passport\n')
})

test('secrets shorter than 3 characters are not masked (as esc run)', () => {
  assert.equal(maskChunks([Buffer.from('a ab abc')], ['ab', 'abc']), 'a ab [secret]')
})

test('the stream form masks and flushes at end', async () => {
  const s = maskingStream(['topsecret'])
  const out: Buffer[] = []
  s.on('data', (d: Buffer) => out.push(d))
  const done = new Promise((r) => s.on('end', r))
  s.write('x top')
  s.write('secr')
  s.end('et y top')
  await done
  assert.equal(Buffer.concat(out).toString(), 'x [secret] y top')
})
