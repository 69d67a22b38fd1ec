/**
 * Inline encryption of a document's secrets: `fn::secret: plaintext` <-> `fn::secret: {ciphertext: <escx>}`,
 * as text edits on the original source so that comments, order and layout are kept.
 */
import { isMap, isScalar, isSeq, parseDocument } from 'yaml'
import type { Node as YNode, Pair, YAMLMap, YAMLSeq } from 'yaml'
import type { CryptResult, Diagnostic, SecretCipher } from './host.ts'
import { decodeEnvelope, encodeEnvelope } from './envelope.ts'
import { SourceMap } from './source.ts'
import { yamlErrorSummary } from './syntax.ts'

interface Edit {
  start: number
  end: number
  text: string
}

interface Found {
  pair: Pair
  map: YAMLMap
  /** plaintext (encrypt) or ciphertext (decrypt) */
  text: string
  valueNode: YNode
  path: string
}

function keyOf(n: unknown): string | undefined {
  return n && isScalar(n as YNode) && typeof (n as { value: unknown }).value === 'string' ? (n as { value: string }).value : undefined
}

/** Visits the `fn::secret` pairs under `n`: the well-formed ones (alone in their map), or with `all` also mis-nested ones. */
function walk(n: YNode | null | undefined, path: string, visit: (map: YAMLMap, pair: Pair, path: string) => void, depth = 0, all = false): void {
  if (!n || depth > 256) return
  if (isMap(n)) {
    const m = n as YAMLMap
    for (const p of m.items as Pair[]) {
      const k = keyOf(p.key) ?? '?'
      if ((all || m.items.length === 1) && k === 'fn::secret') visit(m, p, path)
      walk(p.value as YNode, `${path}.${k}`, visit, depth + 1, all)
    }
  } else if (isSeq(n)) {
    ;((n as YAMLSeq).items as YNode[]).forEach((it, i) => walk(it, `${path}[${i}]`, visit, depth + 1, all))
  }
}

function lineIndent(text: string, offset: number): number {
  const ls = text.lastIndexOf('\n', offset - 1) + 1
  return offset - ls
}

const PLAIN_SAFE = /^[A-Za-z0-9_./+@~^%-][A-Za-z0-9_ ./+=@~^%:,-]*$/

/** A YAML scalar for a plaintext secret: plain when unambiguous, JSON (= YAML double-quoted) otherwise. */
export function yamlScalar(s: string): string {
  if (s !== '' && PLAIN_SAFE.test(s) && !/\s$/.test(s) && !/: |:$| #/.test(s)) {
    try {
      const d = parseDocument(s)
      if (d.errors.length === 0 && d.contents && isScalar(d.contents) && (d.contents as { value: unknown }).value === s) return s
    } catch {
      // fall through
    }
  }
  return JSON.stringify(s)
}

/**
 * The ESC string whose value is exactly `plaintext`: every `${` written `$${` (the language's escape), so that a
 * secret holding `${x}` stays that text instead of becoming an interpolation. Inverse of `secretPlaintext`.
 */
export function secretLiteral(plaintext: string): string {
  return plaintext.replaceAll('${', () => '$${')
}

/** The value of a plaintext secret's YAML string under ESC's escape (`$${` is `${`), as the evaluator reads it. */
export function secretPlaintext(text: string): string {
  return text.replace(/\$\$\{/g, () => '${')
}

/** Applies non-overlapping edits in one pass (linear: one slice per edit, not one copy of the text per edit). */
function applyEdits(text: string, edits: Edit[]): string {
  edits.sort((a, b) => a.start - b.start)
  const parts: string[] = []
  let at = 0
  for (const e of edits) {
    parts.push(text.slice(at, e.start), e.text)
    at = e.end
  }
  parts.push(text.slice(at))
  return parts.join('')
}

function parse(name: string, source: string): { doc: ReturnType<typeof parseDocument>; diagnostics: Diagnostic[]; map: SourceMap } {
  const map = new SourceMap(name, source)
  const doc = parseDocument(source, { uniqueKeys: false, prettyErrors: false })
  const diagnostics: Diagnostic[] = doc.errors.map((e) => ({
    severity: 'error' as const,
    summary: yamlErrorSummary(e.message),
    range: map.range(e.pos?.[0] ?? 0, e.pos?.[1] ?? 0),
  }))
  return { doc, diagnostics, map }
}

/**
 * Where a block-style secret's source text ends for the replacement: a node's range runs to `end`, which for a
 * block scalar (`|`, `>`, with any chomping or indentation indicator) includes its line break(s) and the
 * indentation of the next line. Replacing those would glue the next key (or comment) onto the ciphertext line
 * ("Nested mappings are not allowed in compact mappings"), so the edit stops after the last non-blank
 * character; the trailing line break(s) stay where they are and the rest of the document keeps its layout.
 */
function valueEnd(source: string, start: number, end: number): number {
  let e = end
  while (e > start && /\s/.test(source[e - 1]!)) e--
  return e
}

/** The plaintext `fn::secret` values of a parsed document (with `all`, also mis-nested ones, whose map has other keys). */
function plaintextSecrets(doc: ReturnType<typeof parseDocument>, all: boolean): Found[] {
  const found: Found[] = []
  walk(
    doc.contents as YNode,
    '',
    (map, pair, path) => {
      const v = pair.value as YNode | null
      if (v && isScalar(v) && (typeof (v as { value: unknown }).value === 'string' || (all && (v as { value: unknown }).value !== null)))
        found.push({ pair, map, text: secretPlaintext(String((v as { value: unknown }).value)), valueNode: v, path })
    },
    0,
    all,
  )
  return found
}

/** The edits that put `ciphertextOf(plaintext)` in place of each plaintext secret, in the stored layout. */
async function replaceSecrets(source: string, found: Found[], ciphertextOf: (plaintext: string) => Promise<string> | string): Promise<string> {
  const edits: Edit[] = []
  // the document's own line ends (a CRLF document stays CRLF)
  const eol = source.includes('\r\n') ? '\r\n' : '\n'
  for (const f of found) {
    const ct = await ciphertextOf(f.text)
    const v = f.valueNode.range as [number, number, number]
    if (f.map.flow) {
      edits.push({ start: v[0], end: v[1], text: `{ciphertext: ${ct}}` })
    } else {
      const key = f.pair.key as YNode
      const kr = key.range as [number, number, number]
      const indent = lineIndent(source, kr[0]) + 2
      // from just after the key's colon to the end of the plaintext
      const colon = source.indexOf(':', kr[1])
      edits.push({ start: colon + 1, end: valueEnd(source, colon + 1, v[1]), text: `${eol}${' '.repeat(indent)}ciphertext: ${ct}` })
    }
  }
  return applyEdits(source, edits)
}

/** Encrypts every `fn::secret: <plaintext>` of the document. */
export async function encryptSecrets(source: string, cipher: SecretCipher, environment = ''): Promise<CryptResult> {
  const { doc, diagnostics } = parse(environment, source)
  if (diagnostics.length) return { text: source, diagnostics }
  const text = await replaceSecrets(source, plaintextSecrets(doc, false), async (plaintext) =>
    encodeEnvelope(await cipher.encrypt(new TextEncoder().encode(plaintext), environment)),
  )
  return { text, diagnostics: [] }
}

/** What stands for a secret that is not encrypted yet (typed, unsaved) where documents are shown encrypted. */
export const UNSAVED_SECRET = '"(encrypted when saved)"'

/**
 * The document as it would be stored, for showing it with secrets encrypted without a key: every plaintext
 * secret (also a mis-nested one, and in a document with errors as far as it parses) becomes
 * `ciphertext: "(encrypted when saved)"`, laid out as `encryptSecrets` lays out a real ciphertext, so a diff
 * against a stored revision shows which secrets changed and never their text.
 */
export async function redactSecrets(source: string): Promise<string> {
  const doc = parseDocument(source, { uniqueKeys: false, prettyErrors: false })
  return replaceSecrets(source, plaintextSecrets(doc, true), () => UNSAVED_SECRET)
}

/**
 * Where the plaintext secret values of `source` are, as [start, end) offsets (every scalar under a
 * `fn::secret` key: same-line, next-line and block scalars, mis-nested ones too), for the editor to mask.
 * Parsed, not matched by line, so a `|` block or a value on the next line is covered; tolerant of a document
 * being typed (what parses is covered).
 */
export function plaintextSecretSpans(source: string): Array<[number, number]> {
  const doc = parseDocument(source, { uniqueKeys: false, prettyErrors: false })
  return plaintextSecrets(doc, true).map((f) => {
    const r = f.valueNode.range as [number, number, number]
    return [r[0], valueEnd(source, r[0], r[1])]
  })
}

/** Decrypts every `fn::secret: {ciphertext: ...}` of the document back to plaintext. */
export async function decryptSecrets(source: string, cipher: SecretCipher, environment = ''): Promise<CryptResult> {
  const { doc, diagnostics, map: smap } = parse(environment, source)
  if (diagnostics.length) return { text: source, diagnostics }
  const found: Array<Found & { inner: YAMLMap; ctNode: YNode }> = []
  walk(doc.contents as YNode, '', (map, pair, path) => {
    const v = pair.value as YNode | null
    if (!v || !isMap(v)) return
    const inner = v as YAMLMap
    if (inner.items.length !== 1) return
    const ip = inner.items[0] as Pair
    if (keyOf(ip.key) !== 'ciphertext') return
    const ctNode = ip.value as YNode | null
    if (!ctNode || !isScalar(ctNode) || typeof (ctNode as { value: unknown }).value !== 'string') return
    found.push({ pair, map, text: (ctNode as { value: string }).value, valueNode: v, path, inner, ctNode })
  })
  const edits: Edit[] = []
  const diags: Diagnostic[] = []
  for (const f of found) {
    let plaintext: string
    try {
      const payload = decodeEnvelope(f.text)
      plaintext = new TextDecoder().decode(await cipher.decrypt(payload, environment))
    } catch (e) {
      const r = f.ctNode.range as [number, number, number]
      diags.push({ severity: 'error', summary: `invalid ciphertext: ${(e as Error).message}`, path: f.path.slice(1), range: smap.range(r[0], r[1]) })
      continue
    }
    const scalar = yamlScalar(secretLiteral(plaintext))
    const ctEnd = (f.ctNode.range as [number, number, number])[1]
    if (f.inner.flow) {
      const vr = f.valueNode.range as [number, number, number]
      edits.push({ start: vr[0], end: vr[1], text: scalar })
    } else {
      const kr = (f.pair.key as YNode).range as [number, number, number]
      const colon = source.indexOf(':', kr[1])
      edits.push({ start: colon + 1, end: ctEnd, text: ` ${scalar}` })
    }
  }
  if (diags.length) return { text: source, diagnostics: diags }
  return { text: applyEdits(source, edits), diagnostics: [] }
}
