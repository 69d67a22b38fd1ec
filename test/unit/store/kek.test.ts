import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { configuredBackend, loadKek, makeKek } from '../../../electron/services/keychain/kek.ts'
import { UserError } from '../../../shared/errors.ts'

test('a new store picks: explicit backend, else key file, else passphrase, else keychain', () => {
  assert.equal(configuredBackend({ env: {} }), 'keychain')
  assert.equal(configuredBackend({ env: { ENVELOPE_PASSPHRASE: 'x' } }), 'passphrase')
  assert.equal(configuredBackend({ env: { ENVELOPE_PASSPHRASE: 'x', ENVELOPE_KEY_FILE: '/k' } }), 'keyfile')
  assert.equal(configuredBackend({ backend: 'keychain', env: { ENVELOPE_KEY_FILE: '/k' } }), 'keychain')
  assert.equal(configuredBackend({ env: { ENVELOPE_PASSPHRASE: '' } }), 'keychain', 'an empty passphrase is not a choice')
})

test('key files: raw 32 bytes, base64 or hex; anything else is refused with the way to make one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'envelope-kek-unit-'))
  const key = randomBytes(32)
  const forms: Record<string, Buffer | string> = { raw: key, b64: key.toString('base64') + '\n', hex: key.toString('hex') }
  for (const [name, content] of Object.entries(forms)) {
    writeFileSync(join(dir, name), content, { mode: 0o600 })
    assert.deepEqual(await loadKek('keyfile', {}, 'k', 's', { keyFile: join(dir, name), env: {} }), key, name)
  }
  writeFileSync(join(dir, 'short'), 'c2hvcnQ=', { mode: 0o600 })
  await assert.rejects(
    loadKek('keyfile', {}, 'k', 's', { keyFile: join(dir, 'short'), env: {} }),
    (e: unknown) => e instanceof UserError && /does not hold a 32-byte key/.test(e.message) && /urandom/.test(e.hint ?? ''),
  )
})

test('the passphrase backend refuses to start without a passphrase', async () => {
  await assert.rejects(
    makeKek('passphrase', { env: {} }),
    (e: unknown) => e instanceof UserError && e.code === 'keychain_unavailable' && /ENVELOPE_PASSPHRASE is not set/.test(e.message),
  )
  await assert.rejects(loadKek('passphrase', {}, 'k', 's', { env: {} }), /ENVELOPE_PASSPHRASE is not set/)
})
