/**
 * Import cycles between the project's own modules: walks the relative `import … from`, `import '…'` and
 * `export … from` statements of every .ts/.tsx file in electron/, shared/, server/, renderer/, bench/ and
 * test/, prints each cycle it finds and exits 1 when there is any (0 when there is none).
 *
 * Why: a cycle ties its modules into one piece (none can be understood, tested or moved alone) and makes
 * the order of module initialisation matter. Type-only imports (`import type`, `export type … from`) are
 * counted too, since a cycle of types tangles layers just the same; a cycle made only of such imports is
 * marked `(types only)` because it is erased at run time. Dynamic `import('…')` is the sanctioned way to
 * load a module late (the CLI's start-up time): it is left out unless `--dynamic` is given.
 *
 * Dependency-free on purpose (Node built-ins only, run by Node's type stripping), so it runs before
 * `npm ci` and in any CI step:
 *   node scripts/check-cycles.ts [--dynamic] [dir ...]      (dirs default to the six above)
 *
 * Cycles are grouped by strongly connected component (the modules that all reach each other); for each
 * module of a group the shortest cycle through it is printed once.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

type Kind = 'value' | 'type' | 'dynamic'

/** One module's relative imports: target file (absolute) -> the strongest kind of import of it. */
type Edges = Map<string, Kind>

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const DEFAULT_DIRS = ['electron', 'shared', 'server', 'renderer', 'bench', 'test']
const SKIP_DIRS = new Set(['node_modules', 'out', 'dist', 'release', 'test-results', 'playwright-report'])

function sourceFiles(dir: string, out: string[]): string[] {
  if (!existsSync(dir)) return out
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || SKIP_DIRS.has(name)) continue
    const p = join(dir, name)
    const st = statSync(p)
    if (st.isDirectory()) sourceFiles(p, out)
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/**
 * The text with comments and the bodies of template literals blanked out (same length, newlines kept), so
 * that an import written inside a comment or a generated source text is not taken for a real one.
 */
export function codeOnly(src: string): string {
  const out = src.split('')
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' '
  }
  /** brace depth of each open `${` inside template literals */
  const templates: number[] = []
  let depth = 0
  let prev = '' // last significant character of code (regex-literal heuristic)
  let i = 0
  const n = src.length
  const inTemplate = (): void => {
    // scans template text from i until its end or a `${`
    const start = i
    while (i < n) {
      const c = src[i]
      if (c === '\\') {
        i += 2
        continue
      }
      if (c === '`') {
        blank(start, i)
        i++
        prev = '`'
        return
      }
      if (c === '$' && src[i + 1] === '{') {
        blank(start, i)
        i += 2
        templates.push(depth)
        depth++
        prev = '{'
        return
      }
      i++
    }
    blank(start, n)
  }
  while (i < n) {
    const c = src[i]
    const d = src[i + 1]
    if (c === '/' && d === '/') {
      const e = src.indexOf('\n', i)
      const end = e < 0 ? n : e
      blank(i, end)
      i = end
      continue
    }
    if (c === '/' && d === '*') {
      const e = src.indexOf('*/', i + 2)
      const end = e < 0 ? n : e + 2
      blank(i, end)
      i = end
      continue
    }
    if (c === "'" || c === '"') {
      i++
      while (i < n && src[i] !== c && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1
      i++
      prev = c
      continue
    }
    if (c === '`') {
      i++
      inTemplate()
      continue
    }
    if (c === '/' && (prev === '' || '(,=:[!&|?{};+-*%<>~^'.includes(prev))) {
      // a regular expression literal: skipped so that its quotes or slashes are not read as code
      i++
      let cls = false
      while (i < n && src[i] !== '\n') {
        const r = src[i]
        if (r === '\\') {
          i += 2
          continue
        }
        if (r === '[') cls = true
        else if (r === ']') cls = false
        else if (r === '/' && !cls) break
        i++
      }
      i++
      prev = '/'
      continue
    }
    if (c === '{') depth++
    if (c === '}') {
      depth--
      if (templates.length && templates[templates.length - 1] === depth) {
        templates.pop()
        i++
        inTemplate()
        continue
      }
    }
    if (!/\s/.test(c)) prev = /[A-Za-z0-9_$]/.test(c) ? 'a' : c
    i++
  }
  return out.join('')
}

/** Static imports and re-exports: group 1 is `type ` for type-only ones, group 3 the specifier. */
const STATIC = [
  // import x from '…', import { a, type b } from '…', import * as x from '…', import type { … } from '…'
  /^[ \t]*import\s+(type\s+)?[^'";]*?\sfrom\s*(['"])(\.[^'"\n]*)\2/gm,
  // import '…' (for its effects)
  /^[ \t]*import()\s*(['"])(\.[^'"\n]*)\2/gm,
  // export * from '…', export { a } from '…', export type { … } from '…', export type * from '…'
  /^[ \t]*export\s+(type\s+)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(['"])(\.[^'"\n]*)\2/gm,
]
const DYNAMIC = /\bimport\(\s*(['"])(\.[^'"\n]*)\1\s*\)/g

/** The file a relative specifier names, if it is one of ours. */
function resolveSpecifier(from: string, spec: string, known: Set<string>): string | undefined {
  const base = resolve(dirname(from), spec)
  for (const cand of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), join(base, 'index.tsx')]) {
    if (known.has(cand)) return cand
  }
  return undefined
}

const STRENGTH: Record<Kind, number> = { type: 0, dynamic: 1, value: 2 }

export function importsOf(file: string, src: string, known: Set<string>, dynamic: boolean): Edges {
  const code = codeOnly(src)
  const edges: Edges = new Map()
  const add = (spec: string, kind: Kind): void => {
    const to = resolveSpecifier(file, spec, known)
    if (!to) return
    const had = edges.get(to)
    if (had === undefined || STRENGTH[kind] > STRENGTH[had]) edges.set(to, kind)
  }
  for (const re of STATIC) {
    for (const m of code.matchAll(re)) add(m[3], m[1] ? 'type' : 'value')
  }
  if (dynamic) for (const m of code.matchAll(DYNAMIC)) add(m[2], 'dynamic')
  return edges
}

/** Tarjan's strongly connected components of size > 1 (or with a self-import). */
export function components(graph: Map<string, Edges>): string[][] {
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const out: string[][] = []
  const visit = (v: string): void => {
    // iterative, so that a deep import chain cannot overflow the JS stack
    const work: Array<[string, Iterator<string>]> = [[v, (graph.get(v) ?? new Map()).keys()]]
    idx.set(v, index)
    low.set(v, index)
    index++
    stack.push(v)
    onStack.add(v)
    while (work.length) {
      const [u, it] = work[work.length - 1]
      const next = it.next()
      if (!next.done) {
        const w = next.value
        if (!idx.has(w)) {
          idx.set(w, index)
          low.set(w, index)
          index++
          stack.push(w)
          onStack.add(w)
          work.push([w, (graph.get(w) ?? new Map()).keys()])
        } else if (onStack.has(w)) low.set(u, Math.min(low.get(u)!, idx.get(w)!))
        continue
      }
      work.pop()
      if (work.length) {
        const p = work[work.length - 1][0]
        low.set(p, Math.min(low.get(p)!, low.get(u)!))
      }
      if (low.get(u) === idx.get(u)) {
        const comp: string[] = []
        let w: string
        do {
          w = stack.pop()!
          onStack.delete(w)
          comp.push(w)
        } while (w !== u)
        if (comp.length > 1 || graph.get(u)?.has(u)) out.push(comp.sort())
      }
    }
  }
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v)
  return out
}

/** The shortest cycle through `start` that stays inside `comp` (breadth-first). */
export function shortestCycle(graph: Map<string, Edges>, comp: Set<string>, start: string): string[] {
  const parent = new Map<string, string>()
  const queue = [start]
  for (let q = 0; q < queue.length; q++) {
    const u = queue[q]
    for (const w of [...(graph.get(u)?.keys() ?? [])].sort()) {
      if (!comp.has(w)) continue
      if (w === start) {
        const path = [u]
        while (path[0] !== start) path.unshift(parent.get(path[0])!)
        return path
      }
      if (!parent.has(w)) {
        parent.set(w, u)
        queue.push(w)
      }
    }
  }
  return [start]
}

function main(argv: string[]): number {
  const dynamic = argv.includes('--dynamic')
  const dirs = argv.filter((a) => !a.startsWith('--'))
  const files = (dirs.length ? dirs : DEFAULT_DIRS).flatMap((d) => sourceFiles(resolve(ROOT, d), [])).sort()
  const known = new Set(files)
  const graph = new Map<string, Edges>()
  let imports = 0
  for (const f of files) {
    const edges = importsOf(f, readFileSync(f, 'utf8'), known, dynamic)
    imports += edges.size
    graph.set(f, edges)
  }
  const rel = (f: string): string => relative(ROOT, f)
  const comps = components(graph)
  let cycles = 0
  let typeOnly = 0
  for (const comp of comps) {
    const members = new Set(comp)
    console.log(`cycle group of ${comp.length} module(s): ${comp.map(rel).join(', ')}`)
    const seen = new Set<string>()
    for (const start of comp) {
      const cyc = shortestCycle(graph, members, start)
      // one rotation per cycle: the one that starts at its smallest module
      const at = cyc.indexOf([...cyc].sort()[0])
      const canon = [...cyc.slice(at), ...cyc.slice(0, at)]
      const key = canon.join('\n')
      if (seen.has(key)) continue
      seen.add(key)
      const kinds = canon.map((f, i) => graph.get(f)!.get(canon[(i + 1) % canon.length])!)
      const types = kinds.every((k) => k === 'type')
      const arrows = canon.map((f, i) => `${rel(f)} ${kinds[i] === 'value' ? '->' : kinds[i] === 'type' ? '-(type)->' : '-(dynamic)->'} `).join('')
      console.log(`  cycle${types ? ' (types only)' : ''}: ${arrows}${rel(canon[0])}`)
      cycles++
      if (types) typeOnly++
    }
  }
  console.log(`${files.length} files, ${imports} relative imports: ${cycles} cycle(s) (${typeOnly} of types only) in ${comps.length} group(s)`)
  return comps.length ? 1 : 0
}

// run as a script (the functions above are importable, e.g. by a test)
if (fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? '')) {
  process.exitCode = main(process.argv.slice(2))
}
