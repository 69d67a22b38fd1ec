/**
 * The `escx` ciphertext envelope: base64 of the bytes `escx`, a 4-byte big-endian version (1), the
 * (encrypted) payload, then, in newer envelopes, a CRC-32 (IEEE) of everything before it.
 */
import { base64ToBytes, bytesToBase64 } from './base64.ts'

export const ENVELOPE_MAGIC = [0x65, 0x73, 0x63, 0x78] // "escx"
export const ENVELOPE_VERSION = 1

let table: Uint32Array | undefined

export function crc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      table[n] = c >>> 0
    }
  }
  let crc = 0xffffffff
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** Wraps an encrypted payload: returns the base64 text stored as `ciphertext:`. */
export function encodeEnvelope(payload: Uint8Array, opts: { checksum?: boolean } = {}): string {
  const checksum = opts.checksum ?? true
  const out = new Uint8Array(8 + payload.length + (checksum ? 4 : 0))
  out.set(ENVELOPE_MAGIC, 0)
  new DataView(out.buffer).setUint32(4, ENVELOPE_VERSION)
  out.set(payload, 8)
  if (checksum) new DataView(out.buffer).setUint32(8 + payload.length, crc32(out.subarray(0, 8 + payload.length)))
  return bytesToBase64(out)
}

/** Unwraps an envelope, returning the encrypted payload. Throws with the reference's messages. */
export function decodeEnvelope(text: string): Uint8Array {
  const bytes = base64ToBytes(text)
  if (bytes.length < 8) throw new Error('EOF')
  for (let i = 0; i < 4; i++) if (bytes[i] !== ENVELOPE_MAGIC[i]) throw new Error('invalid header')
  const version = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4)
  if (version !== ENVELOPE_VERSION) throw new Error('invalid header')
  if (bytes.length >= 12) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset)
    const stored = dv.getUint32(bytes.length - 4)
    if (crc32(bytes.subarray(0, bytes.length - 4)) === stored) return bytes.slice(8, bytes.length - 4)
  }
  // an older envelope, without checksum
  return bytes.slice(8)
}
