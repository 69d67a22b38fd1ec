/**
 * The import graph of every stored environment: direct import edges read from each definition's
 * `imports:` list, broken targets (environments that do not exist) and edges on import cycles marked.
 * A domain use case over the storage interface (EnvironmentService): the app's `env.graph` channel calls
 * it, and any other face (a CLI command, the server) would call the same function. `importersOf`: who
 * uses an environment (imports and `${environments.…}` references), what a delete must not break silently.
 */
import { parseDocument } from 'yaml'
import type { EnvironmentService, Importer } from '../models.ts'
import type { GraphEdge, GraphNode, ImportGraph } from '../ipc.ts'
import type { Accessor, EnvironmentDoc, Expr } from '../esc/ast.ts'

export type { Importer } from '../models.ts'

/** The import names written in a definition (`imports:` entries are strings or one-key maps). */
export function importsOf(yamlText: string): string[] {
  const doc = parseDocument(yamlText)
  const js: unknown = doc.toJS()
  if (!js || typeof js !== 'object' || Array.isArray(js)) return []
  const imports = (js as Record<string, unknown>).imports
  if (!Array.isArray(imports)) return []
  const out: string[] = []
  for (const entry of imports) {
    if (typeof entry === 'string') out.push(entry)
    else if (entry && typeof entry === 'object' && !Array.isArray(entry)) {
      const keys = Object.keys(entry)
      if (keys.length === 1 && keys[0]) out.push(keys[0])
    }
  }
  return out
}

/** `base@3` in project `p` → `p/base`; `q/base:stable` → `q/base`. One-part names resolve in the importer's project. */
export function normaliseImport(raw: string, importerProject: string, exists: (id: string) => boolean): string {
  let name = raw.trim()
  const at = name.indexOf('@')
  if (at >= 0) name = name.slice(0, at)
  else if (name.includes(':')) name = name.slice(0, name.indexOf(':'))
  const parts = name.split('/')
  if (parts.length >= 3) return parts.slice(-2).join('/')
  if (parts.length === 2) return name
  const inProject = `${importerProject}/${name}`
  if (exists(inProject)) return inProject
  const legacy = `default/${name}`
  return exists(legacy) ? legacy : inProject
}

export async function buildGraph(env: EnvironmentService): Promise<ImportGraph> {
  const list = await env.list()
  const ids = new Set(list.map((e) => e.id))
  const nodes = new Map<string, GraphNode>()
  for (const e of list) nodes.set(e.id, { id: e.id, project: e.project, exists: true })
  const edges: GraphEdge[] = []
  await Promise.all(
    list.map(async (e) => {
      try {
        const def = await env.getDefinition(e.id)
        for (const raw of importsOf(def.yaml)) {
          const to = normaliseImport(raw, e.project, (id) => ids.has(id))
          const broken = !ids.has(to)
          if (broken && !nodes.has(to)) nodes.set(to, { id: to, project: to.split('/')[0] ?? '', exists: false })
          edges.push({ from: e.id, to, raw, broken, cycle: false })
        }
      } catch (err) {
        const node = nodes.get(e.id)
        if (node) node.error = err instanceof Error ? err.message : String(err)
      }
    }),
  )
  markCycles(edges)
  edges.sort((a, b) => (a.from + a.to).localeCompare(b.from + b.to))
  return { nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)), edges }
}

/** Marks every edge whose endpoints lie in the same strongly connected component (or a self-loop). */
export function markCycles(edges: GraphEdge[]): void {
  const adj = new Map<string, string[]>()
  for (const e of edges) {
    if (!adj.has(e.from)) adj.set(e.from, [])
    adj.get(e.from)?.push(e.to)
    if (!adj.has(e.to)) adj.set(e.to, [])
  }
  // Tarjan's SCC
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const comp = new Map<string, number>()
  let compId = 0
  const strong = (v: string): void => {
    idx.set(v, index)
    low.set(v, index)
    index++
    stack.push(v)
    onStack.add(v)
    for (const w of adj.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w)
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0))
    }
    if (low.get(v) === idx.get(v)) {
      for (;;) {
        const w = stack.pop()
        if (w === undefined) break
        onStack.delete(w)
        comp.set(w, compId)
        if (w === v) break
      }
      compId++
    }
  }
  for (const v of adj.keys()) if (!idx.has(v)) strong(v)
  const size = new Map<number, number>()
  for (const c of comp.values()) size.set(c, (size.get(c) ?? 0) + 1)
  for (const e of edges) {
    const c = comp.get(e.from)
    e.cycle = e.from === e.to || (c !== undefined && c === comp.get(e.to) && (size.get(c) ?? 0) > 1)
  }
}

/** The builtin argument fields that hold expressions (see ast.ts BuiltinExpr). */
const BUILTIN_PARTS = ['arg', 'inputs', 'state', 'schema', 'value'] as const

/**
 * The environments a parsed definition uses: its imports (resolved by `resolve`, the face's own rule for an
 * import name: the local store reads `lib` as `default/lib`) and every `${environments.<project>.<env>…}`
 * interpolation anywhere in its values (as the evaluator reads it: `<project>/<env>`).
 */
export function usesOf(doc: EnvironmentDoc, resolve: (raw: string) => string | undefined): { target: string; use: Omit<Importer, 'id'> }[] {
  const out: { target: string; use: Omit<Importer, 'id'> }[] = []
  for (const d of doc.imports) {
    const target = resolve(d.name)
    if (target) out.push({ target, use: { via: 'import', raw: d.name, line: d.range.begin.line } })
  }
  const walk = (x: Expr | undefined, depth: number): void => {
    if (!x || depth > 512) return
    if (x.kind === 'interp') {
      for (const p of x.parts) {
        const path = p.path
        if (!path || path.length < 3 || path[0]?.key !== 'environments') continue
        const seg = (a: Accessor): string => a.key ?? String(a.index)
        const target = `${seg(path[1]!)}/${seg(path[2]!)}`
        out.push({ target, use: { via: 'reference', raw: `environments.${seg(path[1]!)}.${seg(path[2]!)}`, line: x.range.begin.line } })
      }
    } else if (x.kind === 'list') for (const i of x.items) walk(i, depth + 1)
    else if (x.kind === 'object') for (const v of x.props.values()) walk(v, depth + 1)
    else if (x.kind === 'builtin') {
      for (const k of BUILTIN_PARTS) walk(x[k], depth + 1)
      if (x.args) for (const a of x.args) walk(a, depth + 1)
    }
  }
  walk(doc.values, 0)
  return out
}

/**
 * Who uses `target` among `documents` (each environment's latest definition, parsed): one entry per use,
 * sorted by environment then line; `target` itself is left out (deleting it removes its own uses).
 */
export function importersOf(
  target: string,
  documents: Iterable<{ id: string; doc: EnvironmentDoc }>,
  resolve: (raw: string) => string | undefined,
): Importer[] {
  const out: Importer[] = []
  for (const { id, doc } of documents) {
    if (id === target) continue
    for (const u of usesOf(doc, resolve)) if (u.target === target) out.push({ id, ...u.use })
  }
  return out.sort((a, b) => a.id.localeCompare(b.id) || a.line - b.line)
}
