import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeEnvelope, decryptSecrets, encodeEnvelope, encryptSecrets, evaluate, toJSON } from '../../../shared/esc/index.ts'
import { testCipher } from '../../conformance/host.ts'

const CRYPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../esc-conformance/crypt')
const names = readdirSync(CRYPT)
  .filter((f) => f.endsWith('.plaintext.yaml'))
  .map((f) => f.slice(0, -'.plaintext.yaml'.length))

test('the crypt fixtures exist', () => {
  assert.ok(names.length >= 4, `found ${names.length} fixtures in ${CRYPT}`)
})

for (const name of names) {
  const plaintext = readFileSync(join(CRYPT, `${name}.plaintext.yaml`), 'utf8')
  const ciphertext = readFileSync(join(CRYPT, `${name}.ciphertext.yaml`), 'utf8')
  test(`${name}: encrypts to the expected ciphertext document, byte for byte`, async () => {
    const res = await encryptSecrets(plaintext, testCipher)
    assert.deepEqual(res.diagnostics, [])
    assert.equal(res.text, ciphertext)
  })
  test(`${name}: decrypts back to the plaintext document, byte for byte`, async () => {
    const res = await decryptSecrets(ciphertext, testCipher)
    assert.deepEqual(res.diagnostics, [])
    assert.equal(res.text, plaintext)
  })
}

test('envelope: escx header, version 1, payload, CRC-32', () => {
  const payload = new Uint8Array([1, 2, 3, 250])
  const text = encodeEnvelope(payload)
  const raw = Buffer.from(text, 'base64')
  assert.equal(raw.subarray(0, 4).toString('latin1'), 'escx')
  assert.equal(raw.readUInt32BE(4), 1)
  assert.deepEqual([...decodeEnvelope(text)], [...payload])
  // an envelope without checksum (older format) still decodes
  assert.deepEqual([...decodeEnvelope(encodeEnvelope(payload, { checksum: false }))], [...payload])
  assert.throws(() => decodeEnvelope('aGk='), /EOF/)
  assert.throws(() => decodeEnvelope(Buffer.from('nope12345678').toString('base64')), /invalid header/)
  assert.throws(() => decodeEnvelope('!!!!'), /illegal base64 data at input byte 0/)
})

test('a secret that needs quoting round-trips and evaluates to the same plaintext', async () => {
  const secret = 'p@ss: "word" #1\nline2'
  const doc = `values:\n  s:\n    fn::secret: ${JSON.stringify(secret)}\n  f: {x: {fn::secret: ${JSON.stringify(secret)}}}\n`
  const enc = await encryptSecrets(doc, testCipher)
  assert.ok(!enc.text.includes('word'), 'no plaintext left in the encrypted document')
  const dec = await decryptSecrets(enc.text, testCipher)
  const a = await evaluate({ name: 'e', source: dec.text, mode: 'eval', cipher: testCipher })
  const b = await evaluate({ name: 'e', source: enc.text, mode: 'eval', cipher: testCipher })
  assert.deepEqual(toJSON(a.value?.s, { reveal: true }), secret)
  assert.deepEqual(toJSON(b.value?.s, { reveal: true }), secret)
  assert.deepEqual(toJSON(b.value?.f, { reveal: true }), { x: secret })
  assert.deepEqual(toJSON(b.value?.s, { reveal: false }), '[secret]')
})

test('decrypting a corrupt ciphertext is a diagnostic and leaves the document unchanged', async () => {
  const doc = 'values:\n  s:\n    fn::secret:\n      ciphertext: hunter23\n'
  const res = await decryptSecrets(doc, testCipher)
  assert.equal(res.text, doc)
  assert.equal(res.diagnostics.length, 1)
  assert.equal(res.diagnostics[0].summary, 'invalid ciphertext: EOF')
  assert.equal(res.diagnostics[0].range?.begin.line, 4)
})
