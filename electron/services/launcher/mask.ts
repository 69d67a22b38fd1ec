/**
 * Stream-safe secret masking for a child's stdout/stderr: every occurrence of a secret becomes `[secret]`,
 * also when a secret is split across chunk boundaries. Works on bytes (a chunk may end inside a UTF-8
 * character). One pass over the stream with an Aho–Corasick automaton over all the secrets at once (a run
 * with 20 secrets costs about what a run with one does), leftmost-longest like a regex alternation sorted
 * longest first. Holds back only a tail that is a prefix of some secret, so ordinary output is not delayed
 * and no prefix of a secret is ever emitted before the masker knows it is not one.
 *
 * The automaton is written here rather than taken from npm: the packages found (modern-ahocorasick,
 * ahocorasick, @monyone/aho-corasick) match JavaScript strings, not bytes, and none keeps its state across
 * chunks, which is the point of a stream masker.
 */
import { Transform, type TransformCallback } from 'node:stream'

export const MASK = '[secret]'

/** Secrets shorter than this are not masked (like `esc run`: masking "a" would garble all output). */
export const MIN_SECRET_LENGTH = 3

/**
 * The byte automaton: a trie of the secrets with failure links. Transitions out of the root are a dense
 * table (most output bytes start nothing); the others are in one map keyed `node * 256 + byte`, so memory
 * stays proportional to the secrets' total length whatever their alphabet.
 */
class Automaton {
  /** depth of each node = length of the prefix it stands for */
  readonly depth: Int32Array
  /** length of the longest secret that ends at this node (itself or through its failure chain), 0 if none */
  readonly match: Int32Array
  private readonly fail: Int32Array
  private readonly root = new Int32Array(256)
  private readonly edges = new Map<number, number>()

  constructor(patterns: Buffer[]) {
    const depth = [0]
    const terminal = [0]
    for (const p of patterns) {
      let s = 0
      for (const b of p) {
        const key = s * 256 + b
        let t = s === 0 ? this.root[b]! : (this.edges.get(key) ?? 0)
        if (t === 0) {
          t = depth.length
          depth.push(depth[s]! + 1)
          terminal.push(0)
          if (s === 0) this.root[b] = t
          else this.edges.set(key, t)
        }
        s = t
      }
      terminal[s] = p.length
    }
    const n = depth.length
    this.depth = Int32Array.from(depth)
    this.match = Int32Array.from(terminal)
    this.fail = new Int32Array(n)
    // breadth first: a node's failure target is shallower, so it is complete when the node is reached
    const children: number[][] = Array.from({ length: n }, () => [])
    const byteOf = new Int32Array(n)
    for (let b = 0; b < 256; b++) {
      const t = this.root[b]!
      if (t === 0) continue
      children[0]!.push(t)
      byteOf[t] = b
    }
    for (const [key, t] of this.edges) {
      children[Math.floor(key / 256)]!.push(t)
      byteOf[t] = key % 256
    }
    const queue = [...children[0]!]
    for (let q = 0; q < queue.length; q++) {
      const u = queue[q]!
      for (const v of children[u]!) {
        this.fail[v] = u === 0 ? 0 : this.step(this.fail[u]!, byteOf[v]!)
        if (this.match[v] === 0) this.match[v] = this.match[this.fail[v]!]!
        queue.push(v)
      }
    }
  }

  /** The state after reading byte `b` in state `s`. */
  step(s: number, b: number): number {
    while (s !== 0) {
      const t = this.edges.get(s * 256 + b)
      if (t !== undefined) return t
      s = this.fail[s]!
    }
    return this.root[b]!
  }
}

export class SecretMasker {
  private readonly ac: Automaton | undefined
  private readonly mask: Buffer
  /** bytes not emitted yet: a tail that may still be (or continue) a secret */
  private pending: Buffer = Buffer.alloc(0)
  /** the automaton's state after reading all of `pending` */
  private state = 0
  /** the best match found in `pending` that may still be beaten by an earlier or longer one; start -1 if none */
  private candStart = -1
  private candEnd = -1

  /** `secrets`: texts to hide (shorter than MIN_SECRET_LENGTH characters are ignored, like `esc run`). */
  constructor(secrets: Iterable<string>, mask = MASK) {
    const uniq = [...new Set([...secrets].filter((s) => s.length >= MIN_SECRET_LENGTH))]
    this.ac = uniq.length ? new Automaton(uniq.map((s) => Buffer.from(s, 'utf8'))) : undefined
    this.mask = Buffer.from(mask, 'utf8')
  }

  /** Feeds a chunk; returns the bytes that are safe to emit now. */
  push(chunk: Buffer): Buffer {
    if (!this.ac) return chunk
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    return this.scan(buf, this.pending.length, false)
  }

  /** Emits what is held back (the stream ended). */
  flush(): Buffer {
    if (!this.ac) return Buffer.alloc(0)
    return this.scan(this.pending, this.pending.length, true)
  }

  /**
   * Reads `buf` from `from` on (what is before was read by earlier calls), masking matches once no earlier or
   * longer one can still appear; keeps the undecided tail in `pending`.
   */
  private scan(buf: Buffer, from: number, final: boolean): Buffer {
    const ac = this.ac!
    const { depth, match } = ac
    const parts: Buffer[] = []
    let emitted = 0
    let s = this.state
    let cs = this.candStart
    let ce = this.candEnd
    let i = from
    const n = buf.length
    for (;;) {
      for (; i < n; i++) {
        s = ac.step(s, buf[i]!)
        const len = match[s]!
        if (len !== 0) {
          // the longest secret ending here starts earliest: it beats the candidate if it starts before it
          // (leftmost) or where it does (then it is longer)
          const start = i + 1 - len
          if (cs < 0 || start <= cs) {
            cs = start
            ce = i + 1
          }
        }
        // no secret can start at or before the candidate any more: mask it, and read again after it
        // (matches overlapping it are void)
        if (cs >= 0 && i + 1 - depth[s]! > cs) {
          parts.push(buf.subarray(emitted, cs), this.mask)
          emitted = ce
          i = ce - 1
          s = 0
          cs = -1
        }
      }
      if (!final || cs < 0) break
      // the stream ended: the candidate stands
      parts.push(buf.subarray(emitted, cs), this.mask)
      emitted = ce
      i = ce
      s = 0
      cs = -1
    }
    // held back: the candidate, and the longest tail that may still grow into a secret (it may start before
    // the candidate: a longer secret that started earlier would win)
    const safe = final ? n : Math.min(cs >= 0 ? cs : n, n - depth[s]!)
    parts.push(buf.subarray(emitted, safe))
    this.pending = final ? Buffer.alloc(0) : Buffer.from(buf.subarray(safe))
    this.state = final ? 0 : s
    this.candStart = cs >= 0 ? cs - safe : -1
    this.candEnd = cs >= 0 ? ce - safe : -1
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
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
