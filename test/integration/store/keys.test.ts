/**
 * Key handling against the real Secret Service (run under test/with-keyring.sh) and a real SQLite file:
 * envelope encryption, KEK rotation, export/import to a "second machine", passphrase and key-file backends.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Entry } from '@napi-rs/keyring'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase, immediate } from '../../../electron/services/store/db.ts'
import { KeyManager } from '../../../electron/services/crypto/key-manager.ts'
import { keychainAccount } from '../../../electron/services/keychain/kek.ts'
import type { KeyConfig } from '../../../electron/services/keychain/kek.ts'
import { UserError } from '../../../shared/errors.ts'

const SERVICE = 'Envelope-test'
// the Secret Service itself, never the in-memory keyutils fallback
const PIN = { linux: { store: 'secret-service' as const } }
const enc = new TextEncoder()
const dec = new TextDecoder()

function freshStore(config: KeyConfig = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'envelope-keys-'))
  const { db, storeId } = openDatabase(dir, join(dir, 'envelope.db'))
  return { dir, db, storeId, keys: new KeyManager(db, storeId, { service: SERVICE, env: {}, ...config }) }
}

/** Registers a data key for a fake environment row so `cipher()` can find it (what create() does). */
async function addEnvKey(keys: KeyManager, db: ReturnType<typeof openDatabase>['db'], project: string, name: string): Promise<string> {
  const dk = await keys.prepareDataKey()
  immediate(db, () => {
    keys.insertDataKey(dk)
    db.prepare('INSERT INTO environments (project, name, created, modified, latest, data_key) VALUES (?, ?, ?, ?, 1, ?)').run(
      project,
      name,
      'now',
      'now',
      dk.id,
    )
  })
  return dk.id
}

function keyOfFrom(db: ReturnType<typeof openDatabase>['db']) {
  return (env: string) => {
    const [project, name] = env.split('/')
    const row = db.prepare('SELECT data_key FROM environments WHERE project = ? AND name = ?').get(project!, name!) as { data_key: string } | undefined
    if (!row) throw new Error(`no ${env}`)
    return row.data_key
  }
}

test('keychain KEK: per-environment data keys, ciphertext bound to its environment', async () => {
  const { db, storeId, keys } = freshStore()
  await addEnvKey(keys, db, 'app', 'dev')
  await addEnvKey(keys, db, 'app', 'prod')
  const status = await keys.status()
  assert.equal(status.backend, 'keychain')
  assert.equal(status.available, true)
  // the KEK really is in the Secret Service under this store's account
  const stored = new Entry(SERVICE, keychainAccount(storeId, status.keyId!), PIN).getPassword()
  assert.equal(Buffer.from(stored!, 'base64').length, 32)

  const cipher = keys.cipher(keyOfFrom(db))
  const ct = await cipher.encrypt(enc.encode('hunter2'), 'app/dev')
  assert.equal(Buffer.from(ct).includes(Buffer.from('hunter2')), false)
  assert.equal(dec.decode(await cipher.decrypt(ct, 'app/dev')), 'hunter2')
  assert.equal(dec.decode(await cipher.decrypt(ct, 'app/dev@3')), 'hunter2', 'a versioned name uses the same key')
  await assert.rejects(cipher.decrypt(ct, 'app/prod'), /not made with the key of app\/prod/)
  const tampered = Buffer.from(ct)
  tampered[tampered.length - 1]! ^= 0x40
  await assert.rejects(cipher.decrypt(tampered, 'app/dev'), /does not authenticate/)
  // the wrapped data keys on disk are not the keys
  const rows = db.prepare('SELECT wrapped FROM data_keys').all() as { wrapped: Uint8Array }[]
  assert.equal(rows.length, 2)
  db.close()
})

test('KEK rotation re-wraps every data key, old secrets still open in a fresh process, old key deleted', async () => {
  const { dir, db, storeId, keys } = freshStore()
  await addEnvKey(keys, db, 'app', 'a')
  await addEnvKey(keys, db, 'app', 'b')
  const cipher = keys.cipher(keyOfFrom(db))
  const ctA = await cipher.encrypt(enc.encode('secret-a'), 'app/a')
  const ctB = await cipher.encrypt(enc.encode('secret-b'), 'app/b')
  const before = db.prepare('SELECT id, kek_id, wrapped FROM data_keys ORDER BY id').all() as { id: string; kek_id: string; wrapped: Uint8Array }[]
  const oldKek = (await keys.status()).keyId!

  const r = await keys.rotate()
  assert.equal(r.rewrapped, 2)
  assert.equal(r.retiredKeyId, oldKek)
  assert.notEqual(r.keyId, oldKek)
  const after = db.prepare('SELECT id, kek_id, wrapped FROM data_keys ORDER BY id').all() as { id: string; kek_id: string; wrapped: Uint8Array }[]
  assert.deepEqual(
    after.map((x) => x.id),
    before.map((x) => x.id),
  )
  for (let i = 0; i < after.length; i++) {
    assert.equal(after[i]!.kek_id, r.keyId)
    assert.notDeepEqual(Buffer.from(after[i]!.wrapped), Buffer.from(before[i]!.wrapped))
  }
  // the old KEK is gone from the keychain
  assert.equal(new Entry(SERVICE, keychainAccount(storeId, oldKek), PIN).getPassword(), null)
  db.close()

  // a fresh process (new connection, empty caches) opens the old ciphertexts with the new KEK only
  const again = openDatabase(dir, join(dir, 'envelope.db'))
  const keys2 = new KeyManager(again.db, again.storeId, { service: SERVICE, env: {} })
  const c2 = keys2.cipher(keyOfFrom(again.db))
  assert.equal(dec.decode(await c2.decrypt(ctA, 'app/a')), 'secret-a')
  assert.equal(dec.decode(await c2.decrypt(ctB, 'app/b')), 'secret-b')
  again.db.close()
})

test('export / import the KEK for a second machine (passphrase-sealed)', async () => {
  const { dir, db, storeId, keys } = freshStore()
  await addEnvKey(keys, db, 'app', 'dev')
  const ct = await keys.cipher(keyOfFrom(db)).encrypt(enc.encode('shared-secret'), 'app/dev')
  const exported = await keys.exportKey('a long passphrase')
  assert.match(exported, /^envelope-key-v1\./)
  const kekId = (await keys.status()).keyId!
  const rawKek = new Entry(SERVICE, keychainAccount(storeId, kekId), PIN).getPassword()!
  assert.equal(exported.includes(rawKek), false, 'the export does not contain the raw key')
  await assert.rejects(keys.exportKey('short'), /the export passphrase is too short \(12 characters at least\): it has 5/)
  await assert.rejects(keys.exportKey('eleven char'), /too short/, 'the same rule as for a passphrase store: 12 characters')
  db.close()

  // "second machine": a copy of the store whose keychain does not have the key
  const dir2 = mkdtempSync(join(tmpdir(), 'envelope-keys-2-'))
  copyFileSync(join(dir, 'envelope.db'), join(dir2, 'envelope.db'))
  new Entry(SERVICE, keychainAccount(storeId, kekId), PIN).deleteCredential()
  const m2 = openDatabase(dir2, join(dir2, 'envelope.db'))
  const keys2 = new KeyManager(m2.db, m2.storeId, { service: SERVICE, env: {} })
  const st = await keys2.status()
  assert.equal(st.available, false)
  assert.match(st.message!, /not in the OS keychain/)
  await assert.rejects(keys2.cipher(keyOfFrom(m2.db)).decrypt(ct, 'app/dev'), (e: unknown) => e instanceof UserError && e.code === 'keychain_unavailable')

  await assert.rejects(keys2.importKey(exported, 'wrong passphrase'), (e: unknown) => e instanceof UserError && e.code === 'unauthorized')
  await assert.rejects(keys2.importKey('garbage', 'a long passphrase'), /not an exported Envelope key/)
  const imp = await keys2.importKey(exported, 'a long passphrase')
  assert.equal(imp.keyId, kekId)
  const keys3 = new KeyManager(m2.db, m2.storeId, { service: SERVICE, env: {} }) // no cache: reads the keychain
  assert.equal(dec.decode(await keys3.cipher(keyOfFrom(m2.db)).decrypt(ct, 'app/dev')), 'shared-secret')

  // a different store refuses a key that is not its own
  const other = freshStore()
  await addEnvKey(other.keys, other.db, 'x', 'y')
  await assert.rejects(other.keys.importKey(exported, 'a long passphrase'), /is not this store's key/)
  m2.db.close()
  other.db.close()
})

test('passphrase backend: scrypt-derived KEK; a wrong passphrase is refused, not silently used', async () => {
  const { dir, db, keys } = freshStore({ passphrase: 'pass phrase one' })
  await addEnvKey(keys, db, 'app', 'dev')
  const ct = await keys.cipher(keyOfFrom(db)).encrypt(enc.encode('pp-secret'), 'app/dev')
  const st = await keys.status()
  assert.equal(st.backend, 'passphrase')
  assert.equal(st.available, true)
  const kek = db.prepare('SELECT params FROM keks').get() as { params: string }
  assert.equal(JSON.parse(kek.params).scrypt.N, 2 ** 16)
  db.close()

  const again = openDatabase(dir, join(dir, 'envelope.db'))
  const wrong = new KeyManager(again.db, again.storeId, { service: SERVICE, env: { ENVELOPE_PASSPHRASE: 'pass phrase two' } })
  await assert.rejects(
    wrong.cipher(keyOfFrom(again.db)).decrypt(ct, 'app/dev'),
    (e: unknown) => e instanceof UserError && e.code === 'unauthorized' && /not the one/.test(e.message),
  )
  const none = new KeyManager(again.db, again.storeId, { service: SERVICE, env: {} })
  await assert.rejects(none.cipher(keyOfFrom(again.db)).decrypt(ct, 'app/dev'), /ENVELOPE_PASSPHRASE is not set/)
  const right = new KeyManager(again.db, again.storeId, { service: SERVICE, env: { ENVELOPE_PASSPHRASE: 'pass phrase one' } })
  assert.equal(dec.decode(await right.cipher(keyOfFrom(again.db)).decrypt(ct, 'app/dev')), 'pp-secret')

  // switch the store from passphrase to the keychain by rotating
  const r = await right.rotate({ backend: 'keychain' })
  assert.equal(r.backend, 'keychain')
  const kc = new KeyManager(again.db, again.storeId, { service: SERVICE, env: {} })
  assert.equal(dec.decode(await kc.cipher(keyOfFrom(again.db)).decrypt(ct, 'app/dev')), 'pp-secret')
  assert.equal((await kc.status()).backend, 'keychain')
  again.db.close()
})

test('key-file backend: the file is created 0600 with a random key; a missing file is a clear error', async () => {
  const keyDir = mkdtempSync(join(tmpdir(), 'envelope-keyfile-'))
  const keyFile = join(keyDir, 'store.key')
  const { dir, db, keys } = freshStore({ keyFile })
  await addEnvKey(keys, db, 'app', 'dev')
  const ct = await keys.cipher(keyOfFrom(db)).encrypt(enc.encode('kf-secret'), 'app/dev')
  assert.equal(statSync(keyFile).mode & 0o777, 0o600)
  assert.equal(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64').length, 32)
  assert.equal((await keys.status()).backend, 'keyfile')
  db.close()

  const again = openDatabase(dir, join(dir, 'envelope.db'))
  const good = new KeyManager(again.db, again.storeId, { env: { ENVELOPE_KEY_FILE: keyFile } })
  assert.equal(dec.decode(await good.cipher(keyOfFrom(again.db)).decrypt(ct, 'app/dev')), 'kf-secret')
  // rotation to a new key file; the old file can then be deleted
  const newFile = join(keyDir, 'store2.key')
  await assert.rejects(good.rotate(), /NEW key file path/)
  const r = await good.rotate({ keyFile: newFile })
  assert.equal(r.rewrapped, 1)
  rmSync(keyFile)
  const afterRotate = new KeyManager(again.db, again.storeId, { env: { ENVELOPE_KEY_FILE: newFile } })
  assert.equal(dec.decode(await afterRotate.cipher(keyOfFrom(again.db)).decrypt(ct, 'app/dev')), 'kf-secret')
  const missing = new KeyManager(again.db, again.storeId, { env: { ENVELOPE_KEY_FILE: join(keyDir, 'nope.key') } })
  await assert.rejects(missing.cipher(keyOfFrom(again.db)).decrypt(ct, 'app/dev'), /does not exist/)
  assert.equal(existsSync(join(keyDir, 'nope.key')), false, 'an existing store never creates a key file by itself')
  again.db.close()
})
