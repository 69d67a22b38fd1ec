/**
 * Helpers on `${...}` interpolation paths and evaluated value trees, shared by completion, hover,
 * go-to-definition and the preview.
 */
import type { EvalValue } from '../../../shared/esc/host.ts'

export type Segment = string | number

/** Parses `a.b["c.d"][0]` into segments; undefined when malformed. */
export function parsePath(text: string): Segment[] | undefined {
  const out: Segment[] = []
  let i = 0
  const s = text.trim()
  while (i < s.length) {
    const c = s[i]
    if (c === '.') {
      i++
      continue
    }
    if (c === '[') {
      const close = s.indexOf(']', i)
      if (close < 0) return undefined
      const inner = s.slice(i + 1, close).trim()
      if (/^\d+$/.test(inner)) out.push(Number(inner))
      else if (/^"(?:[^"\\]|\\.)*"$/.test(inner)) out.push(JSON.parse(inner) as string)
      else return undefined
      i = close + 1
      continue
    }
    const m = /^[^.[\]]+/.exec(s.slice(i))
    if (!m) return undefined
    out.push(m[0])
    i += m[0].length
  }
  return out
}

export function formatPath(segs: Segment[]): string {
  let out = ''
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`
    else if (/^[A-Za-z_][\w-]*$/.test(s)) out += out ? `.${s}` : s
    else out += `[${JSON.stringify(s)}]`
  }
  return out
}

/** The value at `segs` under the top-level value map. */
export function lookup(root: Record<string, EvalValue> | undefined, segs: Segment[]): EvalValue | undefined {
  if (!root || segs.length === 0) return undefined
  const [first, ...rest] = segs
  let cur: EvalValue | undefined = typeof first === 'string' ? root[first] : undefined
  for (const s of rest) {
    if (!cur) return undefined
    const v = cur.value
    if (Array.isArray(v) && typeof s === 'number') cur = v[s]
    else if (v && typeof v === 'object' && !Array.isArray(v) && typeof s === 'string') cur = v[s]
    else return undefined
  }
  return cur
}

/** Child keys at `segs` (top-level keys when empty). */
export function childKeys(root: Record<string, EvalValue> | undefined, segs: Segment[]): string[] {
  if (!root) return []
  if (segs.length === 0) return Object.keys(root)
  const v = lookup(root, segs)?.value
  if (v && typeof v === 'object' && !Array.isArray(v)) return Object.keys(v)
  if (Array.isArray(v)) return v.map((_, i) => `[${i}]`)
  return []
}

/** Plain text of a value for display; secrets masked unless reveal. */
export function displayValue(v: EvalValue | undefined, reveal: boolean, max = 200): string {
  if (!v) return ''
  // a stored (encrypted) secret is unknown in check mode: still say it is a secret
  if (v.secret && !reveal) return '[secret]'
  if (v.unknown) return '[unknown]'
  const j = toPlain(v, reveal)
  const s = typeof j === 'string' ? j : JSON.stringify(j)
  return s.length > max ? s.slice(0, max) + '…' : s
}

function toPlain(v: EvalValue, reveal: boolean): unknown {
  if (v.secret && !reveal) return '[secret]'
  if (v.unknown) return '[unknown]'
  const x = v.value
  if (Array.isArray(x)) return x.map((e) => toPlain(e, reveal))
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, e]) => [k, toPlain(e, reveal)]))
  return x
}

/** Finds the `${...}` interpolation containing `column` (1-based) on a line: its path text and columns. */
export function interpolationAt(line: string, column: number): { path: string; start: number; end: number } | undefined {
  const re = /\$\{([^}]*)\}/g
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m.index > 0 && line[m.index - 1] === '$') continue
    const start = m.index + 1
    const end = m.index + m[0].length + 1
    if (column >= start && column <= end) return { path: m[1] ?? '', start, end }
  }
  return undefined
}

/** The import name on an `imports:` list line (`  - project/env@3` or `  - project/env: {merge: false}`). */
export function importNameOnLine(line: string): string | undefined {
  const m = /^\s*-\s*["']?([A-Za-z0-9_./@:-]+?)["']?\s*(?::.*)?$/.exec(line)
  return m?.[1]
}

/** Strips `@version` and resolves a one-part name in `project`. */
export function resolveEnvName(name: string, project: string): string {
  const base = name.split('@')[0] ?? name
  const parts = base.split('/')
  if (parts.length >= 2) return parts.slice(-2).join('/')
  return `${project}/${base}`
}

/** The top-level section (`imports`, `values`, …) a line belongs to. */
export function sectionOf(lines: string[], lineIndex: number): string | undefined {
  for (let i = lineIndex; i >= 0; i--) {
    const m = /^([A-Za-z_][\w-]*):/.exec(lines[i] ?? '')
    if (m) return m[1]
  }
  return undefined
}
