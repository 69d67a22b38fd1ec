/**
 * The byte layout of a secret payload (what `SecretCipher.encrypt` returns; the language core wraps it in
 * its `escx` text envelope). ONE format, written by the local store and the team server alike:
 *
 *   v3: 0x03 ‖ key-id length (1) ‖ key id ‖ owner length (1) ‖ owner (UTF-8) ‖ nonce (12) ‖ ciphertext ‖ tag (16)
 *       AAD = everything before the nonce (the header): neither the key id nor the owner can be swapped.
 *
 * - `keyId` names the data key that sealed it (the local store: its 16-byte data-key id, shared by an
 *   environment and its clones; the server: empty, as every environment has exactly one data key, found by owner).
 * - `owner` names the environment it was sealed for (the local store: `project/name`; the server: the
 *   environment's id), so the save pipeline can refuse a ciphertext this environment cannot open (save.ts).
 *
 * Older payloads stay readable, nothing is re-encrypted (readers keep both legacy layouts):
 *   v1 (local store): 0x01 ‖ data-key id (16) ‖ nonce ‖ ct ‖ tag, AAD = the 17-byte header;
 *   v1 (server):      0x01 ‖ nonce ‖ ct ‖ tag, no AAD (the first server format: the byte 0x01 alone cannot
 *                     tell it from the local v1, so the reader says which side it is on);
 *   v2 (server):      0x02 ‖ id length (1) ‖ environment id ‖ nonce ‖ ct ‖ tag, AAD = the id.
 *
 * The AEAD itself (AES-256-GCM) is Node code (electron/services/crypto/aead.ts, server/keys.ts), injected
 * through `Aead`: this module is pure and only defines the layout, its parsing and the AAD.
 */

export const PAYLOAD_VERSION = 3
export const NONCE_BYTES = 12
export const TAG_BYTES = 16
/** key ids and owners are at most this many bytes (one length byte each) */
export const MAX_FIELD_BYTES = 255

/** Which side wrote a legacy v1 payload (the two v1 layouts differ behind the same version byte). */
export type LegacySide = 'store' | 'server'

/** A parsed payload: the AEAD's input (`sealed` = nonce ‖ ciphertext ‖ tag) and what it says about itself. */
export interface SecretEnvelope {
  version: 1 | 2 | 3
  /** the data key's id (v3, local v1); empty when the writer has one key per environment */
  keyId: Uint8Array
  /**
   * the UTF-8 bytes of the environment it was sealed for (v2, v3); undefined in v1 payloads. Decoded by
   * `payloadOwner` (a reader that only needs the key id pays nothing for it).
   */
  ownerBytes: Uint8Array | undefined
  /** additional authenticated data (empty for the server's v1) */
  aad: Uint8Array
  /** nonce ‖ ciphertext ‖ tag */
  sealed: Uint8Array
}

/**
 * AES-256-GCM as the domain needs it (the Node faces implement it with node:crypto). `seal` returns
 * nonce ‖ ciphertext ‖ tag; `open` throws when the bytes do not authenticate.
 */
export interface Aead<K> {
  seal(key: K, plaintext: Uint8Array, aad: Uint8Array): Uint8Array
  open(key: K, sealed: Uint8Array, aad: Uint8Array): Uint8Array
}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder('utf-8')

/** The v3 header (also its AAD) for a payload sealed with data key `keyId` for environment `owner`. */
export function payloadHeader(keyId: Uint8Array, owner: string): Uint8Array {
  const o = utf8.encode(owner)
  if (keyId.length > MAX_FIELD_BYTES) throw new Error(`a data-key id is at most ${MAX_FIELD_BYTES} bytes (got ${keyId.length})`)
  if (o.length > MAX_FIELD_BYTES) throw new Error(`an environment id in a secret payload is at most ${MAX_FIELD_BYTES} bytes (got ${o.length})`)
  const h = new Uint8Array(3 + keyId.length + o.length)
  h[0] = PAYLOAD_VERSION
  h[1] = keyId.length
  h.set(keyId, 2)
  h[2 + keyId.length] = o.length
  h.set(o, 3 + keyId.length)
  return h
}

/** Seals `plaintext` in the v3 format. */
export function sealPayload<K>(aead: Aead<K>, key: K, keyId: Uint8Array, owner: string, plaintext: Uint8Array): Uint8Array {
  const header = payloadHeader(keyId, owner)
  const sealed = aead.seal(key, plaintext, header)
  const out = new Uint8Array(header.length + sealed.length)
  out.set(header, 0)
  out.set(sealed, header.length)
  return out
}

/** Opens a parsed payload (any version) with its data key; throws when it does not authenticate. */
export function openPayload<K>(aead: Aead<K>, key: K, env: SecretEnvelope): Uint8Array {
  return aead.open(key, env.sealed, env.aad)
}

const MIN_SEALED = NONCE_BYTES + TAG_BYTES

/**
 * Parses a payload of any version. `legacy` says which side's v1 layout a 0x01 payload has. Throws
 * `unknown ciphertext format` for anything else (too short, unknown version, bad lengths).
 */
export function parsePayload(payload: Uint8Array, legacy: LegacySide): SecretEnvelope {
  const bad = (): never => {
    throw new Error('unknown ciphertext format')
  }
  const v = payload[0]
  if (v === 3) {
    if (payload.length < 3) bad()
    const k = payload[1]!
    const keyEnd = 2 + k
    if (payload.length < keyEnd + 1) bad()
    const headerEnd = keyEnd + 1 + payload[keyEnd]!
    if (payload.length < headerEnd + MIN_SEALED) bad()
    return {
      version: 3,
      keyId: payload.subarray(2, keyEnd),
      ownerBytes: payload.subarray(keyEnd + 1, headerEnd),
      aad: payload.subarray(0, headerEnd),
      sealed: payload.subarray(headerEnd),
    }
  }
  if (v === 2) {
    if (payload.length < 2) bad()
    const n = payload[1]!
    if (payload.length < 2 + n + MIN_SEALED) bad()
    const idBytes = payload.subarray(2, 2 + n)
    return {
      version: 2,
      keyId: new Uint8Array(0),
      ownerBytes: idBytes,
      aad: idBytes,
      sealed: payload.subarray(2 + n),
    }
  }
  if (v === 1 && legacy === 'store') {
    const header = 1 + 16
    if (payload.length <= header) bad()
    return { version: 1, keyId: payload.subarray(1, header), ownerBytes: undefined, aad: payload.subarray(0, header), sealed: payload.subarray(header) }
  }
  if (v === 1 && legacy === 'server') {
    if (payload.length < 1 + MIN_SEALED) bad()
    return { version: 1, keyId: new Uint8Array(0), ownerBytes: undefined, aad: new Uint8Array(0), sealed: payload.subarray(1) }
  }
  return bad()
}

/** The environment a payload was sealed for (v2, v3), or undefined (v1); bytes that are not UTF-8 decode to U+FFFD, matching no id. */
export function payloadOwner(env: SecretEnvelope): string | undefined {
  return env.ownerBytes && fromUtf8.decode(env.ownerBytes)
}

/** Lower-case hex of a key id (the local store keeps data-key ids as hex text). */
export function hexOf(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

/** The bytes of a hex key id. */
export function bytesOfHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new Error('a data-key id must be hex')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}
