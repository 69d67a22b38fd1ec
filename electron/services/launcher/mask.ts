/**
 * Stream-safe secret masking for a child's stdout/stderr: every occurrence of a secret becomes `[secret]`,
 * also when a secret is split across chunk boundaries. Works on bytes (a chunk may end inside a UTF-8
 * character). Holds back only a tail that is a prefix of some secret, so ordinary output is not delayed.
 */
import { Transform, type TransformCallback } from 'node:stream'

export const MASK = '[secret]'

export class SecretMasker {
  private readonly secrets: Buffer[]
  private readonly mask: Buffer
  private pending: Buffer = Buffer.alloc(0)

  /** `secrets`: texts to hide (shorter than 3 characters are ignored, like `esc run`). */
  constructor(secrets: Iterable<string>, mask = MASK) {
    const uniq = [...new Set([...secrets].filter((s) => s.length >= 3))]
    this.secrets = uniq.map((s) => Buffer.from(s, 'utf8')).sort((a, b) => b.length - a.length)
    this.mask = Buffer.from(mask, 'utf8')
  }

  /** Feeds a chunk; returns the bytes that are safe to emit now. */
  push(chunk: Buffer): Buffer {
    if (this.secrets.length === 0) return chunk
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const { out, rest } = this.scan(buf, false)
    this.pending = rest
    return out
  }

  /** Emits what is held back (the stream ended). */
  flush(): Buffer {
    const { out } = this.scan(this.pending, true)
    this.pending = Buffer.alloc(0)
    return out
  }

  /**
   * Where a secret that is not complete yet (it runs past the end of `buf`) starts at or before the match
   * at `at` (length `len`): such a secret would be the leftmost(-longest) match once more bytes arrive.
   * -1 when there is none.
   */
  private pendingStart(buf: Buffer, from: number, at: number, len: number): number {
    const longest = this.secrets[0]!.length
    for (let p = Math.max(from, buf.length - longest + 1); p <= at; p++) {
      const avail = buf.length - p
      if (this.secrets.some((s) => s.length > avail && (p < at || s.length > len) && buf.compare(s, 0, avail, p, buf.length) === 0)) return p
    }
    return -1
  }

  private scan(buf: Buffer, final: boolean): { out: Buffer; rest: Buffer } {
    const parts: Buffer[] = []
    let from = 0
    for (;;) {
      // leftmost match; at equal positions the longest secret wins (secrets are sorted longest first)
      let best = -1
      let bestLen = 0
      for (const s of this.secrets) {
        const i = buf.indexOf(s, from)
        if (i !== -1 && (best === -1 || i < best)) {
          best = i
          bestLen = s.length
        }
      }
      if (best === -1) break
      const hold = final ? -1 : this.pendingStart(buf, from, best, bestLen)
      if (hold !== -1) {
        // a secret starting here (or earlier) may continue in the next chunk: decide when it arrives
        parts.push(buf.subarray(from, hold))
        return { out: Buffer.concat(parts), rest: Buffer.from(buf.subarray(hold)) }
      }
      parts.push(buf.subarray(from, best), this.mask)
      from = best + bestLen
    }
    let keep = 0
    if (!final) {
      // hold back the longest tail that could still grow into a secret
      const tail = buf.length - from
      for (const s of this.secrets) {
        for (let len = Math.min(s.length - 1, tail); len > keep; len--) {
          if (buf.compare(s, 0, len, buf.length - len, buf.length) === 0) {
            keep = len
            break
          }
        }
      }
    }
    parts.push(buf.subarray(from, buf.length - keep))
    return { out: Buffer.concat(parts), rest: Buffer.from(buf.subarray(buf.length - keep)) }
  }
}

/** A Transform stream applying SecretMasker. */
export function maskingStream(secrets: Iterable<string>): Transform {
  const m = new SecretMasker(secrets)
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      const out = m.push(chunk)
      cb(null, out.length > 0 ? out : undefined)
    },
    flush(cb: TransformCallback) {
      const out = m.flush()
      cb(null, out.length > 0 ? out : undefined)
    },
  })
}
