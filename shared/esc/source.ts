/**
 * Source positions: converts character offsets of a document into the reference's positions
 * (1-based line and column, 0-based UTF-8 byte offset).
 */
import type { Pos, Range } from './host.ts'

export class SourceMap {
  readonly environment: string
  readonly text: string
  /** character offset of the start of each line (built on the first position asked for) */
  private lineStarts: number[] | undefined
  /** UTF-8 byte offset of each character offset, only when the text is not pure ASCII */
  private bytes: Uint32Array | undefined
  private cursor = 0

  constructor(environment: string, text: string) {
    this.environment = environment
    this.text = text
  }

  /** The line index: a tree decoded from its cached form (syntax-cache.ts) may never need it. */
  private index(): number[] {
    if (this.lineStarts) return this.lineStarts
    const text = this.text
    const starts = [0]
    let ascii = true
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === 10) starts.push(i + 1)
      else if (c > 127) ascii = false
    }
    this.lineStarts = starts
    if (!ascii) {
      const b = new Uint32Array(text.length + 1)
      let n = 0
      for (let i = 0; i < text.length; i++) {
        b[i] = n
        const w = utf8Width(text.charCodeAt(i))
        n += w
        if (w === 4) {
          i++
          if (i < text.length) b[i] = n - 2
        }
      }
      b[text.length] = n
      this.bytes = b
    }
    return starts
  }

  pos(offset: number): Pos {
    if (offset < 0) offset = 0
    if (offset > this.text.length) offset = this.text.length
    const starts = this.index()
    // positions are mostly asked for in document order: try the last line first
    const c = this.cursor
    if (starts[c] <= offset && (c + 1 >= starts.length || starts[c + 1] > offset)) {
      return { line: c + 1, column: offset - starts[c] + 1, byte: this.bytes ? this.bytes[offset] : offset }
    }
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid] <= offset) lo = mid
      else hi = mid - 1
    }
    this.cursor = lo
    return { line: lo + 1, column: offset - starts[lo] + 1, byte: this.bytes ? this.bytes[offset] : offset }
  }

  range(start: number, end: number): Range {
    return { environment: this.environment, begin: this.pos(start), end: this.pos(end) }
  }
}

/** UTF-8 bytes of the UTF-16 code unit `c`: 4 for a high surrogate (the whole pair; skip its low half). */
function utf8Width(c: number): number {
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? 4 : 3
}

/** UTF-8 byte length of a string. */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const w = utf8Width(s.charCodeAt(i))
    n += w
    if (w === 4) i++
  }
  return n
}

/** anything but printable ASCII and tab/newlines (those take the exact, slower byte count) */
const NON_ASCII = /[^\t\n\r -~]/

/** A position `chars` characters after `p` on the same line (the reference's naive string offsets). */
export function advance(p: Pos, text: string, from: number, to: number): Pos {
  const seg = from === 0 && to === text.length ? text : text.slice(from, to)
  return { line: p.line, column: p.column + seg.length, byte: p.byte + (NON_ASCII.test(seg) ? utf8Length(seg) : seg.length) }
}

export function zeroRange(environment?: string): Range {
  const z = { line: 0, column: 0, byte: 0 }
  return environment === undefined ? ({ begin: z, end: z } as unknown as Range) : { environment, begin: z, end: z }
}
