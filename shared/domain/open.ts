/**
 * The one open pipeline: resolve the version, load imports through storage, evaluate (check or eval mode)
 * with the face's keys and providers, report which providers it used, and show or redact secrets.
 * The local store's `open`/`check` (electron/services/store/) and the server's `Evaluator`
 * (server/evaluator.ts) are arrangements of these functions; each keeps its own caches in its storage.
 */
import { setOwn } from '../esc/own.ts'
import { evaluate } from '../esc/index.ts'
import type { Diagnostic, EvalMode, EvalResult, EvalValue, ExecutionContext, ProviderRegistry } from '../esc/host.ts'
import type { DomainKeys } from './keys.ts'
import type { DomainStorage, ImportedDocument, StoredDocument } from './storage.ts'

/** whether a stored definition holds secrets (then its keys are warmed before an evaluation that decrypts) */
export const holdsSecrets = (source: string): boolean => source.includes('ciphertext')

/** Whether diagnostics include an error (warnings do not stop a save or an open). */
export const hasErrors = (ds: Diagnostic[]): boolean => ds.some((d) => d.severity === 'error')

/** One evaluation of a document, as open, check, save and rotate run it. */
export interface EvaluationRequest {
  /** the environment's name as the core reports it (`project/env`) */
  name: string
  /** the definition: text, or a stored revision (with its cached syntax tree) */
  source: string | StoredDocument
  mode: EvalMode
  keys: DomainKeys
  /** imports, by name as written; every loaded import's keys are warmed when the evaluation decrypts */
  loadImport: (name: string) => Promise<ImportedDocument | undefined>
  providers?: ProviderRegistry | undefined
  context?: ExecutionContext | undefined
  /** rotate mode: only these paths */
  rotatePaths?: string[] | undefined
}

/** An evaluation's result plus the providers and rotators it looked up, sorted (the agent serves only runs without any). */
export type Evaluation = EvalResult & { providers: string[] }

/**
 * Evaluates a document. Secrets are decrypted in eval and rotate modes (the keys of the document and of
 * each import holding secrets are warmed first); check mode validates ciphertext envelopes only. A failure
 * of the keys themselves is thrown (`DomainKeys.failure`), document problems are diagnostics.
 */
export async function evaluateDocument(req: EvaluationRequest): Promise<Evaluation> {
  const used = new Set<string>()
  const registry = req.providers
  const providers: ProviderRegistry | undefined = registry && {
    provider: (n) => (used.add(n), registry.provider(n)),
    rotator: (n) => (used.add(n), registry.rotator(n)),
  }
  const doc = typeof req.source === 'string' ? { yaml: req.source } : req.source
  const decrypting = req.mode !== 'check'
  const keys = req.keys
  const warm = decrypting ? keys.warm?.bind(keys) : undefined
  if (warm && holdsSecrets(doc.yaml)) await warm(req.name)
  const res = await evaluate({
    name: req.name,
    source: doc.yaml,
    ...(doc.syntax !== undefined ? { syntax: doc.syntax } : {}),
    mode: req.mode,
    ...(req.rotatePaths ? { rotatePaths: req.rotatePaths } : {}),
    loader: {
      load: async (name) => {
        const d = await req.loadImport(name)
        if (d && warm && holdsSecrets(d.yaml)) await warm(d.name)
        return d && { name: d.name, source: d.yaml, ...(d.syntax !== undefined ? { syntax: d.syntax } : {}) }
      },
    },
    cipher: keys.cipher,
    ...(req.context ? { context: req.context } : {}),
    ...(providers ? { providers } : {}),
  })
  const failed = keys.failure?.()
  if (failed) throw failed
  return { ...res, providers: [...used].sort() }
}

/** What an open returns before the face shapes it (OpenResult locally, Environment JSON on the server). */
export interface Opened extends Evaluation {
  environment: string
  revision: number
}

/**
 * Opens a stored environment: resolves `version` (number, tag, `latest`; retracted revisions refused) and
 * evaluates that revision with its imports from `storage`.
 */
export async function openEnvironment(
  storage: DomainStorage,
  req: Omit<EvaluationRequest, 'source' | 'loadImport' | 'name'> & { environment: string; version?: string | number | undefined },
): Promise<Opened> {
  const rev = await storage.resolve(req.environment, req.version)
  const res = await evaluateDocument({ ...req, name: rev.environment, source: rev, loadImport: (n) => storage.loadImport(n) })
  return { ...res, environment: rev.environment, revision: rev.number }
}

/** Replaces secret leaves by "[secret]" (what a caller sees without show-secrets). */
export function redact(v: EvalValue): EvalValue {
  if (v.secret) return { ...v, value: '[secret]' }
  if (Array.isArray(v.value)) return { ...v, value: v.value.map(redact) }
  if (v.value !== null && typeof v.value === 'object') {
    const out: Record<string, EvalValue> = {}
    for (const [k, x] of Object.entries(v.value)) setOwn(out, k, redact(x))
    return { ...v, value: out }
  }
  return v
}

/** Top-level values with secrets shown (`reveal`) or redacted. */
export function showSecrets(value: Record<string, EvalValue>, opts: { reveal: boolean }): Record<string, EvalValue> {
  if (opts.reveal) return value
  const out: Record<string, EvalValue> = {}
  for (const [k, v] of Object.entries(value)) setOwn(out, k, redact(v))
  return out
}
