/**
 * Runs the ESC conformance cases (layout and scoring: test/esc-conformance/README.md; vendored from pulumi/esc, see its NOTICE).
 *
 *   node test/conformance/run.ts [casesDir] [--verbose] [--only name,name] [--trees]
 *
 * --trees also compares the detailed check/eval value trees (definition ranges, flags, trace.base)
 * and lists the differences (informational: the README scores only JSON values and diagnostics).
 *
 * Prints each failure, then a final line `N passed, M failed`; exits non-zero on failure.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Diagnostic, EnvironmentLoader, EvalMode, EvalResult, JsonValue } from '../../shared/esc/index.ts'
import { clearParseCache, encodeEnvironmentDoc, evaluate, objectToJSON, parseEnvironment } from '../../shared/esc/index.ts'
import { caseLoader, TEST_CONTEXT, testCipher, testProviders } from './host.ts'

const here = dirname(fileURLToPath(import.meta.url))
const DEFAULT_DIR = resolve(here, '../esc-conformance/cases')
const OVERLAY_DIR = join(here, 'fixtures')

interface RefDiag {
  Summary: string
  Path?: string
  Subject?: { Filename?: string; Start?: { Line: number; Column: number } }
}

interface Overrides {
  showSecrets?: boolean
  rootEnvironment?: string
  rotate?: boolean
  rotatePaths?: string[]
}

type Tuple = [string, string, number, number, string]

function refTuples(ds: RefDiag[] | undefined): Tuple[] {
  return (ds ?? []).map((d) => [d.Subject?.Filename ?? '', d.Summary, d.Subject?.Start?.Line ?? 0, d.Subject?.Start?.Column ?? 0, d.Path ?? ''])
}

function ourTuples(ds: Diagnostic[]): Tuple[] {
  return ds.map((d) => [d.range?.environment ?? '', d.summary, d.range?.begin.line ?? 0, d.range?.begin.column ?? 0, d.path ?? ''])
}

function sortTuples(t: Tuple[]): Tuple[] {
  return [...t].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[2] - b[2] || a[3] - b[3] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)))
}

function fmt(t: Tuple): string {
  return `${t[0]}:${t[2]}:${t[3]} ${t[4]}: ${t[1]}`
}

function sameDiags(want: Tuple[], got: Tuple[]): string | undefined {
  // compared as (Summary, Path, Line, Column) after sorting by file, line, column, summary
  const w = sortTuples(want).map((t) => JSON.stringify([t[1], t[4], t[2], t[3]]))
  const g = sortTuples(got).map((t) => JSON.stringify([t[1], t[4], t[2], t[3]]))
  if (JSON.stringify(w) === JSON.stringify(g)) return undefined
  return `    want:\n${
    sortTuples(want)
      .map((t) => '      ' + fmt(t))
      .join('\n') || '      (none)'
  }\n    got:\n${
    sortTuples(got)
      .map((t) => '      ' + fmt(t))
      .join('\n') || '      (none)'
  }`
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b))
}

function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon)
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) o[k] = canon((v as Record<string, unknown>)[k])
    return o
  }
  return v
}

/** The plain value of a reference esc.Value tree ({value, trace}). */
function refPlain(v: unknown): JsonValue {
  if (v === null || typeof v !== 'object') return v as JsonValue
  const x = (v as { value?: unknown }).value
  if (x === undefined) return null
  if (Array.isArray(x)) return x.map(refPlain)
  if (x !== null && typeof x === 'object') {
    const o: { [k: string]: JsonValue } = {}
    for (const k of Object.keys(x)) o[k] = refPlain((x as Record<string, unknown>)[k])
    return o
  }
  return x as JsonValue
}

/** Stretch: compares the detailed value trees (definition ranges, secret/unknown flags, trace.base). */
function compareTree(ref: unknown, got: unknown, path: string, out: string[]): void {
  if (!ref || typeof ref !== 'object') return
  const r = ref as { value?: unknown; secret?: boolean; unknown?: boolean; trace?: { def?: Range0; base?: unknown } }
  const g = got as typeof r | undefined
  const f = (d?: Range0) => (d ? `${d.environment}:${d.begin.line}:${d.begin.column}-${d.end.line}:${d.end.column}` : 'none')
  if (f(r.trace?.def) !== f(g?.trace?.def)) out.push(`${path}: def ${f(r.trace?.def)} != ${f(g?.trace?.def)}`)
  if (!!r.secret !== !!g?.secret) out.push(`${path}: secret ${!!r.secret} != ${!!g?.secret}`)
  if (!!r.unknown !== !!g?.unknown) out.push(`${path}: unknown ${!!r.unknown} != ${!!g?.unknown}`)
  const rv = r.value
  const gv = g?.value as Record<string, unknown> | unknown[] | undefined
  if (Array.isArray(rv)) rv.forEach((x, i) => compareTree(x, Array.isArray(gv) ? gv[i] : undefined, `${path}[${i}]`, out))
  else if (rv && typeof rv === 'object')
    for (const k of Object.keys(rv)) compareTree((rv as Record<string, unknown>)[k], gv && !Array.isArray(gv) ? gv[k] : undefined, `${path}.${k}`, out)
  if (r.trace?.base) {
    if (!g?.trace?.base) out.push(`${path}: trace.base missing`)
    else compareTree(r.trace.base, g.trace.base, `${path}<base>`, out)
  }
}

interface Range0 {
  environment: string
  begin: { line: number; column: number }
  end: { line: number; column: number }
}

let treeNotes: string[] = []

/**
 * Runs one case. `viaSyntaxCache`: every document (root and imports) reaches the evaluator as the cached
 * tree a host keeps (encodeEnvironmentDoc, decoded instead of parsed; the parse cache is emptied before
 * each evaluation), to show that evaluating a decoded tree gives exactly the results of parsing.
 * `stats.decoded` counts the documents handed over that way.
 */
export async function runCase(dir: string, opts: { viaSyntaxCache?: boolean; stats?: { decoded: number } } = {}): Promise<string[]> {
  const caseName = dir.split('/').filter(Boolean).pop() as string
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, unknown>
  const overrides: Overrides = existsSync(join(dir, 'overrides.json')) ? JSON.parse(readFileSync(join(dir, 'overrides.json'), 'utf8')) : {}
  const name = overrides.rootEnvironment ?? caseName
  const source = readFileSync(join(dir, 'env.yaml'), 'utf8')
  const failures: string[] = []
  const providers = testProviders()
  const syntaxOf = (n: string, text: string): string | undefined => {
    if (!opts.viaSyntaxCache) return undefined
    const syntax = encodeEnvironmentDoc(parseEnvironment(n, text).doc)
    clearParseCache()
    if (syntax !== undefined && opts.stats) opts.stats.decoded++
    return syntax
  }
  const files = caseLoader(dir, caseName, OVERLAY_DIR)
  const loader: EnvironmentLoader = {
    async load(n) {
      const got = await files.load(n)
      const syntax = got && syntaxOf(got.name, got.source)
      return got && syntax !== undefined ? { ...got, syntax } : got
    },
  }

  const load = parseEnvironment(name, source)
  const loadTuples = ourTuples(load.diagnostics)
  if ('loadDiags' in expected) {
    const d = sameDiags(refTuples(expected.loadDiags as RefDiag[]), loadTuples)
    if (d) failures.push(`  loadDiags differ\n${d}`)
  } else if (loadTuples.length) {
    failures.push(`  unexpected load diagnostics\n${loadTuples.map((t) => '      ' + fmt(t)).join('\n')}`)
  }
  const loadKeys = new Set(loadTuples.map((t) => JSON.stringify(t)))
  const withoutLoad = (r: EvalResult) => ourTuples(r.diagnostics).filter((t) => !loadKeys.has(JSON.stringify(t)))

  const run = (mode: EvalMode) => {
    const syntax = syntaxOf(name, source)
    return evaluate({
      name,
      source,
      mode,
      loader,
      providers,
      cipher: testCipher,
      context: TEST_CONTEXT,
      rotatePaths: overrides.rotatePaths,
      ...(syntax !== undefined ? { syntax } : {}),
    })
  }

  const phases: Array<{ mode: EvalMode; diagKey: string; json: Array<[string, boolean]>; present: boolean }> = [
    {
      mode: 'check',
      diagKey: 'checkDiags',
      json: [['checkJson', !!overrides.showSecrets]],
      present: ['check', 'checkJson', 'checkDiags'].some((k) => k in expected),
    },
    {
      mode: 'eval',
      diagKey: 'evalDiags',
      json: [
        ['evalJsonRedacted', false],
        ['evalJSONRevealed', true],
      ],
      present: ['eval', 'evalJsonRedacted', 'evalJSONRevealed', 'evalDiags'].some((k) => k in expected),
    },
    {
      mode: 'rotate',
      diagKey: 'rotateDiags',
      json: [['rotateJson', false]],
      present: !!overrides.rotate && ['rotate', 'rotateJson', 'rotateDiags', 'rotatePatches'].some((k) => k in expected),
    },
  ]
  for (const ph of phases) {
    if (!ph.present) continue
    const res = await run(ph.mode)
    const detailed = (expected[ph.mode] as { properties?: Record<string, unknown> } | undefined)?.properties
    if (detailed) {
      const out: string[] = []
      for (const k of Object.keys(detailed)) compareTree(detailed[k], res.value?.[k], k, out)
      treeNotes.push(...out.map((o) => `${caseName} ${ph.mode}: ${o}`))
    }
    const d = sameDiags(refTuples(expected[ph.diagKey] as RefDiag[] | undefined), withoutLoad(res))
    if (d) failures.push(`  ${ph.diagKey} differ\n${d}`)
    for (const [key, reveal] of ph.json) {
      if (!(key in expected)) continue
      const got = objectToJSON(res.value, { reveal })
      if (!deepEqual(got, expected[key])) {
        failures.push(`  ${key} differs\n    want: ${JSON.stringify(canon(expected[key]))}\n    got:  ${JSON.stringify(canon(got))}`)
      }
    }
    if (ph.mode === 'rotate' && 'rotatePatches' in expected) {
      const want = (expected.rotatePatches as Array<{ DocPath: string; Replacement: unknown }>).map((p) => ({
        path: p.DocPath,
        state: refPlain(p.Replacement),
      }))
      const got = (res.patches ?? []).map((p) => ({ path: p.path, state: p.state }))
      const key = (p: { path: string }) => p.path
      want.sort((a, b) => key(a).localeCompare(key(b)))
      got.sort((a, b) => key(a).localeCompare(key(b)))
      if (!deepEqual(want, got)) failures.push(`  rotatePatches differ\n    want: ${JSON.stringify(canon(want))}\n    got:  ${JSON.stringify(canon(got))}`)
    }
  }
  return failures
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const verbose = args.includes('--verbose')
  const trees = args.includes('--trees')
  const onlyIdx = args.indexOf('--only')
  const only = onlyIdx >= 0 ? new Set(args[onlyIdx + 1].split(',')) : undefined
  const positional = args.filter((a, i) => !a.startsWith('--') && !(onlyIdx >= 0 && i === onlyIdx + 1))
  const dir = positional[0] ? resolve(positional[0]) : DEFAULT_DIR
  const names = readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isDirectory() && existsSync(join(dir, n, 'expected.json')))
    .sort()
  let passed = 0
  let failed = 0
  for (const n of names) {
    if (n === 'bench') continue // a performance case, not a correctness case
    if (only && !only.has(n)) continue
    let failures: string[]
    try {
      failures = await runCase(join(dir, n))
    } catch (e) {
      failures = [`  threw: ${(e as Error).stack ?? String(e)}`]
    }
    if (failures.length) {
      failed++
      console.log(`FAIL ${n}\n${failures.join('\n')}`)
    } else {
      passed++
      if (verbose) console.log(`ok   ${n}`)
    }
  }
  if (trees) {
    // informational (the README's stretch goal): differences in the detailed trees, not scored
    console.log(`detailed trees: ${treeNotes.length} differences`)
    for (const t of treeNotes) console.log(`  ${t}`)
  }
  treeNotes = []
  console.log(`${passed} passed, ${failed} failed`)
  process.exitCode = failed ? 1 : 0
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
