/**
 * The key/cipher interface the use cases (open.ts, save.ts) are written over. Each face implements it on
 * its own key hierarchy (the local store: a KEK in the OS keychain wrapping one data key per environment,
 * electron/services/crypto/key-manager.ts; the server: a KEK or KMS wrapping one data key per environment,
 * server/keys.ts); both write the one payload format of envelope.ts.
 */
import type { SecretCipher } from '../esc/host.ts'

/**
 * Whether a payload found in a definition saved into an environment may stay there:
 * - `own`: sealed with this environment's data key (or, locally, a clone's shared key): it opens here;
 * - `foreign`: another environment's payload that the face accepts (the server: an environment of the same
 *   organization; using it checks the caller's role there, every time), after authenticating it with its
 *   owner's key (a corrupted one is refused: save.ts authenticates only `own` payloads itself);
 * - a string: the reason it is refused (another environment's, unknown format, …), shown to the user.
 */
export type Ownership = 'own' | 'foreign' | { refused: string }

/** The keys of one face, as the domain's use cases need them. */
export interface DomainKeys {
  /** the cipher of an evaluation: encrypts for the named environment, decrypts its own payloads */
  cipher: SecretCipher
  /**
   * Says whether a payload may be saved in `environment` (save.ts calls it for every ciphertext the input
   * already held; the ones it just sealed are its own by construction). Never decrypts: save.ts then
   * authenticates an `own` payload with `cipher.decrypt` (dropping the plaintext), so a corrupted one,
   * or one merely claiming this environment's key id or owner, is refused too.
   */
  ownership(payload: Uint8Array, environment: string): Ownership | Promise<Ownership>
  /**
   * Gets the keys of `environment` at hand before an evaluation decrypts its secrets (the local store
   * unwraps its data key, so the core decrypts in one synchronous round). Never throws: a key that cannot
   * be reached is reported when a secret needs it.
   */
  warm?(environment: string): Promise<void>
  /**
   * A failure of the keys themselves (keychain unavailable, wrong store key) met while the core ran: the
   * core reports a failed decryption as a diagnostic of the document, but this is no document problem, so
   * the use case throws it instead.
   */
  failure?(): Error | undefined
}
