import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OpenFailedError, deriveKey, newKey, open, seal } from '../../../electron/services/crypto/aead.ts'

test('seal/open round trip; fresh nonce each time', () => {
  const key = newKey()
  const pt = Buffer.from('s3cr3t value')
  const a = seal(key, pt, Buffer.from('ctx'))
  const b = seal(key, pt, Buffer.from('ctx'))
  assert.notDeepEqual(a, b)
  assert.equal(a.includes(pt), false)
  assert.deepEqual(open(key, a, Buffer.from('ctx')), pt)
})

test('open refuses a wrong key, a wrong context and a flipped bit', () => {
  const key = newKey()
  const sealed = seal(key, Buffer.from('x'), Buffer.from('ctx'))
  assert.throws(() => open(newKey(), sealed, Buffer.from('ctx')), OpenFailedError)
  assert.throws(() => open(key, sealed, Buffer.from('other')), OpenFailedError)
  const bad = Buffer.from(sealed)
  bad[13] = bad[13]! ^ 1
  assert.throws(() => open(key, bad, Buffer.from('ctx')), OpenFailedError)
  assert.throws(() => open(key, Buffer.alloc(5)), OpenFailedError)
})

test('scrypt derivation is deterministic per salt and differs per passphrase', async () => {
  const params = { N: 2 ** 14, r: 8, p: 1, salt: Buffer.from('0123456789abcdef').toString('base64') }
  const a = await deriveKey('correct horse', params)
  assert.equal(a.length, 32)
  assert.deepEqual(await deriveKey('correct horse', params), a)
  assert.notDeepEqual(await deriveKey('wrong horse', params), a)
  assert.notDeepEqual(await deriveKey('correct horse', { ...params, salt: Buffer.from('fedcba9876543210').toString('base64') }), a)
})
