/**
 * `npm run build:cli`: bundles the CLI (electron/cli/main.ts and everything it imports, lazily loaded
 * parts as separate chunks) into out/cli/ for a fast start; bin/envelope uses the bundle only while it is
 * up to date with its sources (out/cli/inputs.json lists them with their mtimes) and runs the TypeScript
 * sources otherwise. The native keychain module stays external.
 */
import { build } from 'rolldown'
import type { RolldownOutput } from 'rolldown'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * `import { x } from "node:fs"` in an ES module makes Node build the builtin's ESM facade, which reads
 * every export and so loads all of the builtin's lazily loaded parts (node:fs pulls in fs/promises and
 * readline, node:crypto webcrypto, node:util parseArgs…): ~15 ms of start-up for nothing. The chunks
 * take their builtins from `process.getBuiltinModule()` instead (the plain CommonJS exports, no facade).
 */
function builtinsWithoutFacade(code: string): string {
  return code.replace(
    /^import\s+(?:([\w$]+)\s*,?\s*)?(?:\{([^}]*)\}|\*\s+as\s+([\w$]+))?\s*from\s*"(node:[\w/]+)";?$/gm,
    (m, def: string | undefined, named: string | undefined, ns: string | undefined, id: string) => {
      const get = `process.getBuiltinModule(${JSON.stringify(id)})`
      const out: string[] = []
      if (def) out.push(`const ${def} = ${get};`)
      if (ns) out.push(`const ${ns} = ${get};`)
      if (named !== undefined) {
        const names = named
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean)
          .map((n) => n.replace(/^([\w$]+)\s+as\s+([\w$]+)$/, '$1: $2'))
        if (names.some((n) => !/^[\w$]+(?:: [\w$]+)?$/.test(n))) return m // unexpected syntax: leave it as it was
        out.push(`const { ${names.join(', ')} } = ${get};`)
      }
      return out.length > 0 ? out.join(' ') : m
    },
  )
}
/**
 * Escapes every non-ASCII character as `\uXXXX` (per UTF-16 unit; a surrogate pair stays a pair), which
 * means the same character in string, template and regular-expression literals, identifiers and comments.
 */
function asciiOnly(code: string): string {
  return code.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * The CommonJS bundle requires every builtin it uses at its top. A `run` served by the agent never needs
 * crypto, SQLite or the keychain (~15 ms of loading): each top-level `let node_x = require("node:x")`
 * becomes a function that requires the builtin on first use, and every use of `node_x` calls it.
 */
function lazyBuiltins(code: string): string {
  const names: string[] = []
  const out = code.replace(/^let (node_\w+) = require\("(node:[\w/]+)"\);$/gm, (_m, name: string, id: string) => {
    names.push(name)
    return `let ${name}$m; function ${name}$() { return ${name}$m ??= require(${JSON.stringify(id)}); }`
  })
  if (names.length === 0) return code
  // a use is the name not followed by `$` (the declarations above are `node_x$m` / `node_x$`); in parentheses,
  // so that `new node_x.Class()` stays a `new` of the class
  return out.replace(new RegExp(`\\b(?:${names.join('|')})\\b(?!\\$)`, 'g'), (name) => `(${name}$())`)
}

// `--out <dir>`: build elsewhere (a test builds into a scratch checkout); default out/cli
const outArg = process.argv.indexOf('--out')
const outDir = outArg > 0 && process.argv[outArg + 1] ? resolve(process.argv[outArg + 1]!) : join(root, 'out', 'cli')
/** One classic-script (CommonJS) bundle of electron/cli/<entry> without code splitting, minified. */
function classicScript(name: string, entry: string): Promise<RolldownOutput> {
  return build({
    input: { [name]: join(root, 'electron', 'cli', entry) },
    platform: 'node',
    // the postgres driver stays a dynamic import (loaded by the few environments that use it)
    external: [/^node:/, '@napi-rs/keyring', /^@napi-rs\/keyring-/, /\.node$/, 'pg'],
    write: true,
    output: { dir: tmpDir, format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false, minify: { compress: true, mangle: { keepNames: true } } },
    plugins: [{ name: 'lazy-builtins', renderChunk: (code) => ({ code: lazyBuiltins(code) }) }],
    logLevel: 'warn',
  })
}

// built beside, then swapped in: a failed build leaves the previous bundle in place
const tmpDir = `${outDir}.build-${process.pid}`
rmSync(tmpDir, { recursive: true, force: true })
const t0 = performance.now()
let out: RolldownOutput
let fast: RolldownOutput
let agentFast: RolldownOutput
try {
  out = await build({
    input: { main: join(root, 'electron', 'cli', 'main.ts') },
    platform: 'node',
    external: [/^node:/, '@napi-rs/keyring', /^@napi-rs\/keyring-/, /\.node$/],
    write: true,
    output: { dir: tmpDir, format: 'esm', entryFileNames: '[name].mjs', chunkFileNames: 'chunk-[hash].mjs', minify: false },
    plugins: [{ name: 'builtins-without-facade', renderChunk: (code) => ({ code: builtinsWithoutFacade(code) }) }],
    logLevel: 'warn',
  })
  // `envelope run` alone, as one classic script: bin/envelope runs it with a V8 code cache taken after a
  // run (so it holds every function the run path compiled), no ES module loading at all
  fast = await classicScript('run', 'fast.ts')
  // `envelope run` served by the agent: a small bundle bin/envelope tries first (see agent-fast.ts)
  agentFast = await classicScript('agent-run', 'agent-fast.ts')
} catch (err) {
  rmSync(tmpDir, { recursive: true, force: true })
  throw err
}
// our sources (dependencies are covered by package-lock.json: npm rewrites it whenever node_modules changes)
const inputs = new Set<string>([join(root, 'package-lock.json')])
for (const o of [...out.output, ...fast.output, ...agentFast.output]) {
  if (o.type !== 'chunk') continue
  for (const id of o.moduleIds) if (!id.startsWith('\0') && id.startsWith(root) && !id.includes('/node_modules/')) inputs.add(id)
}
const manifest = [...inputs].sort().map((p) => [relative(root, p), statSync(p).mtimeMs] as const)
// ASCII only (after minification, which would undo it): Node then reads the file into a one-byte string
// without the UTF-8 slow path (a two-byte 500 KB string cost ~5 ms at every start). Each classic-script
// bundle is named by its content hash, which also names its V8 code cache (V8 checks a cache only against
// the source length, not its content).
const classic = (file: string) => {
  const text = asciiOnly(readFileSync(join(tmpDir, file), 'utf8'))
  writeFileSync(join(tmpDir, file), text)
  return { file, hash: createHash('sha256').update(text).digest('hex').slice(0, 16) }
}
const run = classic('run.cjs')
const agentRun = classic('agent-run.cjs')
writeFileSync(join(tmpDir, 'inputs.json'), JSON.stringify({ built: new Date().toISOString(), run, agentRun, inputs: manifest }))
const oldDir = `${outDir}.old-${process.pid}`
if (existsSync(outDir)) renameSync(outDir, oldDir)
renameSync(tmpDir, outDir)
rmSync(oldDir, { recursive: true, force: true })
console.log(`built ${relative(root, outDir) || outDir} (${out.output.length} files, ${manifest.length} inputs) in ${(performance.now() - t0).toFixed(0)} ms`)
