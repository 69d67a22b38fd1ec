/**
 * `npm run build:cli`: bundles the CLI (electron/cli/main.ts and everything it imports, lazily loaded
 * parts as separate chunks) into out/cli/ for a fast start; bin/envelope uses the bundle only while it is
 * up to date with its sources (out/cli/inputs.json lists them with their mtimes) and runs the TypeScript
 * sources otherwise. The native keychain module stays external.
 */
import { build } from 'rolldown'
import { rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const outDir = join(root, 'out', 'cli')
rmSync(outDir, { recursive: true, force: true })
const t0 = performance.now()
const out = await build({
  input: { main: join(root, 'electron', 'cli', 'main.ts') },
  platform: 'node',
  external: [/^node:/, '@napi-rs/keyring', /^@napi-rs\/keyring-/, /\.node$/],
  write: true,
  output: { dir: outDir, format: 'esm', entryFileNames: '[name].mjs', chunkFileNames: 'chunk-[hash].mjs', minify: false },
  logLevel: 'warn',
})
// our sources (dependencies are covered by package-lock.json: npm rewrites it whenever node_modules changes)
const inputs = new Set<string>([join(root, 'package-lock.json')])
for (const o of out.output) {
  if (o.type !== 'chunk') continue
  for (const id of o.moduleIds) if (!id.startsWith('\0') && id.startsWith(root) && !id.includes('/node_modules/')) inputs.add(id)
}
const manifest = [...inputs].sort().map((p) => [relative(root, p), statSync(p).mtimeMs] as const)
writeFileSync(join(outDir, 'inputs.json'), JSON.stringify({ built: new Date().toISOString(), inputs: manifest }))
console.log(`built out/cli (${out.output.length} files, ${manifest.length} inputs) in ${(performance.now() - t0).toFixed(0)} ms`)
