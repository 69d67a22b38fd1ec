import { evaluate, objectToJSON } from '/work/main/shared/esc/index.ts'
import { testProviders, testCipher, TEST_CONTEXT } from '/work/main/test/conformance/host.ts'
const src = process.argv[2].replace(/\\n/g, '\n')
for (const mode of ['check', 'eval'] as const) {
  const r = await evaluate({ name: 'x', source: src, mode, providers: testProviders(), cipher: testCipher, context: TEST_CONTEXT })
  console.log(mode, JSON.stringify(objectToJSON(r.value, { reveal: true })))
  for (const d of r.diagnostics) console.log('  ', d.range?.begin.line + ':' + d.range?.begin.column, d.path, d.summary)
}
