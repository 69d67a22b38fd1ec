/**
 * `npm run bench`: runs every bench/*.bench.ts in its own Node process, one after another (benchmarks share
 * 2 cores: never in parallel), and prints their figures. Figures only: no pass/fail thresholds here; the
 * targets are stated next to each figure. (store-scale.bench.ts: `env set` on 40,000 keys and `env init` of 5,000
 * secrets through the real CLI, with the load average.)
 */
import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
let failures = 0
for (const f of files) {
  console.log(`\n## ${f}`)
  const r = spawnSync(process.execPath, [join(here, f)], { stdio: 'inherit' })
  if (r.status !== 0) {
    failures++
    console.log(`(${f} exited with ${r.status ?? r.signal})`)
  }
}
process.exit(failures === 0 ? 0 : 1)
