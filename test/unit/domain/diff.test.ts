/**
 * The revision comparison (shared/domain/diff.ts) over a stand-in store: which references are compared,
 * secrets tagged (never shown) unless revealed, a value and a definition section each only when it
 * differs, one format or one property path, and no section when nothing differs.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { EvalValue } from '../../../shared/esc/host.ts'
import type { Definition, OpenResult } from '../../../shared/models.ts'
import { compareSides, diffSides, revisionSide, tagSecrets, type DiffStore } from '../../../shared/domain/diff.ts'

test('diffSides: a against its latest, against @v of its environment, or against another environment', () => {
  assert.deepEqual(diffSides('p/e@2', undefined), ['p/e@2', 'p/e@latest'])
  assert.deepEqual(diffSides('p/e', '@stable'), ['p/e@latest', 'p/e@stable'])
  assert.deepEqual(diffSides('p/e@1', 'p/f'), ['p/e@1', 'p/f@latest'])
  assert.deepEqual(diffSides('p/e@1', 'p/f@3'), ['p/e@1', 'p/f@3'])
})

test('tagSecrets: each fn::secret plaintext becomes its tag; a secret map becomes [secret]', () => {
  const out = tagSecrets('values:\n  a:\n    fn::secret: hunter2\n  b:\n    fn::secret:\n      ciphertext: xyz\n  c: plain\n', (s) => `t(${s.length})`)
  assert.equal(out, 'values:\n  a:\n    fn::secret: "[secret t(7)]"\n  b:\n    fn::secret: "[secret]"\n  c: plain\n')
})

const v = (value: EvalValue['value'], extra: Partial<EvalValue> = {}): EvalValue => ({ value, trace: {}, ...extra })
/** revision n: a plain variable and a secret; revision 1 and 2 differ only in the secret */
const revisions: Record<number, { plain: string; cipher: string; value: Record<string, EvalValue> }> = {}
for (const [n, url, pw] of [
  [1, 'https://a', 'old-pw'],
  [2, 'https://a', 'new-pw'],
  [3, 'https://b', 'new-pw'],
] as const) {
  revisions[n] = {
    plain: `values:\n  url: ${url}\n  pw:\n    fn::secret: ${pw}\n  environmentVariables:\n    URL: \${url}\n`,
    cipher: `values:\n  url: ${url}\n  pw:\n    fn::secret:\n      ciphertext: c-${pw}\n  environmentVariables:\n    URL: \${url}\n`,
    value: { url: v(url), pw: v(pw, { secret: true }), environmentVariables: v({ URL: v(url) }) },
  }
}
const store: DiffStore = {
  getDefinition: async (ref: string, opts?: { decrypt?: boolean }): Promise<Definition> => {
    const n = Number(ref.replace(/^.*@/, '').replace('latest', '3'))
    const r = revisions[n]!
    return { environment: 'p/e', revision: n, yaml: opts?.decrypt ? r.plain : r.cipher, etag: String(n) }
  },
  check: async (_id: string, yaml: string): Promise<OpenResult> => {
    const n = Number(Object.entries(revisions).find(([, r]) => r.plain === yaml || r.cipher === yaml)![0])
    return { environment: 'p/e', revision: n, value: revisions[n]!.value, diagnostics: [], imports: [] }
  },
}
/** a stand-in for the CLI's HMAC: differs for the two secrets, holds neither */
const hidden = { reveal: false, tag: (s: string) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 9973, 7).toString(16) }

test('a changed secret shows in the definition as another tag, never as its text; the value section only when values differ', async () => {
  const sections = compareSides(await revisionSide(store, 'p/e@1', hidden), await revisionSide(store, 'p/e@2', hidden), { reveal: false })
  assert.deepEqual(
    sections.map((x) => x.title),
    ['Definition'],
  )
  const [definition] = sections
  assert.notEqual(definition?.left, definition?.right)
  assert.match(definition?.left ?? '', /fn::secret: "\[secret [0-9a-f]+\]"/)
  assert.ok(!JSON.stringify(sections).includes('old-pw') && !JSON.stringify(sections).includes('new-pw'))
  const revealed = { ...hidden, reveal: true }
  const shown = compareSides(await revisionSide(store, 'p/e@1', revealed), await revisionSide(store, 'p/e@2', revealed), { reveal: true })
  assert.deepEqual(
    shown.map((x) => x.title),
    ['Value', 'Definition'],
  )
  assert.match(shown[0]?.left ?? '', /"pw": "old-pw"/)
  assert.match(shown[1]?.right ?? '', /fn::secret: new-pw/)
})

test('with a format, only the values in that format; with a path, only that property; nothing when nothing differs', async () => {
  const l = await revisionSide(store, 'p/e@2', hidden)
  const r = await revisionSide(store, 'p/e@latest', hidden)
  assert.equal(r.label, 'p/e@3')
  assert.deepEqual(compareSides(l, r, { format: 'dotenv', reveal: false }), [{ left: "URL='https://a'\n", right: "URL='https://b'\n" }])
  assert.deepEqual(
    compareSides(l, r, { path: 'url', reveal: false }).map((x) => [x.title, x.left, x.right]),
    [['Value', '"https://a"\n', '"https://b"\n']],
  )
  assert.deepEqual(compareSides(l, l, { reveal: false }), [])
  assert.deepEqual(compareSides(l, r, { path: 'pw', reveal: false }), [])
})
