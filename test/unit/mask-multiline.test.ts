/**
 * The output masker with multi-line secrets (issue 12, rules 3 and 12): for any secret set and any chunking,
 * the output holds no secret and no 4+ character line of a multi-line one outside the masks, every other byte
 * is kept, and no prefix of a secret leaves before the masker knows it is not one.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MASK, SecretMasker } from '../../electron/services/launcher/mask.ts'
import { chunked, maskAll, reference, referenceBytes } from './mask-helpers.ts'
import { maskTexts, MIN_SECRET_LINE } from '../../shared/domain/run-plan.ts'

const alphabet = fc.constantFrom('a', 'b', 'c', 'é', '😀', '\n', '\r\n', ' ', 'ab', 'abc', '-', '=')
const str = (max: number, min = 0) => fc.array(alphabet, { minLength: min, maxLength: max }).map((a) => a.join(''))

test('any secret set (multi-line too), any chunking: no secret or 4+ char line of one outside the masks; other bytes kept', () => {
  fc.assert(
    fc.property(
      str(80),
      fc.array(str(12, 1), { minLength: 1, maxLength: 5 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.nat(),
      (noise, secrets, cuts, seed) => {
        // output made of noise with secrets and their lines spliced in
        const lines = secrets.flatMap((s) => s.split(/\r\n|\r|\n/))
        const pieces = [...secrets, ...lines]
        const chars = [...noise]
        for (let k = 0; k < pieces.length; k++) chars.splice((seed * (k + 7)) % (chars.length + 1), 0, pieces[(seed + k) % pieces.length]!)
        const text = chars.join('')
        const set = maskTexts(secrets)
        const out = maskAll(chunked(Buffer.from(text, 'utf8'), cuts), set)
        for (const piece of out.split(MASK)) {
          for (const s of secrets) if (s.length >= 3) assert.ok(!piece.includes(s), `secret ${JSON.stringify(s)} in ${JSON.stringify(out)}`)
          for (const l of lines) if (l.length >= MIN_SECRET_LINE) assert.ok(!piece.includes(l), `line ${JSON.stringify(l)} in ${JSON.stringify(out)}`)
        }
        // every non-secret byte unchanged: the same as replacing over the whole text at once
        assert.equal(out, reference(text, set))
      },
    ),
    { numRuns: 3000 },
  )
})

test('no prefix of a secret is emitted before the masker knows what follows', () => {
  fc.assert(
    fc.property(fc.array(str(10, 3), { minLength: 1, maxLength: 4 }), str(30), fc.nat(), (secrets, noise, seed) => {
      const chars = [...noise]
      chars.splice(seed % (chars.length + 1), 0, [...secrets[seed % secrets.length]!].slice(0, -1).join(''))
      const text = chars.join('')
      const m = new SecretMasker(secrets)
      const secretBytes = secrets.filter((s) => s.length >= 3).map((s) => Buffer.from(s))
      let emitted = Buffer.alloc(0)
      const bytes = Buffer.from(text)
      for (let i = 0; i < bytes.length; i++) {
        emitted = Buffer.concat([emitted, m.push(bytes.subarray(i, i + 1))])
        const seen = bytes.subarray(0, i + 1)
        // whatever comes next, what has left is the start of the right output: in particular when the next
        // bytes complete a secret whose start is at the end of what was seen, that start has not left
        for (const s of secretBytes) {
          for (let len = 1; len < s.length && len <= seen.length; len++) {
            if (!seen.subarray(seen.length - len).equals(s.subarray(0, len))) continue
            const full = referenceBytes(Buffer.concat([seen, s.subarray(len)]), secrets)
            assert.ok(
              full.subarray(0, emitted.length).equals(emitted),
              `${JSON.stringify(emitted.toString())} is not a start of ${JSON.stringify(full.toString())}`,
            )
          }
        }
      }
      emitted = Buffer.concat([emitted, m.flush()])
      assert.equal(emitted.toString(), reference(text, secrets))
    }),
    { numRuns: 1000 },
  )
})

test('maskTexts: whole secrets and each 4+ character line (also trimmed), longest first', () => {
  assert.deepEqual(maskTexts(['-----BEGIN-----\n  QUJDRA==\nxyz\n-----END-----\n']), [
    '-----BEGIN-----\n  QUJDRA==\nxyz\n-----END-----\n',
    '-----BEGIN-----',
    '-----END-----',
    '  QUJDRA==',
    'QUJDRA==',
  ])
  assert.deepEqual(maskTexts(['single-line']), ['single-line'])
})

test('each line of a PEM printed alone is masked, split at every byte', () => {
  const pem = '-----BEGIN KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END KEY-----\n'
  const text = `x=${pem.split('\n')[1]}\nhkiG9w0BAQEFAASC\n`
  const out = maskAll(
    [...Buffer.from(text)].map((b) => Buffer.from([b])),
    maskTexts([pem]),
  )
  assert.equal(out, `x=${MASK}\n${MASK}\n`)
})
