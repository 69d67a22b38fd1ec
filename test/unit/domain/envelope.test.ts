/**
 * The one secret-payload format (shared/domain/envelope.ts): any payload round trips through both faces'
 * AEADs, the header is authenticated, the legacy layouts of both sides still open, and garbage is refused.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCipheriv, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { bytesOfHex, hexOf, openPayload, parsePayload, payloadHeader, payloadOwner, sealPayload } from '../../../shared/domain/envelope.ts'
import { AEAD } from '../../../electron/services/crypto/aead.ts'
import { DataKeys, KeyRing, LocalKek, payloadEnvironmentId } from '../../../server/keys.ts'
import type { EnvRecord } from '../../../server/db/repository.ts'

const FIXTURES = join(import.meta.dirname, '../../integration/store/fixtures/pre-v3')

test('v3: any plaintext, key id and owner round trip; header fields are what was written', () => {
  const key = randomBytes(32)
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 32 }), fc.string({ maxLength: 60 }), (plain, keyId, owner) => {
      const payload = sealPayload(AEAD, key, keyId, owner, plain)
      assert.equal(payload[0], 3)
      for (const side of ['store', 'server'] as const) {
        const env = parsePayload(payload, side)
        assert.equal(env.version, 3)
        assert.deepEqual([...env.keyId], [...keyId])
        assert.equal(payloadOwner(env), owner)
        assert.deepEqual([...openPayload(AEAD, key, env)], [...plain])
      }
    }),
    { numRuns: 200 },
  )
})

test('v3: changing any header byte (key id or owner) or body byte makes it fail to open', () => {
  const key = randomBytes(32)
  const payload = sealPayload(AEAD, key, bytesOfHex('00112233445566778899aabbccddeeff'), 'app/dev', new TextEncoder().encode('hunter2'))
  const header = payloadHeader(bytesOfHex('00112233445566778899aabbccddeeff'), 'app/dev').length
  fc.assert(
    fc.property(fc.integer({ min: 2, max: payload.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
      // (bytes 1 and 1+16+1 are lengths: changing them may also make the payload unparseable, which is fine)
      const t = Uint8Array.from(payload)
      t[i]! ^= x
      let env
      try {
        env = parsePayload(t, 'store')
      } catch {
        return
      }
      assert.throws(() => openPayload(AEAD, key, env), Error, `byte ${i} (header ${header})`)
    }),
  )
})

test('garbage is refused as an unknown format, never misread', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      for (const side of ['store', 'server'] as const) {
        try {
          const env = parsePayload(bytes, side)
          assert.ok(env.sealed.length >= 28 || (env.version === 1 && side === 'store'), 'a parsed payload has room for nonce and tag')
        } catch (err) {
          assert.match((err as Error).message, /unknown ciphertext format/)
        }
      }
    }),
  )
  assert.throws(() => parsePayload(new Uint8Array([4, 0, 0]), 'server'), /unknown ciphertext format/)
  assert.throws(() => payloadHeader(new Uint8Array(0), 'x'.repeat(256)), /at most 255 bytes/)
})

test('the local store v1 layout (0x01 ‖ key id ‖ nonce ‖ ct ‖ tag, header as AAD) still opens', () => {
  const key = randomBytes(32)
  const keyId = randomBytes(16)
  const header = Buffer.concat([Buffer.from([1]), keyId])
  const v1 = Buffer.concat([header, AEAD.seal(key, Buffer.from('old secret'), header)])
  const env = parsePayload(v1, 'store')
  assert.equal(env.version, 1)
  assert.equal(hexOf(env.keyId), keyId.toString('hex'))
  assert.equal(payloadOwner(env), undefined)
  assert.equal(Buffer.from(openPayload(AEAD, key, env)).toString(), 'old secret')
})

test('server payloads made by the earlier code (v2 and the first format) still decrypt; new ones are v3 and name their environment', async () => {
  const fx = JSON.parse(readFileSync(join(FIXTURES, 'server.json'), 'utf8')) as { kek: string; env: EnvRecord; v2: string; v1: string }
  const keys = new DataKeys(new KeyRing(new LocalKek(Buffer.from(fx.kek, 'base64'))))
  const cipher = await keys.cipher(fx.env)
  const v2 = Buffer.from(fx.v2, 'base64')
  assert.equal(payloadEnvironmentId(v2), fx.env.id)
  assert.equal(Buffer.from(await cipher.decrypt(v2, 'app/dev')).toString(), 'hunter2')
  assert.equal(await keys.unseal(fx.env, fx.v1), 'first-format')
  // a definition payload in the first format (no owner, no AAD) opens too
  const dek = await keys.dek(fx.env)
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', dek, iv)
  const first = Buffer.concat([Buffer.from([1]), iv, c.update('first'), c.final(), c.getAuthTag()])
  assert.equal(Buffer.from(await cipher.decrypt(first, 'app/dev')).toString(), 'first')
  // new payloads: v3, owner = the environment id; refused in another environment
  const v3 = await cipher.encrypt(new TextEncoder().encode('new'), 'app/dev')
  assert.equal(v3[0], 3)
  assert.equal(payloadEnvironmentId(v3), fx.env.id)
  assert.equal(Buffer.from(await cipher.decrypt(v3, 'app/dev')).toString(), 'new')
  const other = await keys.cipher({ ...fx.env, id: '0b7c3f9e-0000-4000-8000-000000000002' })
  await assert.rejects(other.decrypt(v3, 'app/dev'), /encrypted for another environment/)
  await assert.rejects(other.decrypt(v2, 'app/dev'), /encrypted for another environment/)
})
