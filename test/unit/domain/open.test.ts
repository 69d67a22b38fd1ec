/**
 * The one open pipeline (shared/domain/open.ts): versions resolve through storage, imports load through it,
 * eval mode decrypts (check mode does not), the providers used are reported, secrets are redacted unless
 * shown, and a failure of the keys is thrown.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { evaluateDocument, openEnvironment, showSecrets } from '../../../shared/domain/open.ts'
import { encryptSecrets, toJSON } from '../../../shared/esc/index.ts'
import { yamlScalar } from '../../../shared/esc/crypt.ts'
import type { ProviderRegistry } from '../../../shared/esc/host.ts'
import { testKeys, testStorage } from './helpers.ts'

test('opens the resolved version with its imports; eval decrypts, check does not; secrets redacted unless shown', async () => {
  const keys = testKeys()
  await fc.assert(
    fc.asyncProperty(fc.string({ minLength: 1, maxLength: 30 }), async (secret) => {
      const base = (await encryptSecrets(`values:\n  pw:\n    fn::secret: ${yamlScalar(secret)}\n`, keys.cipher, 'app/base')).text
      const storage = testStorage(
        { 'app/base': [base], 'app/dev': ['values:\n  a: 1\n', 'imports:\n  - app/base@stable\nvalues:\n  a: 2\n'] },
        { 'app/base:stable': 1 },
      )
      const opened = await openEnvironment(storage, { environment: 'app/dev', mode: 'eval', keys })
      assert.deepEqual(opened.diagnostics, [])
      assert.equal(opened.revision, 2)
      assert.deepEqual(opened.imports, ['app/base@stable'])
      assert.equal(toJSON(opened.value!.pw, { reveal: true }), secret)
      assert.equal(showSecrets(opened.value!, { reveal: false }).pw!.value, '[secret]')
      assert.equal(showSecrets(opened.value!, { reveal: true }).pw!.value, secret)
      const first = await openEnvironment(storage, { environment: 'app/dev', version: 1, mode: 'eval', keys })
      assert.equal(toJSON(first.value!.a, { reveal: true }), 1)
      const checked = await openEnvironment(storage, {
        environment: 'app/dev',
        mode: 'check',
        keys: { ...keys, cipher: { ...keys.cipher, decrypt: () => Promise.reject(new Error('check mode must not decrypt')) } },
      })
      assert.deepEqual(checked.diagnostics, [])
    }),
    { numRuns: 20 },
  )
})

test('a missing or retracted version is the storage error; the providers looked up are reported', async () => {
  const storage = testStorage({ 'app/dev': ['values:\n  a: 1\n', 'values:\n  a: 2\n'] }, {}, ['app/dev@1'])
  await assert.rejects(openEnvironment(storage, { environment: 'app/dev', version: 1, mode: 'eval', keys: testKeys() }), /no readable revision 1/)
  const providers: ProviderRegistry = { provider: (n) => (n === 'test' ? { open: async () => ({ x: 1 }) } : undefined), rotator: () => undefined }
  const r = await evaluateDocument({
    name: 'app/p',
    source: 'values:\n  o:\n    fn::open::test: {}\n',
    mode: 'eval',
    keys: testKeys(),
    loadImport: storage.loadImport,
    providers,
  })
  assert.deepEqual(r.diagnostics, [])
  assert.deepEqual(r.providers, ['test'])
})

test('warm is asked for every document holding secrets before an eval decrypts; a key failure is thrown', async () => {
  const keys = testKeys()
  const base = (await encryptSecrets('values:\n  pw:\n    fn::secret: x\n', keys.cipher, 'app/base')).text
  const storage = testStorage({ 'app/base': [base], 'app/dev': [`imports:\n  - app/base\n${base}`] })
  const warmed: string[] = []
  const r = await openEnvironment(storage, { environment: 'app/dev', mode: 'eval', keys: { ...keys, warm: async (e) => void warmed.push(e) } })
  assert.deepEqual(warmed, ['app/dev', 'app/base'])
  assert.match(r.diagnostics[0]?.summary ?? '', /not a secret of app\/dev/, 'a copied ciphertext does not open in another environment')
  await assert.rejects(
    openEnvironment(storage, { environment: 'app/base', mode: 'eval', keys: testKeys({ failure: new Error('wrong store key') }) }),
    /wrong store key/,
  )
})
