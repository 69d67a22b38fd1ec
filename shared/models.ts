/**
 * Models shared by the store, the CLI, the IPC contract, the web transport, the server and the sync client.
 * Environment names are `project/env`; a version reference is a number, a revision tag, or `latest`.
 */
import type { Diagnostic, EvalValue, JsonValue } from './esc/host.ts'

export interface EnvironmentSummary {
  project: string
  name: string
  /** `project/name` */
  id: string
  latestRevision: number
  created: string
  modified: string
  tags: Record<string, string>
}

export interface RevisionInfo {
  environment: string
  number: number
  author: string
  created: string
  message: string
  /** revision tags pointing at this revision (`latest` included for the newest) */
  tags: string[]
  retracted?: { by: string; at: string; reason: string; replacement: number }
}

export interface Definition {
  environment: string
  revision: number
  /** YAML; secrets as ciphertext unless `decrypt` was asked (then plaintext `fn::secret: value`) */
  yaml: string
  /** opaque concurrency token (revision number as a string for the local store) */
  etag: string
}

export interface OpenResult {
  environment: string
  revision: number
  value?: Record<string, EvalValue>
  diagnostics: Diagnostic[]
  imports: string[]
  /** the providers (`fn::open::…` / `fn::rotate::…` names) the evaluation called, when any */
  providers?: string[]
}

export interface AuditEvent {
  id: number
  time: string
  user: string
  action:
    | 'create'
    | 'update'
    | 'read'
    | 'open'
    | 'run'
    | 'export'
    | 'decrypt'
    | 'tag'
    | 'untag'
    | 'retract'
    | 'rollback'
    | 'clone'
    | 'delete'
    | 'key.rotate'
    | 'key.export'
    | 'key.import'
    | 'rotate'
    | 'sync.push'
    | 'sync.pull'
    | 'agent.start'
    | 'agent.stop'
    | 'settings'
  target: string
  result: 'ok' | 'denied' | 'error'
  /** never secret values */
  detail?: Record<string, JsonValue>
}

/** The outcome of `rotate` (ESC's secretRotationEvent, local form). */
export interface RotationResult {
  environment: string
  preRotationRevision: number
  /** the revision holding the new rotation state; absent when nothing was rotated */
  postRotationRevision?: number
  /** `failed` when at least one selected rotation failed (the others are still saved) */
  status: 'succeeded' | 'failed'
  /** one entry per selected `fn::rotate`, by the path of the value holding it (e.g. `values.db`) */
  rotations: { path: string; status: 'succeeded' | 'failed'; errorMessage?: string }[]
  diagnostics: Diagnostic[]
}

export interface KeyStatus {
  backend: 'keychain' | 'passphrase' | 'keyfile'
  /** e.g. "Secret Service (gnome-keyring)" */
  description: string
  available: boolean
  keyId?: string
  message?: string
}

/** One environment that uses another (what deleting the other would break). */
export interface Importer {
  /** the environment that uses it (`project/env`) */
  id: string
  /** how: listed in its `imports:`, or read through a `${environments.<project>.<env>…}` interpolation */
  via: 'import' | 'reference'
  /** as written: the import entry (`lib`, `c/lib@3`) or the reference (`environments.c.lib`) */
  raw: string
  /** where in its latest definition (1-based line) */
  line: number
}

export interface EnvironmentService {
  list(): Promise<EnvironmentSummary[]>
  create(id: string, opts?: { yaml?: string; message?: string }): Promise<RevisionInfo>
  /** `version`: number, tag name, or `latest` (default) */
  getDefinition(id: string, opts?: { version?: string | number; decrypt?: boolean }): Promise<Definition>
  /** Saves a new revision. `baseRevision` is the revision the edit started from: a stale one throws ConflictError. Plaintext `fn::secret` values are encrypted before storing. */
  update(id: string, yaml: string, opts: { baseRevision: number; message?: string }): Promise<RevisionInfo>
  /**
   * Deletes an environment and its history. Refused with InUseError (code `in_use`, listing them) while
   * other environments import or reference it, unless `force`.
   */
  delete(id: string, opts?: { force?: boolean }): Promise<void>
  /** The environments whose latest definition uses `id` (imports or `${environments.…}` references). */
  importers(id: string): Promise<Importer[]>
  clone(from: string, to: string, opts?: { keepHistory?: boolean }): Promise<RevisionInfo>
  listRevisions(id: string, opts?: { before?: number; count?: number }): Promise<RevisionInfo[]>
  tagRevision(id: string, tag: string, revision: number): Promise<void>
  untagRevision(id: string, tag: string): Promise<void>
  retract(id: string, revision: number, opts?: { replacement?: number; reason?: string }): Promise<void>
  rollback(id: string, revision: number, opts?: { message?: string }): Promise<RevisionInfo>
  getTags(id: string): Promise<Record<string, string>>
  setTag(id: string, key: string, value: string): Promise<void>
  deleteTag(id: string, key: string): Promise<void>
  /** Evaluates a stored revision with providers opened (mode eval). Audited as `open`. */
  open(id: string, opts?: { version?: string | number }): Promise<OpenResult>
  /** Evaluates an unsaved buffer as if it were `id` (live preview). `mode` defaults to `check`. */
  check(id: string, yaml: string, opts?: { mode?: 'check' | 'eval' }): Promise<OpenResult>
  audit(opts?: { target?: string; limit?: number }): Promise<AuditEvent[]>
  keyStatus(): Promise<KeyStatus>
  rotateKey(): Promise<{ rewrapped: number }>
  /**
   * Rotates the `fn::rotate` secrets of the latest revision (all, or those under `paths`, e.g. `db.creds`)
   * and saves their new state as a new revision. Audited as `rotate`. Optional until every implementation
   * has it; electron/providers/rotation.ts `rotateStoredEnvironment` does the work.
   */
  rotate?(id: string, opts?: { paths?: string[] }): Promise<RotationResult>
}
