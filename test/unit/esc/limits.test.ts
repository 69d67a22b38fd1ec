/** Limits: each has a safe default and a clear diagnostic when exceeded. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_LIMITS, evaluate, parseEnvironment, toJSON } from '../../../shared/esc/index.ts'
import type { EvalResult } from '../../../shared/esc/index.ts'

const summaries = (r: EvalResult) => r.diagnostics.map((d) => d.summary)

function loaderOf(envs: Record<string, string>) {
  return {
    async load(name: string) {
      return envs[name] === undefined ? undefined : { name, source: envs[name] }
    },
  }
}

test('defaults are safe', () => {
  assert.equal(DEFAULT_LIMITS.maxDocumentBytes, 1024 * 1024)
  assert.equal(DEFAULT_LIMITS.maxDepth, 64)
  assert.equal(DEFAULT_LIMITS.maxImportDepth, 32)
  assert.equal(DEFAULT_LIMITS.maxImports, 256)
  assert.equal(DEFAULT_LIMITS.maxAliasCount, 100)
  assert.equal(DEFAULT_LIMITS.maxStringBytes, 4 * 1024 * 1024)
})

test('document size', async () => {
  const source = `values:\n  a: ${'x'.repeat(200)}\n`
  const r = await evaluate({ name: 'big', source, mode: 'eval', limits: { maxDocumentBytes: 100 } })
  assert.deepEqual(summaries(r), ['document exceeds the maximum size of 100 bytes'])
  assert.equal(r.value, undefined)
  // multi-byte characters count as bytes
  const utf8 = `values:\n  a: ${'é'.repeat(40)}\n`
  assert.ok(utf8.length < 100)
  const r2 = await evaluate({ name: 'big', source: utf8, mode: 'eval', limits: { maxDocumentBytes: 80 } })
  assert.deepEqual(summaries(r2), ['document exceeds the maximum size of 80 bytes'])
  const ok = await evaluate({ name: 'big', source, mode: 'eval' })
  assert.deepEqual(ok.diagnostics, [])
})

test('nesting depth', async () => {
  const source = 'values:\n  a: ' + '['.repeat(10) + '1' + ']'.repeat(10) + '\n  b: ok\n'
  const r = await evaluate({ name: 'deep', source, mode: 'eval', limits: { maxDepth: 5 } })
  assert.deepEqual(summaries(r), ['value nesting exceeds the maximum depth of 5'])
  assert.equal(r.diagnostics[0].range?.begin.line, 2)
  assert.deepEqual(toJSON(r.value?.b, { reveal: true }), 'ok')
  const ok = await evaluate({ name: 'deep', source, mode: 'eval' })
  assert.deepEqual(ok.diagnostics, [])
})

test('import depth and import count', async () => {
  const envs: Record<string, string> = {}
  for (let i = 0; i < 10; i++) envs[`e${i}`] = `imports:\n  - e${i + 1}\nvalues:\n  v${i}: ${i}\n`
  envs.e10 = 'values:\n  last: 10\n'
  const r = await evaluate({ name: 'root', source: 'imports:\n  - e0\n', mode: 'eval', loader: loaderOf(envs), limits: { maxImportDepth: 4 } })
  assert.ok(summaries(r).includes('import depth exceeds the maximum of 4'), summaries(r).join('; '))
  const ok = await evaluate({ name: 'root', source: 'imports:\n  - e0\n', mode: 'eval', loader: loaderOf(envs) })
  assert.deepEqual(ok.diagnostics, [])
  assert.deepEqual(toJSON(ok.value?.last, { reveal: true }), 10)
  assert.deepEqual(ok.imports, ['e10', 'e9', 'e8', 'e7', 'e6', 'e5', 'e4', 'e3', 'e2', 'e1', 'e0'])

  const many: Record<string, string> = {}
  for (let i = 0; i < 20; i++) many[`m${i}`] = `values:\n  m${i}: ${i}\n`
  const src =
    'imports:\n' +
    Object.keys(many)
      .map((n) => `  - ${n}\n`)
      .join('')
  const r2 = await evaluate({ name: 'root', source: src, mode: 'eval', loader: loaderOf(many), limits: { maxImports: 5 } })
  assert.ok(
    summaries(r2).some((s) => s === 'too many imported environments (maximum 5)'),
    summaries(r2).join('; '),
  )
})

test('string growth', async () => {
  const lines = ['values:', '  s0: abcdefghij']
  for (let i = 1; i <= 12; i++) lines.push(`  s${i}: \${s${i - 1}}\${s${i - 1}}`)
  lines.push('  j: {fn::join: ["", ["${s12}", "${s12}"]]}')
  const r = await evaluate({ name: 'grow', source: lines.join('\n'), mode: 'eval', limits: { maxStringBytes: 10_000 } })
  assert.ok(summaries(r).includes('string exceeds the maximum length of 10000 bytes'), summaries(r).join('; '))
  assert.equal((toJSON(r.value?.s9, { reveal: true }) as string).length, 5120)
  assert.deepEqual(toJSON(r.value?.s12, { reveal: true }), '[unknown]')
  const ok = await evaluate({ name: 'grow', source: lines.join('\n'), mode: 'eval' })
  assert.deepEqual(ok.diagnostics, [])
  assert.equal((toJSON(ok.value?.j, { reveal: true }) as string).length, 81920)
})

test('YAML alias expansions', () => {
  const source = 'values:\n  a: &a [1, 2]\n  b: [*a, *a, *a, *a]\n'
  const { diagnostics } = parseEnvironment('aliases', source, { maxAliasCount: 3 })
  assert.deepEqual(
    diagnostics.map((d) => [d.summary, d.range?.begin.line, d.range?.begin.column]),
    [['too many YAML alias expansions (limit 3)', 3, 19]],
  )
  assert.deepEqual(parseEnvironment('aliases', source).diagnostics, [])
})

test('a provider that never answers times out with a diagnostic', async () => {
  const registry = { provider: (n: string) => (n === 'hang' ? { open: () => new Promise<never>(() => {}) } : undefined), rotator: () => undefined }
  const r = await evaluate({
    name: 'h',
    source: 'values:\n  a: {fn::open::hang: {}}\n  b: ok\n',
    mode: 'eval',
    providers: registry,
    limits: { operationTimeoutMs: 50 },
  })
  assert.deepEqual(
    r.diagnostics.map((d) => [d.path, d.summary]),
    [['values.a', 'timed out after 0.05 s']],
  )
  assert.deepEqual(toJSON(r.value?.b, { reveal: true }), 'ok')
})
