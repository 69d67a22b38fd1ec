/**
 * Key-encryption keys (KEKs): where the key that wraps every environment's data key lives.
 *
 * Three explicit backends, never a silent plain-text fallback:
 * - `keychain`: 32 random bytes in the OS keychain via `@napi-rs/keyring` (Secret Service on Linux,
 *   Keychain on macOS, Credential Manager on Windows). The default.
 * - `passphrase`: derived with scrypt from `ENVELOPE_PASSPHRASE` (salt and cost stored in the store).
 * - `keyfile`: 32 bytes (raw, base64 or hex) in the file named by `ENVELOPE_KEY_FILE`.
 * The backend is a property of the store (recorded with the key); the environment variables only supply
 * the secret material. A new store picks: key file if ENVELOPE_KEY_FILE is set, else passphrase if
 * ENVELOPE_PASSPHRASE is set, else the keychain; a KEK rotation can move it to another backend.
 * One rule for every passphrase being set (a new passphrase store, a rotation to a passphrase, a key
 * export): at least MIN_PASSPHRASE_CHARS characters (checkNewPassphrase); an existing store keeps opening
 * with the passphrase it has. A key file is used only when it is the user's own and nobody else may read
 * or write it, as ssh does with private keys (checkKeyFileAccess), with the `chmod 600` that fixes it.
 */
import type { AsyncEntry } from '@napi-rs/keyring'
import type * as KeyringModule from '@napi-rs/keyring'
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, fstatSync, openSync, readFileSync, writeFileSync, type Stats } from 'node:fs'
import { resolve } from 'node:path'
import { UserError } from '../../../shared/errors.ts'
import { shellQuote } from '../../../shared/format/envfile.ts'
import type { KeyStatus } from '../../../shared/models.ts'
import { KEY_BYTES, defaultScryptParams, deriveKey } from '../crypto/aead.ts'
import type { ScryptParams } from '../crypto/aead.ts'

export type KeyBackend = KeyStatus['backend']

/** How this process reaches keys. Every field is optional: defaults come from the environment variables. */
export interface KeyConfig {
  /** backend for a NEW store or a rotation target; an existing store uses the backend it records */
  backend?: KeyBackend
  /** passphrase for the `passphrase` backend (default: ENVELOPE_PASSPHRASE) */
  passphrase?: string
  /** key file for the `keyfile` backend (default: ENVELOPE_KEY_FILE) */
  keyFile?: string
  /** keychain service name (default `Envelope`); tests use their own */
  service?: string
  /** environment to read (default process.env) */
  env?: Record<string, string | undefined>
}

/** What the store records about a KEK (never the key itself, except its scrypt parameters). */
export interface KekParams {
  /** passphrase backend: scrypt salt and cost */
  scrypt?: ScryptParams
  /** keyfile backend: the path used when the key was created (informational) */
  file?: string
}

const DEFAULT_SERVICE = 'Envelope'

export const ALTERNATIVES_HINT =
  'start or unlock your keyring (gnome-keyring/KWallet, macOS Keychain, Windows Credential Manager), or choose an explicit alternative: ' +
  'set ENVELOPE_PASSPHRASE to derive the key from a passphrase (scrypt), or set ENVELOPE_KEY_FILE to the path of a key file you protect ' +
  '(created with 32 random bytes if it does not exist). Envelope never stores keys in plain text on its own.'

export function keychainDescription(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'macOS Keychain'
  if (platform === 'win32') return 'Windows Credential Manager'
  return 'Secret Service (D-Bus: gnome-keyring, KWallet)'
}

/** `params`: what the store recorded for its key (a key file is found at its recorded path when ENVELOPE_KEY_FILE is not set). */
export function backendDescription(backend: KeyBackend, config: KeyConfig = {}, params: KekParams = {}): string {
  if (backend === 'keychain') return keychainDescription()
  if (backend === 'passphrase') return 'passphrase-derived key (scrypt, ENVELOPE_PASSPHRASE)'
  return `key file ${keyFilePath(config) ?? params.file ?? '(ENVELOPE_KEY_FILE not set)'}`
}

/** The backend a new store would use with this configuration. */
export function configuredBackend(config: KeyConfig = {}): KeyBackend {
  if (config.backend) return config.backend
  const env = config.env ?? process.env
  if (config.keyFile || env.ENVELOPE_KEY_FILE) return 'keyfile'
  if (config.passphrase !== undefined || env.ENVELOPE_PASSPHRASE) return 'passphrase'
  return 'keychain'
}

/** The shortest passphrase accepted wherever one is set: a new passphrase store, a rotation to a passphrase, a key export. */
export const MIN_PASSPHRASE_CHARS = 12

/**
 * Refuses a passphrase being set that is shorter than MIN_PASSPHRASE_CHARS characters (Unicode code
 * points, so `Ωmega` counts 5). `what` says which passphrase (never its value).
 */
export function checkNewPassphrase(passphrase: string, what: string): void {
  const n = [...passphrase].length
  if (n < MIN_PASSPHRASE_CHARS) {
    throw new UserError('invalid_input', `${what} is too short (${MIN_PASSPHRASE_CHARS} characters at least): it has ${n}`, {
      hint: 'a few unrelated words make a long passphrase that is easy to type',
    })
  }
}

/** `path` as one shell word (for a hint to paste): as it is when nothing in it needs quoting. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : shellQuote(path)
}

/**
 * Refuses a key file (`st`: its stat, the file itself, after symlinks) that is not the user's own or that
 * group or others may access at all (mode & 077), as ssh refuses such a private key: whoever can read it
 * can open every secret of the store. Not on Windows (no such modes there).
 */
export function checkKeyFileAccess(path: string, st: Stats, platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32') return
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid) {
    throw new UserError('forbidden', `the key file ${path} belongs to another user (uid ${st.uid}, you are ${uid}): a key file must be your own`, {
      hint: `make a copy of your own and use it: cp ${shellWord(path)} <your file> && chmod 600 <your file>`,
    })
  }
  const mode = st.mode & 0o777
  if ((mode & 0o077) !== 0) {
    throw new UserError(
      'forbidden',
      // (the fix in the message too: a key error met while evaluating reaches the user as a diagnostic, without the hint)
      `the key file ${path} can be accessed by other users (mode ${mode.toString(8).padStart(4, '0')}): it must be readable by you alone (chmod 600 ${shellWord(path)})`,
      { hint: `chmod 600 ${shellWord(path)}` },
    )
  }
}

function passphraseOf(config: KeyConfig): string | undefined {
  const p = config.passphrase ?? (config.env ?? process.env).ENVELOPE_PASSPHRASE
  return p === undefined || p === '' ? undefined : p
}

function keyFilePath(config: KeyConfig): string | undefined {
  const p = config.keyFile ?? (config.env ?? process.env).ENVELOPE_KEY_FILE
  return p ? resolve(p) : undefined
}

/** For a store whose key already lives in the keychain, the alternatives only help after a move. */
const EXISTING_KEY_HINT =
  "start or unlock your keyring (gnome-keyring/KWallet, macOS Keychain, Windows Credential Manager): this store's key lives there. " +
  'To stop depending on it, rotate the key to a passphrase or key-file backend while the keychain works, ' +
  'or import a key exported from another machine (`envelope key import`).'

function keychainError(action: string, err: unknown, existing = false): UserError {
  const why = err instanceof Error ? err.message : String(err)
  return new UserError('keychain_unavailable', `the OS keychain (${keychainDescription()}) is unavailable: cannot ${action} (${why})`, {
    hint: existing ? EXISTING_KEY_HINT : ALTERNATIVES_HINT,
    cause: err,
  })
}

/**
 * A keychain entry (@napi-rs/keyring's Entry API, async flavour). Async because a locked desktop keyring
 * answers only after the user types their password in its unlock prompt: a synchronous call would freeze
 * the Electron main process meanwhile, and keychain calls are never made while holding the store's write
 * lock (that would block the CLI for as long as the prompt is open).
 * On Linux the entry is pinned to the Secret Service: left alone, @napi-rs/keyring silently falls back to
 * the kernel keyutils keyring, which is in-memory only and forgets the key at reboot (= every secret lost).
 * The pinned constructor throws when the Secret Service is unreachable; callers turn that into a clear error.
 */
async function entry(config: KeyConfig, account: string): Promise<AsyncEntry> {
  const { AsyncEntry } = await keyring()
  return new AsyncEntry(config.service ?? DEFAULT_SERVICE, account, { linux: { store: 'secret-service' } })
}

type Keyring = typeof KeyringModule
let keyringModule: Promise<Keyring> | undefined

/**
 * @napi-rs/keyring, loaded on first use (stores whose key is in a file or derived from a passphrase, and
 * commands that need no key, never load the native module). On glibc Linux x64 its binary is loaded
 * directly: the package's loader first probes for musl and tries several paths, which costs about as much
 * as loading the binary itself; anything unexpected falls back to the package's own loader.
 */
function keyring(): Promise<Keyring> {
  keyringModule ??= (async () => {
    if (process.platform === 'linux' && process.arch === 'x64') {
      try {
        return createRequire(import.meta.url)('@napi-rs/keyring-linux-x64-gnu/keyring.linux-x64-gnu.node') as Keyring
      } catch {
        // not installed there, or not a glibc system: the package's loader finds the right binary
      }
    }
    return (await import('@napi-rs/keyring')) as Keyring
  })()
  return keyringModule
}

/** Keychain account name of a KEK: the store id keeps two data folders on one machine apart. */
export function keychainAccount(storeId: string, kekId: string): string {
  return `kek:${storeId}:${kekId}`
}

/**
 * Throws a clear `keychain_unavailable` UserError when the keychain cannot be used right now. Reading is
 * not enough (a locked or missing collection answers "nothing there"), so this writes and deletes a probe.
 */
export async function probeKeychain(config: KeyConfig = {}): Promise<void> {
  try {
    // a unique account: concurrent probes (app + CLI) never touch the same item
    const probe = await entry(config, `probe:${process.pid}:${randomBytes(4).toString('hex')}`)
    await probe.setPassword('probe')
    await probe.deleteCredential()
  } catch (err) {
    throw keychainError('write a test entry', err)
  }
}

function decodeKeyText(bytes: Buffer, where: string): Buffer {
  if (bytes.length === KEY_BYTES) return bytes
  const text = bytes.toString('utf8').trim()
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex')
  const b64 = Buffer.from(text, 'base64')
  if (b64.length === KEY_BYTES && /^[A-Za-z0-9+/=_-]+$/.test(text)) return b64
  throw new UserError('invalid_input', `${where} does not hold a 32-byte key (raw, base64 or hex)`, {
    hint: 'create one with: head -c 32 /dev/urandom | base64 > FILE && chmod 600 FILE',
  })
}

/** Reads a key file: its content must be a key, and the file the user's alone (checked on the file read, not its path). */
function readKeyFile(path: string): Buffer {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const key = decodeKeyText(readFileSync(fd), `key file ${path}`)
    checkKeyFileAccess(path, fstatSync(fd))
    return key
  } catch (err) {
    if (err instanceof UserError) throw err
    throw new UserError('io', `cannot read the key file ${path}: ${(err as Error).message}`, {
      hint: 'check ENVELOPE_KEY_FILE; the file must hold the key this store was created with',
    })
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** A freshly made KEK: the key bytes plus what the store must record. */
export interface NewKek {
  backend: KeyBackend
  key: Buffer
  params: KekParams
}

/** Makes the key material of a new KEK for `backend` (does not touch the keychain yet: see `persistKek`). */
export async function makeKek(backend: KeyBackend, config: KeyConfig): Promise<NewKek> {
  if (backend === 'keychain') {
    await probeKeychain(config)
    return { backend, key: randomBytes(KEY_BYTES), params: {} }
  }
  if (backend === 'passphrase') {
    const passphrase = passphraseOf(config)
    if (!passphrase) {
      throw new UserError('keychain_unavailable', 'the passphrase backend needs a passphrase, and ENVELOPE_PASSPHRASE is not set', {
        hint: 'set ENVELOPE_PASSPHRASE to the passphrase that protects this store',
      })
    }
    // a new key: the passphrase is being set (a new store, a rotation), not only typed again
    checkNewPassphrase(passphrase, config.passphrase === undefined ? 'the passphrase in ENVELOPE_PASSPHRASE' : 'the new passphrase')
    const scrypt = defaultScryptParams()
    return { backend, key: await deriveKey(passphrase, scrypt), params: { scrypt } }
  }
  const path = keyFilePath(config)
  if (!path) throw new UserError('keychain_unavailable', 'the key-file backend needs ENVELOPE_KEY_FILE', { hint: 'set ENVELOPE_KEY_FILE to a key file path' })
  if (existsSync(path)) return { backend, key: readKeyFile(path), params: { file: path } }
  return { backend, key: randomBytes(KEY_BYTES), params: { file: path } }
}

/**
 * Writes the key of a new KEK where its backend keeps it (keychain entry or new key file), BEFORE the
 * store records it. Returns the key actually in place: when another process created the same key file
 * first, that file's key (never overwritten).
 */
export async function persistKek(kek: NewKek, kekId: string, storeId: string, config: KeyConfig): Promise<Buffer> {
  if (kek.backend === 'keychain') {
    try {
      await (await entry(config, keychainAccount(storeId, kekId))).setPassword(kek.key.toString('base64'))
    } catch (err) {
      throw keychainError('store the key', err)
    }
  } else if (kek.backend === 'keyfile' && kek.params.file && !existsSync(kek.params.file)) {
    try {
      // wx: never overwrite a key file that appeared meanwhile; 0600: readable by this user only
      writeFileSync(kek.params.file, kek.key.toString('base64') + '\n', { flag: 'wx', mode: 0o600 })
    } catch (err) {
      if ((err as { code?: string }).code === 'EEXIST') return readKeyFile(kek.params.file)
      throw new UserError('io', `cannot create the key file ${kek.params.file}: ${(err as Error).message}`)
    }
  }
  return kek.key
}

/** Loads an existing KEK from its backend. Throws a UserError saying what is missing and what to do. */
export async function loadKek(backend: KeyBackend, params: KekParams, kekId: string, storeId: string, config: KeyConfig): Promise<Buffer> {
  if (backend === 'keychain') {
    let text: string | null
    try {
      const answer = (await entry(config, keychainAccount(storeId, kekId))).getPassword()
      // the keychain answers on a worker thread (a D-Bus round trip): load what unwrapping needs meanwhile
      // (the CLI's run bundle loads builtins on first use)
      process.getBuiltinModule('node:crypto')
      text = await answer
    } catch (err) {
      throw keychainError('read the store key', err, true)
    }
    if (text === null) {
      throw new UserError('keychain_unavailable', `the store key ${kekId} is not in the OS keychain (${keychainDescription()})`, {
        hint: 'import it from the machine that has it (envelope key export / envelope key import), or restore the keychain',
      })
    }
    return decodeKeyText(Buffer.from(text, 'utf8'), `keychain entry ${kekId}`)
  }
  if (backend === 'passphrase') {
    const passphrase = passphraseOf(config)
    if (!passphrase || !params.scrypt) {
      throw new UserError('keychain_unavailable', 'this store is protected by a passphrase, and ENVELOPE_PASSPHRASE is not set', {
        hint: 'set ENVELOPE_PASSPHRASE to the passphrase this store was created with',
      })
    }
    return deriveKey(passphrase, params.scrypt)
  }
  const path = keyFilePath(config) ?? params.file
  if (!path)
    throw new UserError('keychain_unavailable', 'this store is protected by a key file, and ENVELOPE_KEY_FILE is not set', { hint: 'set ENVELOPE_KEY_FILE' })
  if (!existsSync(path)) {
    throw new UserError('keychain_unavailable', `this store is protected by a key file, and ${path} does not exist`, {
      hint: 'set ENVELOPE_KEY_FILE to the key file this store was created with',
    })
  }
  return readKeyFile(path)
}

/** Deletes a retired KEK from the keychain (no-op for other backends). Returns whether something was deleted. */
export async function forgetKek(backend: KeyBackend, kekId: string, storeId: string, config: KeyConfig): Promise<boolean> {
  if (backend !== 'keychain') return false
  try {
    return await (await entry(config, keychainAccount(storeId, kekId))).deleteCredential()
  } catch (err) {
    throw keychainError('delete the retired key', err)
  }
}

/** Stores imported key bytes for an existing keychain/keyfile KEK. */
export async function storeImportedKek(backend: KeyBackend, key: Buffer, kekId: string, storeId: string, config: KeyConfig): Promise<void> {
  if (backend === 'keychain') {
    await persistKek({ backend, key, params: {} }, kekId, storeId, config)
    return
  }
  if (backend === 'keyfile') {
    const path = keyFilePath(config)
    if (!path) throw new UserError('invalid_input', 'importing into the key-file backend needs ENVELOPE_KEY_FILE')
    if (existsSync(path)) throw new UserError('already_exists', `the key file ${path} already exists; refusing to overwrite it`)
    const written = await persistKek({ backend, key, params: { file: path } }, kekId, storeId, config)
    if (!written.equals(key)) throw new UserError('already_exists', `the key file ${path} appeared meanwhile; refusing to overwrite it`)
    return
  }
  throw new UserError('invalid_input', 'a passphrase-protected store derives its key from the passphrase: there is nothing to import', {
    hint: 'set ENVELOPE_PASSPHRASE to the same passphrase on the other machine',
  })
}
