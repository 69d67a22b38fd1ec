/**
 * The local store's implementation of the domain's key interface (shared/domain/keys.ts): the key manager's
 * per-environment cipher (crypto/key-manager.ts), with each environment's data key looked up in the store.
 */
import { UserError } from '../../../shared/errors.ts'
import type { SecretCipher } from '../../../shared/esc/host.ts'
import type { DomainKeys } from '../../../shared/domain/keys.ts'
import type { KeyManager } from '../crypto/key-manager.ts'
import { parseRef } from '../../../shared/domain/names.ts'
import type { StoreRows } from './rows.ts'

/** Errors that mean "the store key cannot be used", as opposed to a bad ciphertext in one document. */
const KEY_ERRORS = new Set(['keychain_unavailable', 'unauthorized', 'io'])

/** The store's keys for one use case: `failure` is a key error met while the core ran. */
export type StoreKeys = DomainKeys & Required<Pick<DomainKeys, 'failure' | 'warm'>>

/**
 * The keys of one use case; `extra` maps an environment not yet in the store to its (prepared) data key.
 * The core turns decryption failures into diagnostics; a missing or wrong KEK is not a document problem,
 * so such errors are also kept and reported by `failure()` after the core returns.
 */
export function storeKeys(keys: KeyManager, rows: StoreRows, extra?: { id: string; keyId: string }): StoreKeys {
  const keyIdOf = (environment: string): string => {
    const ref = parseRef(environment)
    if (extra && ref.id === extra.id) return extra.keyId
    const env = rows.env(ref)
    if (!env) throw new Error(`environment ${ref.id} does not exist`)
    return env.data_key
  }
  const inner = keys.cipher(keyIdOf)
  let keyError: UserError | undefined
  const trap = (err: unknown): never => {
    if (err instanceof UserError && KEY_ERRORS.has(err.code)) keyError ??= err
    throw err
  }
  const cipher: SecretCipher = {
    encrypt: (p, e) => inner.encrypt(p, e).catch((err: unknown) => trap(err)),
    decrypt: (p, e) => inner.decrypt(p, e).catch((err: unknown) => trap(err)),
    decryptSync: (p, e) => {
      try {
        return inner.decryptSync(p, e)
      } catch (err) {
        return trap(err)
      }
    },
  }
  return { cipher, ownership: inner.ownership, warm: (e) => inner.warm(e), failure: () => keyError }
}
