/**
 * Envelope encryption for the store: one AES-256-GCM data key per environment, wrapped by the store's
 * key-encryption key (KEK), which lives in the OS keychain (or an explicit passphrase / key file).
 *
 * Rows (see store/db.ts): `keks` records each KEK's backend, parameters and a check blob (a known text
 * sealed with it, to tell a wrong passphrase from a damaged store); `data_keys` holds each data key sealed
 * by the active KEK. Rotating the KEK re-wraps the data keys only: no secret ciphertext changes.
 *
 * Secret payload layout (what `SecretCipher.encrypt` returns, the core wraps it in its `escx` envelope): the
 * one format of shared/domain/envelope.ts (v3, also written by the server), with this store's 16-byte data-key
 * id and the environment's `project/name`; the store's earlier v1 payloads (0x01 ‖ data-key id ‖ nonce ‖ ct ‖
 * tag, header as AAD) are still read.
 */
import { splitRef } from '../../../shared/domain/names.ts'
import { randomBytes } from 'node:crypto'
import type { DatabaseSync } from 'node:sqlite'
import { UserError } from '../../../shared/errors.ts'
import type { KeyStatus } from '../../../shared/models.ts'
import type { SecretCipher } from '../../../shared/esc/host.ts'
import { AEAD, OpenFailedError, deriveKey, defaultScryptParams, keyObject, newKey, open, seal } from './aead.ts'
import { bytesOfHex, openPayload, parsePayload, sealPayload } from '../../../shared/domain/envelope.ts'
import type { SecretEnvelope } from '../../../shared/domain/envelope.ts'
import type { Ownership } from '../../../shared/domain/keys.ts'
import type { KeyObject } from 'node:crypto'
import type { ScryptParams } from './aead.ts'
import {
  backendDescription,
  checkNewPassphrase,
  configuredBackend,
  forgetKek,
  loadKek,
  makeKek,
  persistKek,
  probeKeychain,
  storeImportedKek,
} from '../keychain/kek.ts'
import type { KeyBackend, KeyConfig, KekParams } from '../keychain/kek.ts'
import { immediate } from '../store/db.ts'
import { isoNow } from '../time.ts'

interface KekRow {
  id: string
  backend: KeyBackend
  params: string
  check_blob: Uint8Array
}

interface DataKeyRow {
  id: string
  kek_id: string
  wrapped: Uint8Array
}

/** A data key made outside a transaction, inserted by `insertDataKey` inside one. */
export interface PreparedDataKey {
  id: string
  kekId: string
  wrapped: Buffer
}

const CHECK_TEXT = Buffer.from('envelope key check v1')
const KEY_ID_BYTES = 16
const EXPORT_PREFIX = 'envelope-key-v1.'

/** What a KEK rotation did (for the caller's report and the audit log; never key material). */
export interface KeyRotation {
  /** data keys re-wrapped under the new KEK */
  rewrapped: number
  keyId: string
  retiredKeyId: string
  /** the backend that protects the store now */
  backend: KeyBackend
  /** the backend that protected it before */
  from: KeyBackend
  /** whether the retired KEK's keychain entry was deleted (false for other backends, or when deleting failed) */
  oldKeyRemoved: boolean
}

/** A data key was wrapped by a KEK that another process has rotated away meanwhile: prepare again. */
export class StaleKekError extends Error {
  constructor() {
    super('the store key was rotated by another process')
    this.name = 'StaleKekError'
  }
}

const checkAad = (kekId: string) => Buffer.from(`envelope-kek-check:${kekId}`)
const wrapAad = (dataKeyId: string, kekId: string) => Buffer.from(`envelope-data-key:${dataKeyId}:${kekId}`)
const exportAad = (kekId: string) => Buffer.from(`envelope-key-export:${kekId}`)
const now = isoNow

export class KeyManager {
  readonly #db: DatabaseSync
  readonly #storeId: string
  readonly #config: KeyConfig
  readonly #keks = new Map<string, Buffer>()
  readonly #dataKeys = new Map<string, Buffer>()
  readonly #dataKeyObjects = new Map<string, KeyObject>()
  readonly #pending = new Map<string, Promise<Buffer>>()

  constructor(db: DatabaseSync, storeId: string, config: KeyConfig = {}) {
    this.#db = db
    this.#storeId = storeId
    this.#config = config
  }

  #activeRow(): KekRow | undefined {
    return this.#db.prepare('SELECT id, backend, params, check_blob FROM keks WHERE retired IS NULL').get() as KekRow | undefined
  }

  /** The active key's id and backend, from the store alone (no keychain call); undefined before the first key. */
  activeKeyInfo(): { id: string; backend: KeyBackend } | undefined {
    const row = this.#activeRow()
    return row && { id: row.id, backend: row.backend }
  }

  #row(id: string): KekRow | undefined {
    return this.#db.prepare('SELECT id, backend, params, check_blob FROM keks WHERE id = ?').get(id) as KekRow | undefined
  }

  async #load(row: KekRow): Promise<Buffer> {
    const cached = this.#keks.get(row.id)
    if (cached) return cached
    let p = this.#pending.get(row.id)
    if (!p) {
      p = (async () => {
        const key = await loadKek(row.backend, JSON.parse(row.params) as KekParams, row.id, this.#storeId, this.#config)
        try {
          open(key, row.check_blob, checkAad(row.id))
        } catch (err) {
          if (!(err instanceof OpenFailedError)) throw err
          throw new UserError(
            'unauthorized',
            row.backend === 'passphrase'
              ? 'the passphrase in ENVELOPE_PASSPHRASE is not the one that protects this store'
              : `the key found in the ${backendDescription(row.backend, this.#config)} is not this store's key ${row.id}`,
            { hint: row.backend === 'passphrase' ? 'set ENVELOPE_PASSPHRASE to the right passphrase' : 'restore the right key (envelope key import)' },
          )
        }
        this.#keks.set(row.id, key)
        return key
      })()
      this.#pending.set(row.id, p)
      p.catch(() => undefined).finally(() => this.#pending.delete(row.id))
    }
    return p
  }

  /** The active KEK, created on first use (keychain by default; see keychain/kek.ts for the choice). */
  async activeKek(): Promise<{ id: string; key: Buffer }> {
    const row = this.#activeRow()
    if (row) return { id: row.id, key: await this.#load(row) }
    const made = await makeKek(configuredBackend(this.#config), this.#config)
    const id = randomBytes(8).toString('hex')
    // the key goes where it lives first (no keychain call while holding the write lock), then the row
    const key = await persistKek(made, id, this.#storeId, this.#config)
    const created = immediate(this.#db, () => {
      if (this.#activeRow()) return false // another process initialised the store meanwhile
      this.#db
        .prepare('INSERT INTO keks (id, backend, params, check_blob, created) VALUES (?, ?, ?, ?, ?)')
        .run(id, made.backend, JSON.stringify(made.params), seal(key, CHECK_TEXT, checkAad(id)), now())
      return true
    })
    if (!created) {
      await forgetKek(made.backend, id, this.#storeId, this.#config).catch(() => false) // our unused entry
      return this.activeKek()
    }
    this.#keks.set(id, key)
    return { id, key }
  }

  /** Makes and wraps a new data key (async: may reach the keychain). Insert it with `insertDataKey`. */
  async prepareDataKey(): Promise<PreparedDataKey> {
    const kek = await this.activeKek()
    const id = randomBytes(KEY_ID_BYTES).toString('hex')
    const key = newKey()
    this.#dataKeys.set(id, key)
    return { id, kekId: kek.id, wrapped: seal(kek.key, key, wrapAad(id, kek.id)) }
  }

  /** Inserts a prepared data key; call inside the caller's write transaction. Throws StaleKekError after a concurrent rotation. */
  insertDataKey(p: PreparedDataKey): void {
    if (this.#activeRow()?.id !== p.kekId) {
      this.#keks.delete(p.kekId)
      throw new StaleKekError()
    }
    this.#db.prepare('INSERT INTO data_keys (id, kek_id, wrapped, created) VALUES (?, ?, ?, ?)').run(p.id, p.kekId, p.wrapped, now())
  }

  /** Deletes a data key no environment uses any more (crypto-shredding of a deleted environment). Inside a transaction. */
  dropDataKeyIfUnused(id: string): void {
    this.#db.prepare('DELETE FROM data_keys WHERE id = ? AND NOT EXISTS (SELECT 1 FROM environments WHERE data_key = ?)').run(id, id)
    this.#dataKeys.delete(id)
    this.#dataKeyObjects.delete(id)
  }

  async dataKey(id: string): Promise<Buffer> {
    const cached = this.#dataKeys.get(id)
    if (cached) return cached
    const row = this.#db.prepare('SELECT id, kek_id, wrapped FROM data_keys WHERE id = ?').get(id) as DataKeyRow | undefined
    if (!row) throw new UserError('not_found', `data key ${id} is not in this store`)
    const kekRow = this.#row(row.kek_id)
    if (!kekRow) throw new UserError('invalid_input', `data key ${id} is wrapped by an unknown store key ${row.kek_id}`)
    const key = open(await this.#load(kekRow), row.wrapped, wrapAad(row.id, row.kek_id))
    this.#dataKeys.set(id, key)
    return key
  }

  /**
   * A SecretCipher for the core. `keyOf(environment)` names the data key of an environment (`project/env`,
   * possibly with an `@version` suffix, which is ignored). Payloads are written in the one format of
   * shared/domain/envelope.ts (v3: data-key id + environment); the store's v1 payloads stay readable.
   * Decrypting refuses ciphertext made with another environment's key, like the reference service (a clone
   * shares its source's key, so their payloads open in both). `decryptSync` works once the data key is
   * unwrapped (`warm(environment)` does that ahead of evaluation), so the core evaluates in one round.
   * `ownership` tells the save pipeline whether a payload opens in an environment, without decrypting.
   */
  cipher(keyOf: (environment: string) => string): SecretCipher &
    Required<Pick<SecretCipher, 'decryptSync'>> & {
      warm(environment: string): Promise<void>
      ownership(payload: Uint8Array, environment: string): Ownership
    } {
    // one evaluation asks for the same few environments many times: remember their key ids
    const ids = new Map<string, string>()
    const idOf = (environment: string): string => {
      let id = ids.get(environment)
      if (id === undefined) {
        id = keyOf(stripVersion(environment))
        ids.set(environment, id)
      }
      return id
    }
    /** the parsed payload and its key id, checked against the environment's key */
    const parsed = (ciphertext: Uint8Array, environment: string): { env: SecretEnvelope; keyId: string } => {
      const env = parsePayload(ciphertext, 'store')
      if (env.keyId.length !== KEY_ID_BYTES) throw new Error('unknown ciphertext format')
      const keyId = Buffer.from(env.keyId.buffer, env.keyId.byteOffset, KEY_ID_BYTES).toString('hex') // (faster than hexOf)
      if (keyId !== idOf(environment)) throw new Error(`ciphertext was not made with the key of ${stripVersion(environment)}`)
      return { env, keyId }
    }
    const openIt = (key: KeyObject, env: SecretEnvelope): Uint8Array => {
      try {
        return openPayload(AEAD, key, env)
      } catch (err) {
        if (err instanceof OpenFailedError) throw new Error('ciphertext does not authenticate (corrupted or made with another key)', { cause: err })
        throw err
      }
    }
    // a key that could not be reached while warming is not asked for again (one keychain prompt, not two)
    const unreachable = new Map<string, unknown>()
    const keyFor = (keyId: string): Promise<KeyObject> => (unreachable.has(keyId) ? Promise.reject(unreachable.get(keyId)) : this.#dataKeyObject(keyId))
    return {
      encrypt: async (plaintext, environment) => {
        const keyId = idOf(environment)
        return sealPayload(AEAD, await this.#dataKeyObject(keyId), bytesOfHex(keyId), stripVersion(environment), plaintext)
      },
      decrypt: async (ciphertext, environment) => {
        const { env, keyId } = parsed(ciphertext, environment)
        return openIt(await keyFor(keyId), env)
      },
      decryptSync: (ciphertext, environment) => {
        const { env, keyId } = parsed(ciphertext, environment)
        const key = this.#dataKeyObjects.get(keyId)
        return key ? openIt(key, env) : undefined
      },
      warm: async (environment) => {
        let keyId: string
        try {
          keyId = idOf(environment)
        } catch {
          return // decrypt reports it when a secret of that environment is really needed
        }
        try {
          await this.#dataKeyObject(keyId)
        } catch (err) {
          unreachable.set(keyId, err) // decrypt rethrows it, through the caller's error handling
        }
      },
      ownership: (payload, environment) => {
        try {
          parsed(payload, environment)
          return 'own'
        } catch (err) {
          return {
            refused: `${(err as Error).message}: this secret belongs to another environment (or is damaged); enter its value again instead of copying the ciphertext`,
          }
        }
      },
    }
  }

  async #dataKeyObject(id: string): Promise<KeyObject> {
    let k = this.#dataKeyObjects.get(id)
    if (!k) {
      k = keyObject(await this.dataKey(id))
      this.#dataKeyObjects.set(id, k)
    }
    return k
  }

  /**
   * Rotates the KEK: a new key (same backend unless `target.backend` says otherwise) re-wraps every data
   * key in one transaction; secret ciphertexts are untouched. The retired KEK is then deleted from the
   * keychain (its row stays, marked retired). A key-file target must hold a key other than the current one.
   */
  async rotate(target: KeyConfig = {}): Promise<KeyRotation> {
    const old = await this.activeKek()
    const oldRow = this.#row(old.id)!
    const merged: KeyConfig = { ...this.#config, ...target }
    const backend = target.backend ?? oldRow.backend
    if (backend === 'keyfile' && oldRow.backend === 'keyfile' && !target.keyFile) {
      throw new UserError('invalid_input', 'rotating a key-file key needs a NEW key file path (the old file keeps the old key until rotation is done)', {
        hint: 'pass the new path (it is created with a random key if missing), then delete the old file',
      })
    }
    const made = await makeKek(backend, merged)
    if (made.key.equals(old.key)) {
      // an existing key file given as the target: the current one again (or a copy of it)
      throw new UserError('invalid_input', `the key file ${made.params.file ?? ''} holds the key that protects the store now: that is no rotation`, {
        hint: 'name a path that does not exist yet (it is created, mode 0600, with a new random key)',
      })
    }
    const id = randomBytes(8).toString('hex')
    const rows = this.#db.prepare('SELECT id, kek_id, wrapped FROM data_keys').all() as unknown as DataKeyRow[]
    const plain = new Map<string, Buffer>()
    for (const r of rows) plain.set(r.id, await this.dataKey(r.id))
    // the new key is in place before the store switches to it: a crash in between leaves an unused entry
    const newKey = await persistKek(made, id, this.#storeId, merged)
    let rewrapped: number
    try {
      rewrapped = immediate(this.#db, () => {
        if (this.#activeRow()?.id !== old.id)
          throw new UserError('conflict', 'the store key was rotated by another process meanwhile', { hint: 'check `key status` and retry' })
        const at = now()
        this.#db
          .prepare('INSERT INTO keks (id, backend, params, check_blob, created) VALUES (?, ?, ?, ?, ?)')
          .run(id, backend, JSON.stringify(made.params), seal(newKey, CHECK_TEXT, checkAad(id)), at)
        const update = this.#db.prepare('UPDATE data_keys SET kek_id = ?, wrapped = ? WHERE id = ?')
        const current = this.#db.prepare('SELECT id FROM data_keys').all() as unknown as { id: string }[]
        let n = 0
        for (const { id: dk } of current) {
          const key = plain.get(dk)
          if (!key) throw new UserError('conflict', 'a data key appeared during rotation', { hint: 'retry the rotation' })
          update.run(id, seal(newKey, key, wrapAad(dk, id)), dk)
          n++
        }
        this.#db.prepare('UPDATE keks SET retired = ? WHERE id = ?').run(at, old.id)
        return n
      })
    } catch (err) {
      await forgetKek(backend, id, this.#storeId, merged).catch(() => false)
      throw err
    }
    this.#keks.set(id, newKey)
    this.#keks.delete(old.id)
    // the rotation is committed; a leftover old keychain entry would be harmless
    const oldKeyRemoved = await forgetKek(oldRow.backend, old.id, this.#storeId, merged).catch(() => false)
    return { rewrapped, keyId: id, retiredKeyId: old.id, backend, from: oldRow.backend, oldKeyRemoved }
  }

  /** Where the key is and whether it can be used now (never throws). */
  async status(): Promise<KeyStatus> {
    const row = this.#activeRow()
    const backend = row?.backend ?? configuredBackend(this.#config)
    const description = backendDescription(backend, this.#config, row ? (JSON.parse(row.params) as KekParams) : {})
    try {
      if (row) await this.#load(row)
      else if (backend === 'keychain') await probeKeychain(this.#config)
      else await makeKek(backend, { ...this.#config, env: { ...(this.#config.env ?? process.env) } }).then(() => undefined)
      return { backend, description, available: true, ...(row ? { keyId: row.id } : { message: 'no key yet: one is created on the first save' }) }
    } catch (err) {
      const e = err as UserError
      return {
        backend,
        description,
        available: false,
        ...(row ? { keyId: row.id } : {}),
        message: e.hint && !e.message.includes(e.hint) ? `${e.message}. To fix: ${e.hint}` : e.message,
      }
    }
  }

  /** The active KEK sealed with a passphrase (scrypt + AES-256-GCM), as one line of text for another machine. */
  async exportKey(passphrase: string): Promise<string> {
    checkNewPassphrase(passphrase, 'the export passphrase') // the one rule for a passphrase being set
    const kek = await this.activeKek()
    const scrypt = defaultScryptParams('export')
    const sealed = seal(await deriveKey(passphrase, scrypt), kek.key, exportAad(kek.id))
    const body = { v: 1, storeId: this.#storeId, keyId: kek.id, scrypt, sealed: sealed.toString('base64') }
    return EXPORT_PREFIX + Buffer.from(JSON.stringify(body)).toString('base64url')
  }

  /**
   * Installs an exported KEK on this machine (keychain, or the key file named by ENVELOPE_KEY_FILE). The
   * store must either use that key already (a copied/synced store whose key is missing here) or have no
   * key yet (a fresh store adopts it).
   */
  async importKey(exported: string, passphrase: string): Promise<{ keyId: string; backend: KeyBackend }> {
    const text = exported.trim()
    if (!text.startsWith(EXPORT_PREFIX)) throw new UserError('invalid_input', 'this is not an exported Envelope key (it should start with "envelope-key-v1.")')
    let body: { v: number; keyId: string; scrypt: ScryptParams; sealed: string }
    try {
      body = JSON.parse(Buffer.from(text.slice(EXPORT_PREFIX.length), 'base64url').toString('utf8')) as typeof body
    } catch {
      throw new UserError('invalid_input', 'the exported key is damaged (not readable)')
    }
    let key: Buffer
    try {
      key = open(await deriveKey(passphrase, body.scrypt), Buffer.from(body.sealed, 'base64'), exportAad(body.keyId))
    } catch (err) {
      if (err instanceof OpenFailedError) throw new UserError('unauthorized', 'wrong passphrase for the exported key (or the export is damaged)')
      throw err
    }
    const row = this.#activeRow()
    if (row) {
      if (row.id !== body.keyId) {
        throw new UserError('invalid_input', `the exported key ${body.keyId} is not this store's key ${row.id}`, {
          hint: 'export the key from the machine this store came from',
        })
      }
      try {
        open(key, row.check_blob, checkAad(row.id))
      } catch {
        throw new UserError('invalid_input', `the exported key does not open this store's key check`)
      }
      await storeImportedKek(row.backend, key, row.id, this.#storeId, this.#config)
      this.#keks.set(row.id, key)
      return { keyId: row.id, backend: row.backend }
    }
    const backend = configuredBackend(this.#config)
    const params: KekParams = backend === 'keyfile' ? { file: this.#config.keyFile ?? (this.#config.env ?? process.env).ENVELOPE_KEY_FILE ?? '' } : {}
    await storeImportedKek(backend, key, body.keyId, this.#storeId, this.#config) // a passphrase store throws: explains why
    immediate(this.#db, () => {
      if (this.#activeRow()) throw new UserError('conflict', 'another process created a store key meanwhile', { hint: 'retry the import' })
      this.#db
        .prepare('INSERT INTO keks (id, backend, params, check_blob, created) VALUES (?, ?, ?, ?, ?)')
        .run(body.keyId, backend, JSON.stringify(params), seal(key, CHECK_TEXT, checkAad(body.keyId)), now())
    })
    this.#keks.set(body.keyId, key)
    return { keyId: body.keyId, backend }
  }
}

/** `project/env@3` -> `project/env` */
export function stripVersion(environment: string): string {
  return splitRef(environment).parts.join('/')
}
