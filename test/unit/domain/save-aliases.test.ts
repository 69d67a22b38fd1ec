/**
 * Issue 12 rule 7, as properties of the save pipeline (shared/domain/save.ts), which the local store and the
 * server both run:
 * - YAML anchors and aliases anywhere around secrets: a definition is either refused with an error naming an
 *   alias that points into a secret, or saved so that it means exactly what was written (same values,
 *   secrets included, and no plaintext secret in the stored text);
 * - ciphertext provenance: a payload this environment cannot open (another environment's, a corrupted one,
 *   one of a key that is gone) is refused at its position; its own keeps saving byte for byte.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { prepareSave, secretAliases } from '../../../shared/domain/save.ts'
import { evaluateDocument } from '../../../shared/domain/open.ts'
import { decodeEnvelope, encodeEnvelope, encryptSecrets, objectToJSON } from '../../../shared/esc/index.ts'
import { testKeys, testStorage } from './helpers.ts'

const storage = testStorage({})

/** How entry i is written, and whether an anchor on it marks part of a secret (an alias to it must be refused). */
const KINDS = {
  plain: { part: false, text: (i: number, a: string) => `  e${i}: ${a}plain-${i}\n` },
  secretInFlow: { part: true, text: (i: number, a: string) => `  e${i}: {fn::secret: ${a}flow-secret-${i}}\n` },
  secretInBlock: { part: true, text: (i: number, a: string) => `  e${i}:\n    fn::secret: ${a}block-secret-${i}\n` },
  secretKey: { part: true, text: (i: number, a: string) => `  e${i}: {${a}fn::secret: key-secret-${i}}\n` },
  wholeCall: { part: false, text: (i: number, a: string) => `  e${i}: ${a}\n    fn::secret: whole-secret-${i}\n` },
  wholeFlowCall: { part: false, text: (i: number, a: string) => `  e${i}: ${a}{fn::secret: wholeflow-secret-${i}}\n` },
  holder: { part: false, text: (i: number, a: string) => `  e${i}: ${a}\n    inner:\n      fn::secret: held-secret-${i}\n    other: o${i}\n` },
} as const
type Kind = keyof typeof KINDS

const entry = fc.record({ kind: fc.constantFrom(...(Object.keys(KINDS) as Kind[])), anchored: fc.boolean() })
const use = fc.record({ target: fc.nat(), style: fc.constantFrom('value', 'list', 'merge') })

function documentOf(entries: { kind: Kind; anchored: boolean }[], uses: { target: number; style: 'value' | 'list' | 'merge' }[]) {
  let text = 'values:\n'
  entries.forEach((e, i) => (text += KINDS[e.kind].text(i, e.anchored ? `&a${i} ` : '')))
  const anchored = entries.map((e, i) => ({ ...e, i })).filter((e) => e.anchored)
  let refused = false
  if (anchored.length > 0)
    uses.forEach((u, j) => {
      const t = anchored[u.target % anchored.length]!
      const mergeable = t.kind === 'wholeCall' || t.kind === 'holder' || t.kind === 'wholeFlowCall'
      if (u.style === 'merge' && mergeable) text += `  m${j}: {<<: *a${t.i}}\n`
      else if (u.style === 'list') text += `  l${j}: [*a${t.i}, x]\n`
      else text += `  r${j}: *a${t.i}\n`
      if (KINDS[t.kind].part) refused = true
    })
  return { text, refused }
}

/** The values of a definition, secrets shown (what `open` gives). */
async function meaning(text: string, environment: string, keys: ReturnType<typeof testKeys>) {
  const r = await evaluateDocument({ name: environment, source: text, mode: 'eval', keys, loadImport: storage.loadImport })
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
  )
  return r.value ? objectToJSON(r.value, { reveal: true }) : undefined
}

test('aliases around secrets: refused naming the alias into a secret, or saved meaning exactly what was written', async () => {
  const keys = testKeys()
  await fc.assert(
    fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 6 }), fc.array(use, { maxLength: 4 }), async (entries, uses) => {
      const { text, refused } = documentOf(entries, uses)
      const r = await prepareSave({ environment: 'app/dev', text, keys, loadImport: storage.loadImport })
      if (refused) {
        assert.equal(r.ok, false, `should be refused:\n${text}`)
        assert.ok(
          r.diagnostics.some((d) => /^YAML alias \*a\d+ refers to part of a secret/.test(d.summary) && d.range && d.range.begin.line > 1),
          JSON.stringify(r.diagnostics),
        )
        return
      }
      assert.ok(r.ok, `should save:\n${text}\n${JSON.stringify(r.diagnostics)}`)
      assert.ok(!/-secret-\d/.test(r.yaml), `no plaintext secret stored:\n${r.yaml}`)
      assert.deepEqual(await meaning(r.yaml, 'app/dev', keys), await meaning(text, 'app/dev', keys), text)
    }),
    { numRuns: 150 },
  )
})

test('the alias rule is cheap when there is no anchor, and the app’s check reports it too (same function)', () => {
  assert.deepEqual(secretAliases('values:\n  a: *nothing\n', 'x/y'), [])
  const d = secretAliases('values:\n  a: {fn::secret: &s x}\n  b: *s\n', 'x/y')
  assert.equal(d.length, 1)
  assert.equal(d[0]!.range?.begin.line, 3)
  assert.match(d[0]!.summary, /\*s .*anchor &s at 2:/)
})

test('ciphertext provenance: only payloads this environment can open are kept (own: byte for byte; corrupted, foreign, keyless: refused at their position)', async () => {
  const keys = testKeys()
  await fc.assert(
    fc.asyncProperty(
      fc.string({ minLength: 1, maxLength: 30 }),
      fc.constantFrom('own', 'other-env', 'corrupted', 'other-keys', 'truncated'),
      fc.nat(),
      async (secret, origin, at) => {
        const sealFor = origin === 'other-env' ? 'app/other' : 'app/dev'
        const sealer = origin === 'other-keys' ? testKeys() : keys // another store's keys: same owner name, another key
        const sealed = await encryptSecrets(`values:\n  x: 1\n  pw:\n    fn::secret: ${JSON.stringify(secret)}\n`, sealer.cipher, sealFor)
        let text = sealed.text
        if (origin === 'corrupted' || origin === 'truncated') {
          const ct = /ciphertext: (\S+)/.exec(text)![1]!
          let payload = decodeEnvelope(ct)
          if (origin === 'truncated') payload = payload.subarray(0, Math.max(1, at % payload.length))
          else payload[at % payload.length]! ^= 1 << (at % 8)
          text = text.replace(ct, encodeEnvelope(payload))
        }
        const r = await prepareSave({ environment: 'app/dev', text, keys, loadImport: storage.loadImport })
        if (origin === 'own') {
          assert.ok(r.ok, JSON.stringify(r.diagnostics))
          assert.equal(r.yaml, text)
          return
        }
        assert.equal(r.ok, false, origin)
        const d = r.diagnostics.find((x) => x.severity === 'error')!
        assert.match(d.summary, /invalid ciphertext/)
        assert.equal(d.path, 'values.pw')
        assert.equal(d.range?.begin.line, 5)
      },
    ),
    { numRuns: 200 },
  )
})

test('a ciphertext behind escaped keys ("fn::secr\\x65t", "ciph\\x65rtext") is checked like any other', async () => {
  const keys = testKeys()
  const sealed = await encryptSecrets('values:\n  pw:\n    fn::secret: x\n', keys.cipher, 'app/other')
  const ct = /ciphertext: (\S+)/.exec(sealed.text)![1]!
  const text = `values:\n  pw:\n    "fn::secr\\x65t":\n      "ciph\\x65rtext": ${ct}\n`
  const r = await prepareSave({ environment: 'app/dev', text, keys, loadImport: storage.loadImport })
  assert.equal(r.ok, false)
  assert.match(r.diagnostics[0]!.summary, /invalid ciphertext/)
  // and an escaped plaintext secret is sealed, never stored in clear
  const plain = await prepareSave({
    environment: 'app/dev',
    text: 'values:\n  pw:\n    "fn::secr\\x65t": hunter2-escaped\n',
    keys,
    loadImport: storage.loadImport,
  })
  assert.ok(plain.ok, JSON.stringify(plain.diagnostics))
  assert.ok(!plain.yaml.includes('hunter2-escaped'))
})

test('the alias rule also sees aliases right after a JSON-like key, and ignores `&` and `*` inside plain text', () => {
  assert.equal(secretAliases('values:\n  a: {fn::secret: &s x}\n  b: {"k":*s}\n', 'x/y').length, 1)
  assert.deepEqual(secretAliases('values:\n  url: https://h/?a=1&b=2\n  glob: src/*.ts\n', 'x/y'), [])
})
