/**
 * Property tests: evaluation never throws, never hangs and never fails internally, whatever the input.
 * ("internal error" diagnostics are how evaluate() reports an exception it caught: they count as failures.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { stringify } from 'yaml'
import type { EvalMode, EvalResult, EvaluateOptions } from '../../../shared/esc/index.ts'
import { decryptSecrets, encryptSecrets, evaluate, parseEnvironment, toJSON } from '../../../shared/esc/index.ts'
import { TEST_CONTEXT, testCipher, testProviders } from '../../conformance/host.ts'

const MODES: EvalMode[] = ['check', 'eval', 'rotate']

async function evalAll(opts: Omit<EvaluateOptions, 'mode'>): Promise<EvalResult[]> {
  const out: EvalResult[] = []
  for (const mode of MODES) {
    const res = await evaluate({ ...opts, mode })
    assert.ok(Array.isArray(res.diagnostics), 'diagnostics is an array')
    const internal = res.diagnostics.filter((d) => d.summary.startsWith('internal error'))
    assert.deepEqual(internal, [], `no internal error for:\n${opts.source}`)
    for (const d of res.diagnostics) {
      assert.equal(typeof d.summary, 'string')
      assert.ok(d.summary.length > 0)
      if (d.range) {
        assert.ok(d.range.begin.line >= 0 && d.range.begin.column >= 0 && d.range.begin.byte >= 0)
      }
    }
    // the value tree is always printable
    if (res.value) for (const k of Object.keys(res.value)) toJSON(res.value[k], { reveal: true })
    out.push(res)
  }
  return out
}

const NAMES = ['a', 'b', 'c']

/** Environments a, b, c served from a map (so imports, cycles and diamonds happen). */
function loaderFor(envs: Record<string, string>) {
  return {
    async load(name: string) {
      const source = envs[name]
      return source === undefined ? undefined : { name, source }
    },
  }
}

const key = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'x', 'imports', 'context', 'environmentVariables', 'k.y', '34', '', 'fn::bogus'),
  fc.string({ maxLength: 6 }),
)

const interp = fc.oneof(
  fc.constantFrom(
    '${a}',
    '${a.b}',
    '${a[0]}',
    '${a["k.y"]}',
    '${["34"]}',
    '${context.pulumi.user.id}',
    '${imports.a.x}',
    '${context.rootEnvironment.name}',
    'x-${b.c}-y',
    '$${not}',
    '${',
    '${}',
    '${a.}',
    '${a[}',
    '${a["x}',
    '${a[-1]}',
    '${environments.p.e.x}',
    '${x[99]}',
    '${a..b}',
    '${[0]}',
    '${c}${c}${c}',
  ),
  fc.string({ maxLength: 12 }).map((s) => '${' + s + '}'),
)

const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 10 }),
  interp,
)

const BUILTINS = [
  'fn::secret',
  'fn::join',
  'fn::split',
  'fn::concat',
  'fn::toJSON',
  'fn::fromJSON',
  'fn::toBase64',
  'fn::fromBase64',
  'fn::toString',
  'fn::final',
  'fn::open',
  'fn::open::test',
  'fn::open::error',
  'fn::open::schema',
  'fn::open::nope',
  'fn::open::secret-wrapper',
  'fn::rotate',
  'fn::rotate::swap',
  'fn::rotate::echo',
  'fn::validate',
]

const { tree } = fc.letrec<{ tree: unknown; call: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(key, tie('tree'), { maxKeys: 4 }),
    tie('call'),
  ),
  call: fc.oneof(
    fc.tuple(fc.constantFrom(...BUILTINS), tie('tree')).map(([k, v]) => ({ [k]: v })),
    fc.constantFrom(
      { 'fn::secret': { ciphertext: 'ZXNjeAAAAAHo9e705fKyKo30VQ==' } },
      { 'fn::secret': { ciphertext: 'not base64!' } },
      { 'fn::join': [',', ['${a}', 'x']] },
      { 'fn::split': [',', '${a}'] },
      { 'fn::open': { provider: 'test', inputs: { v: '${b}' } } },
      { 'fn::rotate::swap': { inputs: {}, state: { a: '${a}', b: 'x' } } },
      { 'fn::rotate::echo': { inputs: { next: '${c}' } } },
      { 'fn::validate': { schema: { type: 'string', minLength: 2 }, value: '${a}' } },
      { 'fn::fromJSON': '{"a": [1, {"b": null}]}' },
      { 'fn::fromBase64': '!!' },
      { 'fn::concat': [[1], '${x}'] },
    ),
  ),
}))

const envDoc = fc
  .record({
    imports: fc.option(
      fc.array(
        fc.oneof(
          fc.constantFrom(...NAMES),
          fc.constantFrom(...NAMES).map((n) => ({ [n]: { merge: false } })),
          scalar,
        ),
        { maxLength: 3 },
      ),
      { nil: undefined },
    ),
    values: fc.option(fc.dictionary(key, tree, { maxKeys: 6 }), { nil: undefined }),
  })
  .map((d) => stringify(d, { aliasDuplicateObjects: false }))

const options = (source: string, envs: Record<string, string>) => ({
  name: 'root',
  source,
  loader: loaderFor(envs),
  providers: testProviders({ benchDelayMs: 0 }),
  cipher: testCipher,
  context: TEST_CONTEXT,
})

test('evaluation never throws on arbitrary text', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 200 }), async (source) => {
      await evalAll(options(source, {}))
      parseEnvironment('root', source)
    }),
    { numRuns: 300 },
  )
})

test('evaluation never throws on YAML-ish text built from ESC tokens', { timeout: 120_000 }, async () => {
  const token = fc.constantFrom(
    'values:',
    'imports:',
    '\n',
    '  ',
    '- ',
    ': ',
    'a',
    'fn::secret',
    'fn::open::test',
    '${a.b}',
    '{',
    '}',
    '[',
    ']',
    ',',
    '&x ',
    '*x',
    '"',
    "'",
    '#',
    '|',
    '>',
    '!!str ',
    '$${',
    'ciphertext',
    '\t',
    '~',
    '---\n',
    '...',
  )
  await fc.assert(
    fc.asyncProperty(
      fc.array(token, { maxLength: 60 }).map((t) => t.join('')),
      async (source) => {
        await evalAll(options(source, {}))
      },
    ),
    { numRuns: 300 },
  )
})

test('evaluation never throws on arbitrary environments with imports, builtins and interpolations', { timeout: 300_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(envDoc, envDoc, envDoc, envDoc, async (root, a, b, c) => {
      const envs = { a, b, c }
      const results = await evalAll(options(root, envs))
      // determinism: evaluating again gives the same values and diagnostics
      const again = await evaluate({ ...options(root, envs), mode: 'check' })
      assert.deepEqual(
        again.diagnostics.map((d) => d.summary),
        results[0].diagnostics.map((d) => d.summary),
      )
      // inline encryption round-trips whatever the document
      const enc = await encryptSecrets(root, testCipher)
      if (enc.diagnostics.length === 0) {
        const dec = await decryptSecrets(enc.text, testCipher)
        if (dec.diagnostics.length) {
          // only a ciphertext that was already corrupt in the source may fail to decrypt
          assert.ok(
            dec.diagnostics.every((d) => d.summary.startsWith('invalid ciphertext')),
            JSON.stringify(dec.diagnostics),
          )
          assert.equal(dec.text, enc.text)
          return
        }
        const x = await evaluate({ ...options(dec.text, envs), mode: 'check' })
        const y = await evaluate({ ...options(root, envs), mode: 'check' })
        assert.deepEqual(JSON.stringify(Object.keys(x.value ?? {})), JSON.stringify(Object.keys(y.value ?? {})))
      }
    }),
    { numRuns: 200 },
  )
})

test('alias bombs are bounded by the alias limit', { timeout: 60_000 }, async () => {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < 10; i++)
    lines.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(',')}]`,
    )
  const bomb = `values:\n${lines.map((l) => '  ' + l).join('\n')}\n  s: \${a9}\n  j: {fn::toJSON: "\${a9}"}\n`
  for (const mode of MODES) {
    const res = await evaluate({ name: 'bomb', source: bomb, mode })
    assert.ok(
      res.diagnostics.some((d) => /alias/.test(d.summary)),
      'the alias limit is reported',
    )
  }
  // a few aliases are fine
  const ok = await evaluate({ name: 'ok', source: 'values:\n  a: &x {b: 1}\n  c: *x\n  d: ${c.b}\n', mode: 'eval' })
  assert.deepEqual(ok.diagnostics, [])
  assert.deepEqual(toJSON(ok.value?.d, { reveal: true }), 1)
})

test('deep nesting and long reference chains terminate with diagnostics, not crashes', { timeout: 60_000 }, async () => {
  const deep = 'values:\n  x: ' + '['.repeat(500) + ']'.repeat(500) + '\n'
  const r1 = await evaluate({ name: 'deep', source: deep, mode: 'eval' })
  assert.ok(r1.diagnostics.some((d) => /depth/.test(d.summary)))
  const chain = (n: number) => ['values:', ...Array.from({ length: n }, (_, i) => `  v${i}: \${v${i + 1}}`), `  v${n}: end`].join('\n')
  const r2 = await evaluate({ name: 'chain', source: chain(400), mode: 'eval' })
  assert.deepEqual(r2.diagnostics, [])
  assert.deepEqual(toJSON(r2.value?.v0, { reveal: true }), 'end')
  const r3 = await evaluate({ name: 'chain', source: chain(20_000), mode: 'eval' })
  assert.equal(r3.diagnostics.filter((d) => d.summary.startsWith('internal error')).length, 0)
  assert.ok(
    r3.diagnostics.some((d) => /reference chain/.test(d.summary)),
    'the reference depth limit is reported',
  )
  assert.deepEqual(toJSON(r3.value?.v0, { reveal: true }), '[unknown]')
})

test('reference bombs (values doubling at each step) are bounded', { timeout: 60_000 }, async () => {
  const lines = ['values:', '  a0: [x, y]']
  for (let i = 1; i <= 40; i++) lines.push(`  a${i}: ["\${a${i - 1}}", "\${a${i - 1}}"]`)
  lines.push('  j: {fn::toJSON: "${a40}"}', '  s: "${a40}"', '  o: {fn::open::test: {v: "${a40}"}}')
  const source = lines.join('\n') + '\n'
  for (const mode of MODES) {
    const res = await evaluate({ name: 'bomb', source, mode, providers: testProviders() })
    assert.ok(
      res.diagnostics.some((d) => /maximum size/.test(d.summary)),
      'the size limit is reported',
    )
    assert.deepEqual(toJSON(res.value?.j, { reveal: true }), '[unknown]')
    // small values of the same document are still evaluated
    assert.deepEqual(toJSON(res.value?.a1, { reveal: true }), [
      ['x', 'y'],
      ['x', 'y'],
    ])
  }
})
