/** scripts/check-cycles.ts: finds a cycle (of values or of types only) and passes a tree without one. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/check-cycles.ts')

function check(files: Record<string, string>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'envelope-cycles-'))
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
    const r = spawnSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8' })
    return { status: r.status, out: r.stdout + r.stderr }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('a cycle of value imports fails and names its modules', () => {
  const r = check({
    'a.ts': "import { b } from './b.ts'\nexport const a = b\n",
    'b.ts': "import { c } from './c.ts'\nexport const b = c\n",
    'c.ts': "export { a as c } from './a.ts'\n",
  })
  assert.equal(r.status, 1, r.out)
  for (const m of ['a.ts', 'b.ts', 'c.ts']) assert.match(r.out, new RegExp(m.replace('.', '\\.')))
})

test('a cycle of type-only imports fails too, marked as types only', () => {
  const r = check({ 'a.ts': "import type { B } from './b.ts'\nexport type A = B[]\n", 'b.ts': "import type { A } from './a.ts'\nexport type B = { a?: A }\n" })
  assert.equal(r.status, 1, r.out)
  assert.match(r.out, /types only/)
})

test('a tree without cycles passes; imports inside comments and strings do not count', () => {
  const r = check({
    'a.ts': "import { b } from './b.ts'\nexport const a = b\n",
    'b.ts': "// import { a } from './a.ts'\nexport const b = `import { a } from './a.ts'`\n",
  })
  assert.equal(r.status, 0, r.out)
})

test('the repository has no import cycle', () => {
  const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stdout + r.stderr)
})
