/**
 * The layer table (eslint-rules/layers.js) as lint sees it: a deliberate layering violation fails lint, an
 * allowed import passes, for every pair of layers in the table; and the repository's ESLint config applies the
 * rule to every layer's files.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'
import tseslint from 'typescript-eslint'
import layers, { LAYERS } from '../../../eslint-rules/layers.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

const eslint = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [
    { files: ['**/*.ts', '**/*.tsx'], languageOptions: { parser: tseslint.parser }, plugins: { local: layers }, rules: { 'local/layers': 'error' } },
  ],
})

async function messages(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: join(ROOT, file) })
  return r!.messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`)
}

/** A relative import from a file in `from`'s folder to a file in `to`'s folder. */
function importBetween(from: (typeof LAYERS)[number], to: (typeof LAYERS)[number]): { file: string; code: string } {
  const file = `${from.folder}/zz-probe.ts`
  const target = `${to.folder}/zz-target.ts`
  let rel = join(...from.folder.split('/').map(() => '..'), target)
  if (!rel.startsWith('.')) rel = `./${rel}`
  return { file, code: `import { x } from '${rel}'\nexport const y = x\n` }
}

test('every pair of layers: an import is refused exactly when the table does not allow it', async () => {
  for (const from of LAYERS) {
    for (const to of LAYERS) {
      const { file, code } = importBetween(from, to)
      const got = await messages(file, code)
      const allowed = from.may.includes(to.layer)
      assert.equal(got.length === 0, allowed, `${from.layer} → ${to.layer}: ${allowed ? 'allowed' : 'refused'} expected, got ${JSON.stringify(got)}`)
      if (!allowed) assert.match(got[0]!, new RegExp(`^local/layers: ${from.layer} \\(${from.folder}/\\) may not import ${to.layer}`))
    }
  }
})

test('pure layers use no Node built-ins, no Electron and no other package than the pure ones', async () => {
  for (const layer of LAYERS.filter((l) => l.packages === 'pure')) {
    const file = `${layer.folder}/zz-probe.ts`
    assert.deepEqual(await messages(file, "import { parse } from 'yaml'\nexport const p = parse\n"), [])
    for (const spec of ['node:fs', 'fs', 'node:child_process', 'electron', 'react', 'pg']) {
      const got = await messages(file, `import * as m from '${spec}'\nexport const p = m\n`)
      assert.equal(got.length, 1, `${layer.layer} importing ${spec}: ${JSON.stringify(got)}`)
    }
  }
})

test('Electron is imported only by the main process and the preload; the renderer uses no Node built-ins', async () => {
  for (const layer of LAYERS) {
    const got = await messages(`${layer.folder}/zz-probe.ts`, "import { app } from 'electron'\nexport const a = app\n")
    assert.equal(got.length === 0, layer.electron === true, `${layer.layer}: ${JSON.stringify(got)}`)
  }
  assert.equal((await messages('renderer/src/zz-probe.ts', "import { readFileSync } from 'node:fs'\nexport const r = readFileSync\n")).length, 1)
  assert.deepEqual(await messages('renderer/src/zz-probe.ts', "import { useState } from 'react'\nexport const u = useState\n"), [])
  // dynamic imports are checked too
  assert.equal((await messages('shared/esc/zz-probe.ts', "export const m = () => import('../domain/zz.ts')\n")).length, 1)
})

test("the repository's ESLint config applies the layer rule to every layer's files", async () => {
  const repo = new ESLint({ cwd: ROOT })
  for (const layer of LAYERS) {
    const config = (await repo.calculateConfigForFile(join(ROOT, layer.folder, 'zz-probe.ts'))) as { rules: Record<string, unknown> }
    assert.deepEqual(config.rules['local/layers'], [2], `${layer.folder}: ${JSON.stringify(config.rules['local/layers'])}`)
  }
})
