/**
 * AES-256-GCM sealing and scrypt key derivation (node:crypto), the only primitives the store uses.
 *
 * Sealed layout: 12-byte random nonce || ciphertext || 16-byte tag. Callers bind context (key ids,
 * environment, purpose) through `aad`, so a sealed blob moved to another slot fails to open.
 */
import { KeyObject, createCipheriv, createDecipheriv, createSecretKey, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import type { Aead } from '../../../shared/domain/envelope.ts'

export const KEY_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16

/** Thrown when a sealed blob does not open: wrong key, tampered bytes or wrong context. */
export class OpenFailedError extends Error {
  constructor(message = 'authentication failed (wrong key or corrupted data)') {
    super(message)
    this.name = 'OpenFailedError'
  }
}

export function newKey(): Buffer {
  return randomBytes(KEY_BYTES)
}

/** A key as raw bytes, or as a KeyObject (cheaper when one key seals many values). */
export type AeadKey = Uint8Array | KeyObject

function checkKey(key: AeadKey): void {
  const n = key instanceof KeyObject ? key.symmetricKeySize : key.length
  if (n !== KEY_BYTES) throw new Error(`AES-256 key must be ${KEY_BYTES} bytes`)
}

export function keyObject(key: Uint8Array): KeyObject {
  return createSecretKey(key)
}

export function seal(key: AeadKey, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  checkKey(key)
  const nonce = randomBytes(NONCE_BYTES)
  const c = createCipheriv('aes-256-gcm', key, nonce)
  if (aad) c.setAAD(aad)
  const body = Buffer.concat([c.update(plaintext), c.final()])
  return Buffer.concat([nonce, body, c.getAuthTag()])
}

export function open(key: AeadKey, sealed: Uint8Array, aad?: Uint8Array): Buffer {
  checkKey(key)
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new OpenFailedError('ciphertext too short')
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  const d = createDecipheriv('aes-256-gcm', key, buf.subarray(0, NONCE_BYTES))
  if (aad) d.setAAD(aad)
  d.setAuthTag(buf.subarray(buf.length - TAG_BYTES))
  try {
    return Buffer.concat([d.update(buf.subarray(NONCE_BYTES, buf.length - TAG_BYTES)), d.final()])
  } catch {
    throw new OpenFailedError()
  }
}

/** This AEAD as the domain's payload format uses it (shared/domain/envelope.ts). */
export const AEAD: Aead<AeadKey> = { seal, open }

export interface ScryptParams {
  /** CPU/memory cost (power of two) */
  N: number
  r: number
  p: number
  /** base64 salt */
  salt: string
}

/**
 * scrypt cost for keys derived from a passphrase. The store KEK uses N=2^16, r=8, p=1 (64 MiB, ~0.4-0.7 s
 * on a laptop): every CLI command with ENVELOPE_PASSPHRASE pays it once, so it sits between scrypt's
 * "interactive" 2^14 and OWASP's 2^17. Key exports (offline, one-off, travelling between machines) use
 * 2^17. Parameters are stored with each key, so raising them later only needs a rotation.
 */
export function defaultScryptParams(strength: 'store' | 'export' = 'store'): ScryptParams {
  return { N: strength === 'export' ? 2 ** 17 : 2 ** 16, r: 8, p: 1, salt: randomBytes(16).toString('base64') }
}

export function deriveKey(passphrase: string, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase.normalize('NFC'),
      Buffer.from(params.salt, 'base64'),
      KEY_BYTES,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 16 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    )
  })
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
