/** Standard base64 (with padding), pure. */
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

export function bytesToBase64(b: Uint8Array): string {
  let s = ''
  let i = 0
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2]
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63]
  }
  if (i < b.length) {
    const n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8)
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : '=') + '='
  }
  return s
}

/** Standard base64 with padding, strict like Go's StdEncoding (error messages like Go's). */
export function base64ToBytes(s: string): Uint8Array {
  const clean = s.replace(/[\r\n]/g, '')
  const out: number[] = []
  let buf = 0
  let bits = 0
  let i = 0
  for (; i < clean.length; i++) {
    const c = clean[i]
    if (c === '=') break
    const v = B64.indexOf(c)
    if (v < 0) throw new Error(`illegal base64 data at input byte ${i}`)
    buf = (buf << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out.push((buf >> bits) & 0xff)
    }
  }
  const dataLen = i
  let pad = 0
  for (; i < clean.length; i++) {
    if (clean[i] !== '=') throw new Error(`illegal base64 data at input byte ${i}`)
    pad++
  }
  if ((dataLen + pad) % 4 !== 0 || pad > 2 || (pad > 0 && dataLen % 4 === 0))
    throw new Error(`illegal base64 data at input byte ${Math.max(0, dataLen - (dataLen % 4))}`)
  return new Uint8Array(out)
}
