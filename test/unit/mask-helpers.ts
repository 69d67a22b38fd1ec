/** Shared by the masker's tests: reference maskings (whole text at once) and chunked feeding. */
import { MASK, SecretMasker } from '../../electron/services/launcher/mask.ts'

/** Reference: leftmost-longest replacement over the whole text at once (a regex alternation, longest first). */
export function reference(text: string, secrets: string[]): string {
  const s = [...new Set(secrets.filter((x) => x.length >= 3))].sort((a, b) => b.length - a.length)
  let out = ''
  let i = 0
  outer: while (i < text.length) {
    for (const x of s) {
      if (text.startsWith(x, i)) {
        out += MASK
        i += x.length
        continue outer
      }
    }
    out += text[i]
    i++
  }
  return out
}

export function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let prev = 0
  for (const p of points) {
    chunks.push(bytes.subarray(prev, p))
    prev = p
  }
  chunks.push(bytes.subarray(prev))
  return chunks
}

/** The masker's whole output for `chunks` fed one by one, then flushed. */
export function maskAll(chunks: Buffer[], secrets: string[]): string {
  const m = new SecretMasker(secrets)
  const parts = chunks.map((c) => m.push(c))
  parts.push(m.flush())
  return Buffer.concat(parts).toString('utf8')
}

/** The same reference on bytes (the input seen so far may end inside a UTF-8 character). */
export function referenceBytes(bytes: Buffer, secrets: string[]): Buffer {
  const s = [...new Set(secrets.filter((x) => x.length >= 3))].map((x) => Buffer.from(x)).sort((a, b) => b.length - a.length)
  const out: Buffer[] = []
  let i = 0
  outer: while (i < bytes.length) {
    for (const x of s) {
      if (bytes.subarray(i, i + x.length).equals(x)) {
        out.push(Buffer.from(MASK))
        i += x.length
        continue outer
      }
    }
    out.push(bytes.subarray(i, i + 1))
    i++
  }
  return Buffer.concat(out)
}
