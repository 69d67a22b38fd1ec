/**
 * Language core figures (pure evaluation, in process):
 *   eval.root.cold      evaluate the root of 200 environments x 200 values (import chains of depth 10,
 *                       interpolation everywhere), parse included           target: <= 3x yaml.parse
 *   eval.root.warm      the same, documents already parsed (live preview: imports unchanged)
 *   yaml.parse          bare `yaml` parseDocument of the same 201 documents
 *   eval.ratio          eval.root.cold / yaml.parse                          target: <= 3
 *   eval.typical        one typical environment (50 values, 3 imports), cold  target: < 2 ms
 *   eval.typical.warm   the same, imports parsed (a keystroke in the editor)
 *   eval.typical.stored the same as stored (secrets encrypted), cold, its 4 documents parsed
 *   eval.typical.cached the same as stored, cold, the 4 documents' syntax trees decoded from their cached form
 *                       (what the store hands over: shared/esc/syntax-cache.ts) instead of parsed
 * Each figure is the median of several runs; `.min` is the fastest run and `.cpu` the process CPU time
 * (the machine may be shared with other work: those are the steadier figures).
 */
import { parseDocument } from 'yaml'
import { encodeEnvironmentDoc, encryptSecrets, evaluate, parseEnvironment } from '../shared/esc/index.ts'
import type { EnvironmentLoader, EvalResult } from '../shared/esc/index.ts'
import { clearParseCache } from '../shared/esc/syntax.ts'

const ENVS = 200
const VALUES = 200
const CHAIN = 10

function envName(i: number): string {
  return `proj/env${i}`
}

/** Environment i imports the previous one of its chain (chains of CHAIN environments). */
function genEnv(i: number, values: number): string {
  const lines: string[] = []
  if (i % CHAIN !== 0) lines.push('imports:', `  - ${envName(i - 1)}`)
  lines.push('values:')
  lines.push(`  e${i}:`)
  lines.push(`    name: env-${i}`)
  lines.push(`    port: ${1000 + i}`)
  lines.push(`    token: {fn::secret: tok-${i}}`)
  const prev = i % CHAIN !== 0 ? i - 1 : i
  for (let j = 0; j < values; j++) {
    switch (j % 5) {
      case 0:
        lines.push(`  v${i}_${j}: https://\${e${i}.name}:\${e${i}.port}/p${j}`)
        break
      case 1:
        lines.push(`  v${i}_${j}: \${e${prev}.name}-\${v${i}_${j - 1}}`)
        break
      case 2:
        lines.push(`  v${i}_${j}:`, `    host: h${j}.example.com`, `    url: http://\${v${i}_${j}.host}/x`, `    tok: \${e${i}.token}`)
        break
      case 3:
        lines.push(`  v${i}_${j}: {fn::join: ["-", ["\${e${i}.name}", "\${v${i}_${j - 3}}", "lit"]]}`)
        break
      default:
        lines.push(`  v${i}_${j}: ["\${v${i}_${j - 1}}", "\${e${prev}.port}", ${j}]`)
    }
  }
  return lines.join('\n') + '\n'
}

function genWorkload(): { sources: Map<string, string>; root: string } {
  const sources = new Map<string, string>()
  for (let i = 0; i < ENVS; i++) sources.set(envName(i), genEnv(i, VALUES))
  const tips: string[] = []
  for (let i = CHAIN - 1; i < ENVS; i += CHAIN) tips.push(envName(i))
  const root = ['imports:', ...tips.map((t) => `  - ${t}`), 'values:', '  root:', `    first: \${e0.name}`, `    last: \${e${ENVS - 1}.port}`].join('\n') + '\n'
  return { sources, root }
}

function loaderOf(sources: Map<string, string>): EnvironmentLoader {
  return {
    async load(name) {
      const s = sources.get(name)
      return s === undefined ? undefined : { name, source: s }
    },
  }
}

/** CPU time of this process in ms (the machine may be shared: wall time is reported too). */
function cpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

interface Timing {
  wall: number
  cpu: number
  min: number
}

async function time(f: () => Promise<unknown> | unknown, runs: number): Promise<Timing> {
  const walls: number[] = []
  const cpus: number[] = []
  for (let r = 0; r < runs; r++) {
    const c0 = cpuMs()
    const t0 = performance.now()
    await f()
    walls.push(performance.now() - t0)
    cpus.push(cpuMs() - c0)
  }
  walls.sort((a, b) => a - b)
  cpus.sort((a, b) => a - b)
  return { wall: walls[Math.floor(runs / 2)], cpu: cpus[Math.floor(runs / 2)], min: walls[0] }
}

function check(res: EvalResult, what: string): void {
  const errs = res.diagnostics.filter((d) => d.severity === 'error')
  if (errs.length)
    throw new Error(
      `${what}: unexpected diagnostics: ${errs
        .slice(0, 3)
        .map((d) => d.summary)
        .join('; ')}`,
    )
}

const { sources, root } = genWorkload()
const loader = loaderOf(sources)
const cipher = { encrypt: async (b: Uint8Array) => b, decrypt: async (b: Uint8Array) => b }

// warm up the JIT
for (let i = 0; i < 3; i++) {
  clearParseCache()
  check(await evaluate({ name: 'proj/root', source: root, mode: 'eval', loader, cipher }), 'root')
}
const res = await evaluate({ name: 'proj/root', source: root, mode: 'eval', loader, cipher })
check(res, 'root')
const nvalues = Object.keys(res.value ?? {}).length

const docs = [root, ...sources.values()]
const yamlMs = await time(() => {
  for (const d of docs) parseDocument(d)
}, 7)
const coldMs = await time(async () => {
  clearParseCache()
  await evaluate({ name: 'proj/root', source: root, mode: 'eval', loader, cipher })
}, 7)
const warmMs = await time(() => evaluate({ name: 'proj/root', source: root, mode: 'eval', loader, cipher }), 7)

// a typical environment: 50 values, 3 imports
const typicalSources = new Map<string, string>()
for (let k = 0; k < 3; k++) typicalSources.set(`t/base${k}`, genEnv(k * CHAIN, 20))
const typical =
  ['imports:', '  - t/base0', '  - t/base1', '  - t/base2'].join('\n') +
  '\n' +
  genEnv(3 * CHAIN, 47) +
  ['  link0: ${e0.name}', '  link1: ${e10.port}', '  link2: ${e20.token}'].join('\n') +
  '\n'
const tloader = loaderOf(typicalSources)
check(await evaluate({ name: 't/app', source: typical, mode: 'eval', loader: tloader, cipher }), 'typical')
for (let i = 0; i < 20; i++) {
  clearParseCache()
  await evaluate({ name: 't/app', source: typical, mode: 'eval', loader: tloader, cipher })
}
const typicalCold = await time(async () => {
  clearParseCache()
  await evaluate({ name: 't/app', source: typical, mode: 'eval', loader: tloader, cipher })
}, 101)
// the store's case: documents as stored (secrets encrypted), each with its syntax tree in cached form
const stored = async (name: string, text: string): Promise<string> => (await encryptSecrets(text, cipher, name)).text
const syntaxOf = (name: string, text: string): string => {
  const tree = encodeEnvironmentDoc(parseEnvironment(name, text).doc)
  if (tree === undefined) throw new Error(`${name}: not cacheable`)
  return tree
}
const storedTypical = await stored('t/app', typical)
const storedImports = new Map<string, string>()
for (const [n, src] of typicalSources) storedImports.set(n, await stored(n, src))
const typicalSyntax = syntaxOf('t/app', storedTypical)
const importSyntax = new Map([...storedImports].map(([n, src]) => [n, syntaxOf(n, src)]))
const storedLoader = loaderOf(storedImports)
const cachedLoader: EnvironmentLoader = {
  async load(name) {
    const got = await storedLoader.load(name)
    return got && { ...got, syntax: importSyntax.get(name)! }
  },
}
check(await evaluate({ name: 't/app', source: storedTypical, syntax: typicalSyntax, mode: 'eval', loader: cachedLoader, cipher }), 'typical (cached trees)')
const typicalStored = await time(async () => {
  clearParseCache()
  await evaluate({ name: 't/app', source: storedTypical, mode: 'eval', loader: storedLoader, cipher })
}, 101)
const typicalCached = await time(async () => {
  clearParseCache()
  await evaluate({ name: 't/app', source: storedTypical, syntax: typicalSyntax, mode: 'eval', loader: cachedLoader, cipher })
}, 101)
const typicalWarm = await time(() => evaluate({ name: 't/app', source: typical + `# edit ${Math.random()}\n`, mode: 'eval', loader: tloader, cipher }), 101)

const fmt = (t: Timing, d = 1) => `${t.wall.toFixed(d)} ms`
console.log(`eval.workload: ${nvalues} values (root of ${ENVS} environments x ${VALUES} values, import chains of ${CHAIN})`)
console.log(`eval.root.cold: ${fmt(coldMs)}`)
console.log(`eval.root.cold.cpu: ${coldMs.cpu.toFixed(1)} ms`)
console.log(`eval.root.warm: ${fmt(warmMs)}`)
console.log(`yaml.parse: ${fmt(yamlMs)}`)
console.log(`yaml.parse.cpu: ${yamlMs.cpu.toFixed(1)} ms`)
console.log(`eval.ratio: ${(coldMs.wall / yamlMs.wall).toFixed(2)} x`)
console.log(`eval.ratio.cpu: ${(coldMs.cpu / yamlMs.cpu).toFixed(2)} x`)
console.log(`eval.root.cold.min: ${coldMs.min.toFixed(1)} ms`)
console.log(`yaml.parse.min: ${yamlMs.min.toFixed(1)} ms`)
console.log(`eval.ratio.min: ${(coldMs.min / yamlMs.min).toFixed(2)} x`)
console.log(`eval.typical: ${fmt(typicalCold, 2)}`)
console.log(`eval.typical.min: ${typicalCold.min.toFixed(2)} ms`)
console.log(`eval.typical.cpu: ${typicalCold.cpu.toFixed(2)} ms`)
console.log(`eval.typical.stored: ${fmt(typicalStored, 2)}`)
console.log(`eval.typical.cached: ${fmt(typicalCached, 2)}`)
console.log(`eval.typical.cached.min: ${typicalCached.min.toFixed(2)} ms`)
console.log(`eval.typical.warm: ${fmt(typicalWarm, 2)}`)
console.log(`eval.typical.warm.min: ${typicalWarm.min.toFixed(2)} ms`)
console.log(`eval.typical.warm.cpu: ${typicalWarm.cpu.toFixed(2)} ms`)
