/**
 * Inline encryption of secrets in every YAML scalar style (issue 12, rule 3): block scalars (`|`, `>`, with
 * chomping and indentation indicators) followed by other keys, at the end of the document, in sequences,
 * next-line plain values, quoted values, flow maps, comments after. Every such document saves (encrypts
 * without error), keeps its non-secret text byte for byte, evaluates to the same values, and its stored
 * (encrypted) form round-trips through decrypt + encrypt byte for byte.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Document, isMap, isScalar, parseDocument, visit, Scalar } from 'yaml'
import { decryptSecrets, encryptSecrets, evaluate, objectToJSON } from '../../../shared/esc/index.ts'
import { plaintextSecretSpans, redactSecrets, UNSAVED_SECRET } from '../../../shared/esc/crypt.ts'
import { testCipher } from '../../conformance/host.ts'

async function values(source: string): Promise<unknown> {
  const r = await evaluate({ name: 'e', source, mode: 'eval', cipher: testCipher })
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
    source,
  )
  return objectToJSON(r.value, { reveal: true })
}

/** The source ranges of `fn::secret` plaintext values (from just after the key to the value's end). */
function secretRanges(source: string): Array<[number, number]> {
  const doc = parseDocument(source)
  const out: Array<[number, number]> = []
  visit(doc, {
    Pair(_k, p) {
      if (isScalar(p.key) && p.key.value === 'fn::secret' && isScalar(p.value) && typeof p.value.value === 'string') {
        out.push([p.key.range![1], p.value.range![1]])
      }
    },
  })
  return out
}

/** Asserts `doc` saves, keeps everything outside its secrets byte for byte, and round-trips. */
async function assertRoundTrip(doc: string): Promise<void> {
  const enc = await encryptSecrets(doc, testCipher)
  assert.deepEqual(enc.diagnostics, [], doc)
  const parsed = parseDocument(enc.text)
  assert.deepEqual(parsed.errors, [], `encrypted document does not parse:\n${enc.text}`)
  // no plaintext secret is left: every fn::secret now holds {ciphertext}
  visit(parsed, {
    Pair(_k, p) {
      if (isScalar(p.key) && p.key.value === 'fn::secret') assert.ok(isMap(p.value), `plaintext left in\n${enc.text}`)
    },
  })
  // same values, secrets byte for byte
  assert.deepEqual(await values(enc.text), await values(doc))
  // the text outside the secrets is kept: each non-secret line, in order
  const ranges = secretRanges(doc)
  let at = 0
  let offset = 0
  for (const line of doc.split('\n')) {
    const start = offset
    offset += line.length + 1
    if (ranges.some(([a, b]) => start + line.length > a && start < b)) continue
    const i = enc.text.indexOf(line, at)
    assert.ok(i >= 0, `line ${JSON.stringify(line)} lost in\n${enc.text}`)
    at = i + line.length
  }
  // decrypt gives the same values back, and encrypting that again gives the same stored text
  const dec = await decryptSecrets(enc.text, testCipher)
  assert.deepEqual(dec.diagnostics, [])
  assert.deepEqual(await values(dec.text), await values(doc))
  const again = await encryptSecrets(dec.text, testCipher)
  assert.equal(again.text, enc.text)
}

const cases: Record<string, string> = {
  'the issue example (block followed by a key)': 'values:\n  k:\n    fn::secret: |\n      l1\n      l2\n  z: 1\n',
  'keep chomping with trailing blank lines': 'values:\n  k:\n    fn::secret: |+\n      l1\n\n\n  z: 1\n',
  'strip chomping, folded, comment after': 'values:\n  k:\n    fn::secret: >-\n      l1\n      l2\n    # c\n  z: 1\n',
  'indentation indicator in a sequence': 'values:\n  s:\n  - fn::secret: |2\n       l1\n  - z\n',
  'next-line plain value': 'values:\n  k:\n    fn::secret:\n      plain\n      next\n  z: 1\n',
  'empty block scalar followed by a key': 'values:\n  k:\n    fn::secret: |\n  z: 1\n',
  'block at the very end without a final newline': 'values:\n  k:\n    fn::secret: |-\n      a\n      b',
  'two blocks in a row': 'values:\n  a:\n    fn::secret: |\n      x1\n  b:\n    fn::secret: |\n      y1\n      y2\n  c: 3\n',
  'header comment and CRLF line ends': 'values:\r\n  k:\r\n    fn::secret: | # pem\r\n      l1\r\n      l2\r\n  z: 1\r\n',
  'flow map with a quoted multi-line value': 'values:\n  k: {fn::secret: "a\\nb"}\n  z: 1\n',
  'PEM then a variable under environmentVariables':
    'values:\n  environmentVariables:\n    KEY:\n      fn::secret: |\n        -----BEGIN KEY-----\n        QUJD\n        -----END KEY-----\n    NEXT: v\n',
}

for (const [name, doc] of Object.entries(cases)) {
  test(`saves and round-trips: ${name}`, async () => {
    await assertRoundTrip(doc)
  })
}

test('a CRLF document keeps CRLF line ends when its secrets are encrypted', async () => {
  const enc = await encryptSecrets(cases['header comment and CRLF line ends']!, testCipher)
  assert.doesNotMatch(enc.text, /[^\r]\n/)
})

const STYLES = [Scalar.BLOCK_LITERAL, Scalar.BLOCK_FOLDED, Scalar.PLAIN, Scalar.QUOTE_DOUBLE, Scalar.QUOTE_SINGLE] as const

test('any document with secrets of any style anywhere saves and round-trips (fast-check)', async () => {
  const text = fc
    .array(fc.constantFrom('a', 'b', ' ', '\n', '\n\n', ':', '#', '"', "'", '-', '|', 'é', '\t', '  x', '{', '}'), { maxLength: 14 })
    .map((a) => a.join(''))
  type Spec =
    { kind: 'secret'; text: string; style: number; flow: boolean; comment: boolean } | { kind: 'plain'; text: string } | { kind: 'seq'; items: Spec[] }
  const leaf: fc.Arbitrary<Spec> = fc.oneof(
    fc.record({ kind: fc.constant('secret' as const), text, style: fc.nat(STYLES.length - 1), flow: fc.boolean(), comment: fc.boolean() }),
    fc.record({ kind: fc.constant('plain' as const), text: fc.constantFrom('1', 'v', 'x y') }),
  )
  const spec: fc.Arbitrary<Spec> = fc.oneof(leaf, leaf, fc.record({ kind: fc.constant('seq' as const), items: fc.array(leaf, { minLength: 1, maxLength: 3 }) }))
  await fc.assert(
    fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 4 }), fc.boolean(), async (specs, nested) => {
      const doc = new Document({})
      const build = (s: Spec): unknown => {
        if (s.kind === 'plain') return doc.createNode(s.text)
        if (s.kind === 'seq') return doc.createNode(s.items.map(build))
        const v = doc.createNode(s.text) as Scalar
        v.type = STYLES[s.style]
        if (s.comment) v.comment = ' after'
        const m = doc.createNode({})
        if (isMap(m)) {
          m.flow = s.flow
          m.add(doc.createPair('fn::secret', v))
        }
        return m
      }
      const vals = doc.createNode({})
      specs.forEach((s, i) => (vals as unknown as { add: (p: unknown) => void }).add(doc.createPair(`k${i}`, build(s))))
      const root = doc.createNode({})
      ;(root as unknown as { add: (p: unknown) => void }).add(doc.createPair('values', nested ? doc.createNode({ inner: vals }) : vals))
      doc.contents = root as typeof doc.contents
      const source = doc.toString()
      // only documents that mean what was built (the generator may produce a style yaml cannot keep)
      const check = parseDocument(source)
      fc.pre(check.errors.length === 0 && JSON.stringify(check.toJS()) === JSON.stringify(doc.toJS()))
      await assertRoundTrip(source)
      assertHidden(source)
      assert.ok(!(await redactSecrets(source)).includes('Ж'))
    }),
    { numRuns: 400 },
  )
})

/** The editor's masks (plaintextSecretSpans) cover every character of every secret (marked Ж). */
function assertHidden(source: string): void {
  const chars = [...source]
  let masked = ''
  let offset = 0
  const spans = plaintextSecretSpans(source)
  for (const c of chars) {
    masked += spans.some(([a, b]) => offset >= a && offset < b) && c !== '\n' ? '*' : c
    offset += c.length
  }
  assert.ok(!masked.includes('Ж'), `unmasked secret text in\n${masked}`)
}

const MISNESTED =
  'values:\n  k:\n    fn::secret: hunterЖ22\n    other: 1\n  f: {fn::secret: abЖ, o: 2}\n  b:\n    fn::secret: |\n      Ж1\n      Ж2\n    x: 1\n'

test('the editor masks block, next-line and mis-nested secrets over all their lines', () => {
  for (const doc of [...Object.values(cases), MISNESTED, 'values:\n  k:\n    fn::secret:\n      Жnext\n      Жline\n']) assertHidden(doc)
  // a document being typed (an unclosed flow map after the secret) still has its secret masked
  assertHidden('values:\n  k:\n    fn::secret: |\n      Ж1\n  z: {a: \n')
})

test('the unsaved buffer shown encrypted: typed plaintext (mis-nested too) is redacted like a stored secret', async () => {
  const buffer = 'values:\n  k:\n    fn::secret: |\n      typedЖ\n      more\n  z: 1\n' + MISNESTED.slice('values:\n'.length)
  const shown = await redactSecrets(buffer)
  assert.ok(!shown.includes('Ж'), shown)
  assert.match(shown, new RegExp(`fn::secret:\\n      ciphertext: ${UNSAVED_SECRET.replace(/[()]/g, '\\$&')}\\n  z: 1`))
  // a stored ciphertext is left as it is (it shows the same on both sides)
  const stored = 'values:\n  s:\n    fn::secret:\n      ciphertext: ZXNjeA==\n'
  assert.equal(await redactSecrets(stored), stored)
})

test('a mis-nested fn::secret is an error and still evaluates as a secret (the preview never shows it in clear)', async () => {
  const r = await evaluate({ name: 'e', source: MISNESTED, mode: 'check', cipher: testCipher })
  assert.ok(r.diagnostics.some((d) => /must be the only key/.test(d.summary)))
  const shown = JSON.stringify(objectToJSON(r.value, { reveal: false }))
  assert.ok(!shown.includes('Ж'), shown)
  assert.deepEqual((objectToJSON(r.value, { reveal: true }) as Record<string, unknown>).k, { 'fn::secret': 'hunterЖ22', other: 1 })
})
