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

function walk(n: YNode | null | undefined, path: string, visit: (map: YAMLMap, pair: Pair, path: string) => void, depth = 0): void {
  if (!n || depth > 256) return
  if (isMap(n)) {
    const m = n as YAMLMap
    for (const p of m.items as Pair[]) {
      const k = keyOf(p.key) ?? '?'
      if (m.items.length === 1 && k === 'fn::secret') visit(m, p, path)
      walk(p.value as YNode, `${path}.${k}`, visit, depth + 1)
    }
  } else if (isSeq(n)) {
    ;((n as YAMLSeq).items as YNode[]).forEach((it, i) => walk(it, `${path}[${i}]`, visit, depth + 1))
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

function applyEdits(text: string, edits: Edit[]): string {
  edits.sort((a, b) => b.start - a.start)
  let out = text
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end)
  return out
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

/** Encrypts every `fn::secret: <plaintext>` of the document. */
export async function encryptSecrets(source: string, cipher: SecretCipher, environment = ''): Promise<CryptResult> {
  const { doc, diagnostics } = parse(environment, source)
  if (diagnostics.length) return { text: source, diagnostics }
  const found: Found[] = []
  walk(doc.contents as YNode, '', (map, pair, path) => {
    const v = pair.value as YNode | null
    if (v && isScalar(v) && typeof (v as { value: unknown }).value === 'string')
      found.push({ pair, map, text: secretPlaintext((v as { value: string }).value), valueNode: v, path })
  })
  const edits: Edit[] = []
  for (const f of found) {
    const payload = await cipher.encrypt(new TextEncoder().encode(f.text), environment)
    const ct = encodeEnvelope(payload)
    const v = f.valueNode.range as [number, number, number]
    if (f.map.flow) {
      edits.push({ start: v[0], end: v[1], text: `{ciphertext: ${ct}}` })
    } else {
      const key = f.pair.key as YNode
      const kr = key.range as [number, number, number]
      const indent = lineIndent(source, kr[0]) + 2
      // from just after the key's colon to the end of the plaintext
      const colon = source.indexOf(':', kr[1])
      edits.push({ start: colon + 1, end: v[1], text: `\n${' '.repeat(indent)}ciphertext: ${ct}` })
    }
  }
  return { text: applyEdits(source, edits), diagnostics: [] }
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
