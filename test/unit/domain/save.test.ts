/**
 * The one save pipeline (shared/domain/save.ts): plaintext secrets are sealed, definitions with errors are
 * refused with positioned diagnostics, a ciphertext of another environment is refused (unless the face
 * accepts it as foreign), a failure of the keys is thrown, never reported as a document problem.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { checkOwnership, prepareSave } from '../../../shared/domain/save.ts'
import { encryptSecrets } from '../../../shared/esc/index.ts'
import { yamlScalar } from '../../../shared/esc/crypt.ts'
import { testKeys, testStorage } from './helpers.ts'

const storage = testStorage({ 'app/base': ['values:\n  host: db.local\n'] })

test('any plaintext secret is sealed: the stored YAML holds ciphertext only', async () => {
  const keys = testKeys()
  await fc.assert(
    fc.asyncProperty(
      fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && s.length > 0),
      async (secret) => {
        const r = await prepareSave({
          environment: 'app/dev',
          text: `values:\n  pw:\n    fn::secret: ${yamlScalar(secret)}\n`,
          keys,
          loadImport: storage.loadImport,
        })
        assert.ok(r.ok, JSON.stringify(r.diagnostics))
        assert.match(r.yaml, /ciphertext: /)
        if (secret.length > 3) assert.ok(!r.yaml.includes(secret), 'no plaintext in the stored YAML')
      },
    ),
    { numRuns: 50 },
  )
})

test('refused with diagnostics: YAML errors, evaluation errors, a missing import, a document over the limit', async () => {
  const keys = testKeys()
  const save = (text: string, maxBytes?: number) =>
    prepareSave({ environment: 'app/dev', text, keys, loadImport: storage.loadImport, ...(maxBytes ? { maxBytes } : {}) })
  const yamlErr = await save('values:\n  a: [1, 2\n')
  assert.equal(yamlErr.ok, false)
  assert.ok(yamlErr.diagnostics[0]?.range, 'a YAML error has a position')
  const evalErr = await save('values:\n  a: ${nope.b}\n')
  assert.equal(evalErr.ok, false)
  assert.equal(evalErr.diagnostics[0]?.range?.begin.line, 2)
  const missing = await save('imports:\n  - app/none\nvalues:\n  a: 1\n')
  assert.equal(missing.ok, false)
  const big = await save(`values:\n  a: ${'x'.repeat(200)}\n`, 100)
  assert.equal(big.ok, false)
  assert.match(big.diagnostics[0]!.summary, /exceeds the maximum size of 100 bytes/)
  // an import that exists is loaded through storage and the definition is accepted; empty text is stored as is
  const ok = await save('imports:\n  - app/base\nvalues:\n  url: https://${host}\n')
  assert.ok(ok.ok, JSON.stringify(ok.diagnostics))
  assert.deepEqual(await save(''), { ok: true, yaml: '', diagnostics: [] })
})

test('ciphertext ownership: a ciphertext made for environment A is refused when saved into B, kept in A', async () => {
  const keys = testKeys()
  await fc.assert(
    fc.asyncProperty(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom('app/b', 'other/a', 'app/a2'), async (secret, into) => {
      const sealed = await encryptSecrets(`values:\n  pw:\n    fn::secret: ${yamlScalar(secret)}\n`, keys.cipher, 'app/a')
      assert.deepEqual(sealed.diagnostics, [])
      const own = await prepareSave({ environment: 'app/a', text: sealed.text, keys, loadImport: storage.loadImport })
      assert.ok(own.ok, JSON.stringify(own.diagnostics))
      assert.equal(own.yaml, sealed.text, 'a stored ciphertext is kept byte for byte')
      const other = await prepareSave({ environment: into, text: sealed.text, keys, loadImport: storage.loadImport })
      assert.equal(other.ok, false)
      const d = other.diagnostics[0]!
      assert.match(d.summary, /belongs to app\/a/)
      assert.equal(d.path, 'values.pw')
      assert.equal(d.range?.begin.line, 4)
    }),
    { numRuns: 30 },
  )
  // a face may accept another environment's payload as foreign (the server: same organization)
  const lenient = testKeys({ foreign: ['app/a'] })
  const sealed = await encryptSecrets('values:\n  pw:\n    fn::secret: x\n', lenient.cipher, 'app/a')
  assert.ok((await prepareSave({ environment: 'app/b', text: sealed.text, keys: lenient, loadImport: storage.loadImport })).ok)
  assert.deepEqual(await checkOwnership(sealed.text, 'app/a', lenient), [])
})

test('a failure of the keys is thrown, not reported as a document problem', async () => {
  const failure = new Error('keychain unavailable')
  await assert.rejects(
    prepareSave({ environment: 'app/dev', text: 'values:\n  pw:\n    fn::secret: x\n', keys: testKeys({ failure }), loadImport: storage.loadImport }),
    /keychain unavailable/,
  )
})
