/**
 * The one save pipeline: input text → limits → parse and encrypt the plaintext `fn::secret`s → validate
 * (check-mode evaluation, imports from storage) → ciphertext ownership check → the YAML to store, or the
 * diagnostics that refuse it. The local store's create/update/rotate and the server's PATCH route
 * (through server/evaluator.ts) run it; appending the revision stays with each store (storage.ts).
 */
import { decryptSecrets, DEFAULT_LIMITS, encryptSecrets } from '../esc/index.ts'
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
  const enc = await encryptSecrets(req.text, req.keys.cipher, req.environment)
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
  if (holdsSecrets(req.text)) {
    const owned = await checkOwnership(enc.text, req.environment, req.keys)
    if (hasErrors(owned)) return { ok: false, diagnostics: owned, checked }
  }
  return { ok: true, yaml: enc.text, diagnostics: [...enc.diagnostics, ...checked.diagnostics], checked }
}

/**
 * The ciphertext ownership check: every `fn::secret: {ciphertext}` must be one `environment` may hold
 * (DomainKeys.ownership); a refused one is an error at its position. Nothing is decrypted: the walk of
 * the core's decryptSecrets is used with a probe that only asks about ownership.
 */
export async function checkOwnership(yaml: string, environment: string, keys: DomainKeys): Promise<Diagnostic[]> {
  const probe: SecretCipher = {
    encrypt: () => Promise.reject(new Error('the ownership check does not encrypt')),
    decrypt: async (payload) => {
      const o = await keys.ownership(payload, environment)
      if (typeof o === 'object') throw new Error(o.refused)
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
