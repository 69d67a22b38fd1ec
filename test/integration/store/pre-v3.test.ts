/**
 * A store made by the code before the one payload format (fixtures/pre-v3, made by fixtures/pre-v3/make.ts
 * with the earlier main: v1 payloads, a clone sharing its source's data key, an import with secrets) opens,
 * decrypts, clones and saves after the change; new saves write v3, old revisions are left as they were.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EnvironmentStore } from '../../../electron/services/store/environment-store.ts'
import { decodeEnvelope } from '../../../shared/esc/envelope.ts'

const FIXTURES = join(import.meta.dirname, 'fixtures/pre-v3')

function payloads(yaml: string): Uint8Array[] {
  return [...yaml.matchAll(/ciphertext: (\S+)/g)].map((m) => decodeEnvelope(m[1]!))
}

test('a pre-v3 store keeps working: open, decrypt, clone, save (v3 from now on), nothing re-encrypted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'envelope-pre-v3-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'data'), { mode: 0o700 })
  copyFileSync(join(FIXTURES, 'envelope.db'), join(dir, 'data', 'envelope.db'))
  copyFileSync(join(FIXTURES, 'store.key'), join(dir, 'store.key'))
  chmodSync(join(dir, 'store.key'), 0o600) // (a key file others may read is refused)
  const s = new EnvironmentStore({ dataDir: join(dir, 'data'), keys: { keyFile: join(dir, 'store.key'), env: {} }, user: 'test' })
  try {
    const old = (await s.getDefinition('app/dev')).yaml
    assert.deepEqual(
      payloads(old).map((p) => p[0]),
      [1],
      'the fixture holds a v1 payload',
    )
    for (const id of ['app/dev', 'app/copy']) {
      const o = await s.open(id)
      assert.deepEqual(o.diagnostics, [])
      assert.equal(o.value?.pw?.value, 'hunter2')
    }
    const user = await s.open('app/user')
    assert.deepEqual(user.diagnostics, [])
    assert.equal(user.value?.token?.value, 's3cr3t')
    assert.equal(user.value?.pw?.value, 'hunter2', 'an imported v1 secret opens')
    assert.match((await s.getDefinition('app/copy', { decrypt: true })).yaml, /fn::secret: hunter2/)

    // saving the stored (v1) ciphertext again keeps it; a new secret is written as v3
    const r = await s.update('app/copy', `${old}  more:\n    fn::secret: added\n`, { baseRevision: 1 })
    const saved = payloads((await s.getDefinition('app/copy')).yaml)
    assert.deepEqual(
      saved.map((p) => p[0]),
      [1, 3],
    )
    assert.equal((await s.open('app/copy')).value?.more?.value, 'added')
    // a clone of the clone shares the key: both payload versions open there
    await s.clone('app/copy', 'app/copy2')
    const c2 = await s.open('app/copy2')
    assert.deepEqual(c2.diagnostics, [])
    assert.equal(c2.value?.pw?.value, 'hunter2')
    assert.equal(c2.value?.more?.value, 'added')
    assert.equal(r.number, 2)
    // revision 1 is untouched
    assert.equal((await s.getDefinition('app/copy', { version: 1 })).yaml, old)

    // the ciphertext ownership check: app/dev's ciphertext (v1 or v3) is refused in app/user (another data
    // key), with its position; nothing is stored
    const v3 = (await s.getDefinition('app/copy')).yaml
    for (const text of [old, v3]) {
      await assert.rejects(s.update('app/user', text, { baseRevision: 1 }), (err: Error & { diagnostics?: { summary: string; path?: string }[] }) => {
        assert.equal(err.name, 'DefinitionError')
        assert.match(err.diagnostics![0]!.summary, /not made with the key of app\/user.*enter its value again/)
        assert.equal(err.diagnostics![0]!.path, 'values.pw')
        return true
      })
    }
    assert.equal((await s.listRevisions('app/user')).length, 1)
  } finally {
    s.close()
  }
})

test('a key exported from a pre-v3 store opens a copy of it on a second machine', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'envelope-pre-v3-key-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  for (const m of ['one', 'two']) {
    mkdirSync(join(dir, m), { mode: 0o700 })
    copyFileSync(join(FIXTURES, 'envelope.db'), join(dir, m, 'envelope.db'))
  }
  copyFileSync(join(FIXTURES, 'store.key'), join(dir, 'one.key'))
  chmodSync(join(dir, 'one.key'), 0o600)
  const one = new EnvironmentStore({ dataDir: join(dir, 'one'), keys: { keyFile: join(dir, 'one.key'), env: {} }, user: 'test' })
  const exported = await one.exportKey('correct horse battery')
  one.close()
  // the second machine has the store but not its key until the import writes it
  const two = new EnvironmentStore({ dataDir: join(dir, 'two'), keys: { keyFile: join(dir, 'two.key'), env: {} }, user: 'test' })
  try {
    await assert.rejects(two.open('app/dev'))
    await two.importKey(exported, 'correct horse battery')
    const o = await two.open('app/user')
    assert.deepEqual(o.diagnostics, [])
    assert.equal(o.value?.pw?.value, 'hunter2')
  } finally {
    two.close()
  }
})
