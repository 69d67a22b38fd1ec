/**
 * The one save pipeline: input text → limits → parse and encrypt the plaintext `fn::secret`s → validate
 * (check-mode evaluation, imports from storage) → ciphertext ownership check → the YAML to store, or the
 * diagnostics that refuse it. The local store's create/update/rotate and the server's PATCH route
 * (through server/evaluator.ts) run it; appending the revision stays with each store (storage.ts).
 */
import { isAlias, isPair, isScalar, parseDocument, visit } from 'yaml'
import type { Alias, Node as YNode } from 'yaml'
import { decryptSecrets, DEFAULT_LIMITS, encryptSecrets } from '../esc/index.ts'
import { SourceMap } from '../esc/source.ts'
import type { Diagnostic, ExecutionContext, ProviderRegistry, SecretCipher } from '../esc/host.ts'
import type { DomainKeys } from './keys.ts'
import { evaluateDocument, hasErrors, holdsSecrets } from './open.ts'
import type { Evaluation } from './open.ts'
import type { ImportedDocument } from './storage.ts'

export interface SaveRequest {
  /** the environment saved into (`project/env`) */
  environment: string
  /** the definition as the user wrote it (plaintext secrets allowed) */
  text: string
  keys: DomainKeys
  loadImport: (name: string) => Promise<ImportedDocument | undefined>
  providers?: ProviderRegistry | undefined
  context?: ExecutionContext | undefined
  /** largest definition accepted, in UTF-8 bytes (default: the core's document limit) */
  maxBytes?: number
}

/** A refused save: the diagnostics say what is wrong and where (file:line:col). */
export interface Refused {
  ok: false
  diagnostics: Diagnostic[]
  /** the validation, when the definition got that far (a face may inspect what it used) */
  checked?: Evaluation
}

/** An accepted save: the YAML to store (secrets as ciphertext) and the warnings. */
export interface Prepared {
  ok: true
  yaml: string
  diagnostics: Diagnostic[]
  checked?: Evaluation
}

/**
 * Prepares `text` for storage in `environment`, or says why it cannot be stored. Never writes: the caller
 * appends the returned YAML as a revision. An empty definition is stored as is (no validation needed).
 */
export async function prepareSave(req: SaveRequest): Promise<Prepared | Refused> {
  const max = req.maxBytes ?? DEFAULT_LIMITS.maxDocumentBytes
  if (req.text.length > max || (req.text.length * 3 > max && new TextEncoder().encode(req.text).length > max)) {
    return refuse(req.environment, `document exceeds the maximum size of ${max} bytes`)
  }
  const aliased = secretAliases(req.text, req.environment)
  if (aliased.length > 0) return { ok: false, diagnostics: aliased }
  // a text whose every `fn::secret` is already a ciphertext map has nothing to encrypt: skip that parse
  const enc = mayHoldPlaintextSecrets(req.text) ? await encryptSecrets(req.text, req.keys.cipher, req.environment) : { text: req.text, diagnostics: [] }
  const keyFailure = req.keys.failure?.()
  if (keyFailure) throw keyFailure
  if (hasErrors(enc.diagnostics)) return { ok: false, diagnostics: enc.diagnostics }
  if (req.text.trim() === '') return { ok: true, yaml: enc.text, diagnostics: enc.diagnostics }
  const checked = await evaluateDocument({
    name: req.environment,
    source: enc.text,
    mode: 'check',
    keys: req.keys,
    loadImport: req.loadImport,
    providers: req.providers,
    context: req.context,
  })
  if (hasErrors(checked.diagnostics)) return { ok: false, diagnostics: checked.diagnostics, checked }
  // secrets sealed just now are this environment's by construction: only ciphertexts given in the input are checked
  // (a key may be escaped, "ciph\\x65rtext": a text with a backslash is checked too)
  if (holdsSecrets(req.text) || req.text.includes('\\')) {
    const owned = await checkOwnership(enc.text, req.environment, req.keys)
    const failed = req.keys.failure?.()
    if (failed) throw failed
    if (hasErrors(owned)) return { ok: false, diagnostics: owned, checked }
  }
  return { ok: true, yaml: enc.text, diagnostics: [...enc.diagnostics, ...checked.diagnostics], checked }
}

const FN_SECRET = 'fn::secret'
/** An anchor (`&a`) and an alias (`*a`) each start a token (after a space, a line start, `[`, `{`, `,` or `:`): `a=1&b=2` in a URL is neither. */
const ANCHOR = /(?:^|[\s[{,:])&[^\s,[\]{}]/
const ALIAS = /(?:^|[\s[{,:])\*[^\s,[\]{}]/
const MAY_ALIAS = (text: string): boolean => text.includes('&') && text.includes('*') && ANCHOR.test(text) && ALIAS.test(text)
const isSecretKey = (n: unknown): boolean => isScalar(n) && n.value === FN_SECRET

/**
 * The alias rule of a definition (checked by the save pipeline, so by the local store and the server alike,
 * and by the app's live check): a YAML alias may copy a node that holds whole `fn::secret` calls (the
 * secret travels with its call and is encrypted once, where the anchor is), but never a part of one: an
 * alias to the `fn::secret` key, to its value (the plaintext, or a ciphertext map) or to anything inside
 * it is refused at the alias, naming it and its anchor. Encrypting rewrites the secret's value (its anchor
 * with it), so such an alias would silently change meaning after saving (`a: {fn::secret: &s x}`, `b: *s`
 * became `b: {ciphertext: …}`), and an alias used as a `fn::secret` key would escape encryption.
 * Cheap when the text has no anchor and alias tokens: no parse.
 */
export function secretAliases(text: string, environment: string): Diagnostic[] {
  if (!MAY_ALIAS(text)) return []
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, strict: false })
  if (doc.errors.length > 0) return [] // reported by the parse of the save pipeline itself
  const partOfSecret = new Set<YNode>()
  const aliases: Alias[] = []
  visit(doc, (key, node, path) => {
    if (isAlias(node)) aliases.push(node)
    if (!node || isPair(node)) return
    const n = node as YNode
    // the node lies within the value of a fn::secret pair
    if (path.some((p, i) => isPair(p) && isSecretKey(p.key) && (path[i + 1] === p.value || (i === path.length - 1 && key === 'value')))) partOfSecret.add(n)
  })
  if (aliases.length === 0) return []
  const map = new SourceMap(environment, text)
  const out: Diagnostic[] = []
  for (const a of aliases) {
    const target = a.resolve(doc)
    // (a scalar `fn::secret` anywhere: an alias to it used as a key would be a secret the encryption misses)
    if (!target || !(partOfSecret.has(target) || isSecretKey(target))) continue
    const r = a.range ?? [0, 0]
    const at = target.range ? map.range(target.range[0], target.range[0]).begin : undefined
    out.push({
      severity: 'error',
      summary:
        `YAML alias *${a.source} refers to part of a secret (its anchor &${a.source}${at ? ` at ${at.line}:${at.column}` : ''} is a fn::secret key or inside its value): ` +
        'an alias may copy a whole `fn::secret` call, never its key or value; write the secret again, or anchor the mapping that holds the fn::secret',
      range: map.range(r[0], r[1]),
    })
  }
  return out
}

/** Every `fn::secret` key followed by a `ciphertext:` map (block or flow), ignoring whitespace. */
const SEALED_SECRET = /fn::secret[ \t]*:[ \t\r\n]*\{?[ \t\r\n]*ciphertext[ \t]*:/g

/**
 * Whether `text` may hold a plaintext `fn::secret` (then the core's encryptSecrets must run). Conservative:
 * false only when every `fn::secret` occurrence is written as a ciphertext map; anything else (a quoted key,
 * a comment in between, the word inside a string) counts as "may", so the full parse decides.
 */
export function mayHoldPlaintextSecrets(text: string): boolean {
  if (text.includes('\\')) return true // an escaped key ("fn::secr\\x65t") is fn::secret too
  let total = 0
  for (let i = text.indexOf('fn::secret'); i >= 0; i = text.indexOf('fn::secret', i + 1)) total++
  if (total === 0) return false
  return (text.match(SEALED_SECRET)?.length ?? 0) !== total
}

/**
 * The ciphertext check: every `fn::secret: {ciphertext}` given in the input must be one `environment` can
 * open. First its ownership (DomainKeys.ownership: another environment's, another store's, an unknown
 * format are refused without touching a key), then an `own` one is authenticated with the evaluation's cipher (a
 * corrupted payload, one whose data key is gone, one sealed under a key id it merely claims): the AEAD
 * open is the only proof, its plaintext is dropped at once. A refused one is an error at its position.
 */
export async function checkOwnership(yaml: string, environment: string, keys: DomainKeys): Promise<Diagnostic[]> {
  const probe: SecretCipher = {
    encrypt: () => Promise.reject(new Error('the ciphertext check does not encrypt')),
    decrypt: async (payload, env) => {
      const o = await keys.ownership(payload, environment)
      if (typeof o === 'object') throw new Error(o.refused)
      // a foreign payload was authenticated by the face that accepted it (with its owner's key, without
      // asking the caller's role there: saving it is harmless, using it checks the role on every open)
      if (o === 'foreign') return new Uint8Array(0)
      try {
        await keys.cipher.decrypt(payload, env)
      } catch (err) {
        throw new Error(`${(err as Error).message}: this environment cannot open it; enter the secret's value again instead of copying the ciphertext`, {
          cause: err,
        })
      }
      return new Uint8Array(0)
    },
  }
  return (await decryptSecrets(yaml, probe, environment)).diagnostics
}

function refuse(environment: string, summary: string): Refused {
  return {
    ok: false,
    diagnostics: [{ severity: 'error', summary, range: { environment, begin: { line: 1, column: 1, byte: 0 }, end: { line: 1, column: 1, byte: 0 } } }],
  }
}
