/**
 * Local store figures (in process, real SQLite file, real AES-GCM; the KEK comes from a key file so the
 * bench runs without a keychain):
 *   store.open.1000x10   open() of an environment with 1,000 values (100 secrets, 100 interpolations)
 *                         importing 10 environments of 50 values each; median of 30 (target < 20 ms),
 *                         and the fastest of those 30 (store.open.1000x10.min)
 *   store.check.1000x10  check() of the same definition as an unsaved buffer (live preview); median of 30
 *   store.save           update() of that definition (encrypt + check + fsync'd commit); median of 10
 *   store.open.1000x10.fresh         open() from a new store instance with the parse cache emptied (what a
 *                                    fresh process such as `envelope run` does): the stored syntax trees are
 *                                    decoded; median of 10
 *   store.open.1000x10.fresh_parsed  the same with the stored trees removed first (YAML parsed, as before the
 *                                    store kept them); median of 10
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { createServices } from '../electron/services/index.ts'
import { clearParseCache } from '../shared/esc/index.ts'
import { measure } from './timing.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'envelope-bench-'))
const services = createServices({ dataDir, providers: null, keys: { keyFile: join(dataDir, 'bench.key'), env: {} } })
const env = services.environments

const imports: string[] = []
for (let i = 0; i < 10; i++) {
  const id = `bench/base${i}`
  let y = 'values:\n'
  for (let k = 0; k < 50; k++) y += k % 10 === 0 ? `  b${i}_${k}:\n    fn::secret: base-secret-${i}-${k}\n` : `  b${i}_${k}: value-${i}-${k}\n`
  await env.create(id, { yaml: y })
  imports.push(id)
}
let main = `imports:\n${imports.map((i) => `  - ${i}\n`).join('')}values:\n`
for (let k = 0; k < 1000; k++) {
  if (k % 10 === 0) main += `  v${k}:\n    fn::secret: main-secret-${k}\n`
  else if (k % 10 === 1) main += `  v${k}: prefix-\${v${k - 1}}-\${b${k % 10}_${k % 50}}\n`
  else main += `  v${k}: plain-value-${k}\n`
}
await env.create('bench/main', { yaml: main })

const opened = await env.open('bench/main')
if (opened.diagnostics.length > 0 || Object.keys(opened.value ?? {}).length < 1000) {
  throw new Error(`bench environment did not evaluate cleanly: ${JSON.stringify(opened.diagnostics.slice(0, 3))}`)
}
const { median: openMs, min: openMin } = await measure(30, () => env.open('bench/main'))
const { median: checkMs } = await measure(30, () => env.check('bench/main', main))
let rev = (await env.getDefinition('bench/main')).revision
const { median: saveMs } = await measure(10, async () => {
  rev = (await env.update('bench/main', main, { baseRevision: rev })).number
})
/** open() as a fresh process does it: new store instance, no parsed documents in memory */
async function openFresh(dropTrees: boolean): Promise<number> {
  if (dropTrees) {
    const db = new DatabaseSync(env.file)
    db.exec('DELETE FROM revision_syntax')
    db.close()
  }
  clearParseCache()
  const s = createServices({ dataDir, providers: null, keys: { keyFile: join(dataDir, 'bench.key'), env: {} } })
  const t = performance.now()
  await s.environments.open('bench/main')
  const ms = performance.now() - t
  s.close()
  return ms
}
const { median: freshMs } = await measure(10, () => openFresh(false))
const { median: freshParsedMs } = await measure(10, () => openFresh(true))
console.log(`store.open.1000x10: ${openMs.toFixed(1)} ms`)
console.log(`store.open.1000x10.min: ${openMin.toFixed(1)} ms`)
console.log(`store.check.1000x10: ${checkMs.toFixed(1)} ms`)
console.log(`store.save: ${saveMs.toFixed(1)} ms`)
console.log(`store.open.1000x10.fresh: ${freshMs.toFixed(1)} ms (stored syntax trees decoded)`)
console.log(`store.open.1000x10.fresh_parsed: ${freshParsedMs.toFixed(1)} ms (YAML parsed)`)
services.close()
rmSync(dataDir, { recursive: true, force: true })
