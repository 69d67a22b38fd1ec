/**
 * The local store: `EnvironmentService` on one SQLite file (see db.ts for durability and concurrency).
 *
 * - Every save is an immutable revision (number, author = OS user, time, message); `latest` is built in,
 *   revision tags (`stable`, `prod`…) and environment tags (key/value) are rows beside it.
 * - Optimistic concurrency: `update` names the revision it edited; a stale one is a ConflictError, checked
 *   under the write lock, so two processes never lose an update.
 * - Secrets exist on disk only as ciphertext inside the stored YAML (`fn::secret: {ciphertext: …}`),
 *   sealed with the environment's data key (crypto/key-manager.ts); the core does the inline rewrite.
 * - Every action lands in the `audit` table (never with secret values).
 */
import { userInfo } from 'node:os'
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { ConflictError, UserError } from '../../../shared/errors.ts'
import type {
  AuditEvent,
  Definition,
  EnvironmentService,
  EnvironmentSummary,
  KeyStatus,
  OpenResult,
  RevisionInfo,
  RotationResult,
} from '../../../shared/models.ts'
import type { Diagnostic, EvalMode, ExecutionContext, JsonValue, ProviderRegistry, SecretCipher } from '../../../shared/esc/host.ts'
import type { DomainKeys } from '../../../shared/domain/keys.ts'
import type { DomainStorage } from '../../../shared/domain/storage.ts'
import { evaluateDocument, hasErrors, openEnvironment } from '../../../shared/domain/open.ts'
import type { Evaluation } from '../../../shared/domain/open.ts'
import { prepareSave } from '../../../shared/domain/save.ts'
import { resolveDataDir, storeFile } from '../paths.ts'
import { KeyManager, StaleKekError } from '../crypto/key-manager.ts'
import type { KeyRotation } from '../crypto/key-manager.ts'
import type { KeyBackend, KeyConfig } from '../keychain/kek.ts'
import { immediate, openDatabase } from './db.ts'
import { core } from './core.ts'
import { checkTagName, parseRef, parseVersion } from '../../../shared/domain/names.ts'
import { rotateStoredEnvironment } from '../../providers/rotation.ts'
import type { EnvRef } from '../../../shared/domain/names.ts'
import { isoNow } from '../time.ts'

/** Settings kept in the store file (the `meta` table), for every program using it. */
export interface StoreSettings {
  /** whether `envelope run` starts the agent when none is running (see electron/services/agent) */
  'agent.autostart': boolean
}

/** what a setting is until it is set */
const SETTING_DEFAULTS: StoreSettings = { 'agent.autostart': true }

export interface EnvironmentStoreOptions {
  /** data folder (default: ENVELOPE_DATA_DIR, else the OS app-data folder; see paths.ts) */
  dataDir?: string | undefined
  /** how keys are reached (default: keychain, or ENVELOPE_PASSPHRASE / ENVELOPE_KEY_FILE) */
  keys?: KeyConfig
  /** providers and rotators for `fn::open` / `fn::rotate` in `open()` */
  providers?: ProviderRegistry
  /** author of revisions and audit events (default: the OS user) */
  user?: string
  /** extra execution context merged into `${context…}` */
  context?: ExecutionContext
  /** how long a writer waits for another process's write lock (default 15 s) */
  busyTimeoutMs?: number
}

/** The definition has errors: saving was refused. The message names the first one with file:line:col. */
export class DefinitionError extends UserError {
  readonly diagnostics: Diagnostic[]
  constructor(environment: string, diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error')
    const first = errors[0]!
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : ''
    super('invalid_input', `${formatDiagnostic(environment, first)}${more}; the definition was not saved`, {
      hint: 'fix the definition and save again',
    })
    this.name = 'DefinitionError'
    this.diagnostics = diagnostics
  }
}

/** `project/env:3:7: summary` (`values.a.b` when there is no range). */
export function formatDiagnostic(environment: string, d: Diagnostic): string {
  if (d.range) return `${d.range.environment}:${d.range.begin.line}:${d.range.begin.column}: ${d.summary}`
  return `${environment}${d.path ? ` (${d.path})` : ''}: ${d.summary}`
}

interface EnvRow {
  id: number
  project: string
  name: string
  created: string
  modified: string
  latest: number
  data_key: string
}

type RevMeta = Omit<RevRow, 'yaml'>

interface RevRow {
  number: number
  yaml: string
  author: string
  created: string
  message: string
  retracted_by: string | null
  retracted_at: string | null
  retract_reason: string | null
  replacement: number | null
}

type AuditInput = {
  action: AuditEvent['action']
  target: string
  result?: AuditEvent['result']
  detail?: Record<string, JsonValue>
  user?: string
}

const now = isoNow

/** Errors that mean "the store key cannot be used", as opposed to a bad ciphertext in one document. */
const KEY_ERRORS = new Set(['keychain_unavailable', 'unauthorized', 'io'])

/** The store's keys for one use case: `failure` is a key error met while the core ran (see #domainKeys). */
type StoreKeys = DomainKeys & Required<Pick<DomainKeys, 'failure' | 'warm'>>

/** A revision's YAML and, when the store has it, its syntax tree in cached form (shared/esc/syntax-cache.ts). */
interface StoredDoc {
  yaml: string
  syntax?: string
}

/** Revisions opened without a cached syntax tree: the tree is stored once the evaluation is done. */
type SyntaxMisses = Array<{ envId: number; number: number; name: string; doc: StoredDoc }>

function rethrowKeyError(k: StoreKeys): void {
  const err = k.failure()
  if (err) throw err
}

function osUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown'
  }
}

export class EnvironmentStore implements EnvironmentService {
  /** the data folder in use */
  readonly dataDir: string
  /** the SQLite file in use */
  readonly file: string
  /** who is recorded as author / audit user */
  readonly user: string
  readonly #db: DatabaseSync
  readonly #keys: KeyManager
  readonly #providers: ProviderRegistry | undefined
  readonly #context: ExecutionContext
  /**
   * immutable revision sources by `envRowId:created:number` (revisions never change once written), with
   * their cached syntax trees (revision_syntax, see #docOf)
   */
  readonly #sources = new Map<string, StoredDoc>()
  readonly #statements = new Map<string, StatementSync>()
  #closed = false

  constructor(opts: EnvironmentStoreOptions = {}) {
    this.dataDir = resolveDataDir({ dataDir: opts.dataDir })
    this.file = storeFile(this.dataDir)
    const { db, storeId } = openDatabase(this.dataDir, this.file, opts.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: opts.busyTimeoutMs })
    this.#db = db
    this.#keys = new KeyManager(db, storeId, opts.keys ?? {})
    this.#providers = opts.providers
    this.user = opts.user ?? osUser()
    this.#context = { pulumi: { user: { id: this.user } }, ...(opts.context ?? {}) }
  }

  /** Closes the database (idempotent). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#db.close()
  }

  // ---------------------------------------------------------------------------------------------- rows

  /** Prepared statements are reused: compiling the SQL again on every call costs more than running it. */
  #stmt(sql: string): StatementSync {
    let st = this.#statements.get(sql)
    if (!st) {
      st = this.#db.prepare(sql)
      this.#statements.set(sql, st)
    }
    return st
  }

  #env(ref: EnvRef): EnvRow | undefined {
    return this.#stmt('SELECT * FROM environments WHERE project = ? AND name = ?').get(ref.project, ref.name) as EnvRow | undefined
  }

  #mustEnv(ref: EnvRef): EnvRow {
    const row = this.#env(ref)
    if (!row) throw new UserError('not_found', `environment ${ref.id} does not exist`, { hint: 'list environments with `envelope env ls`, or create it' })
    return row
  }

  /** Revision metadata (the YAML is fetched separately, through the cache: see #yamlOf). */
  #rev(env: EnvRow, n: number): RevMeta | undefined {
    return this.#stmt('SELECT number, author, created, message, retracted_by, retracted_at, retract_reason, replacement FROM revisions WHERE env_id = ? AND number = ?')
      .get(env.id, n) as RevMeta | undefined
  }

  /** Resolves a version (number, tag, `latest`) to a readable revision of `env`. */
  #resolve(ref: EnvRef, env: EnvRow, version: string | number | undefined): RevMeta {
    const v = parseVersion(version)
    let n: number
    if (v.kind === 'latest') n = env.latest
    else if (v.kind === 'number') n = v.number
    else {
      const tag = this.#stmt('SELECT revision FROM revision_tags WHERE env_id = ? AND name = ?').get(env.id, v.tag) as { revision: number } | undefined
      if (!tag) throw new UserError('not_found', `environment ${ref.id} has no tag ${JSON.stringify(v.tag)}`, { hint: 'list tags with `envelope env version tag ls`' })
      n = tag.revision
    }
    const row = this.#rev(env, n)
    if (!row) throw new UserError('not_found', `environment ${ref.id} has no revision ${n} (latest is ${env.latest})`)
    if (row.retracted_at) {
      throw new UserError('not_found', `revision ${n} of ${ref.id} was retracted${row.retract_reason ? ` (${row.retract_reason})` : ''}`, {
        hint: `use revision ${row.replacement ?? env.latest} instead`,
      })
    }
    return row
  }

  #tagsOf(envId: number): Map<number, string[]> {
    const rows = this.#stmt('SELECT name, revision FROM revision_tags WHERE env_id = ? ORDER BY name').all(envId) as unknown as { name: string; revision: number }[]
    const m = new Map<number, string[]>()
    for (const r of rows) m.set(r.revision, [...(m.get(r.revision) ?? []), r.name])
    return m
  }

  #info(ref: EnvRef, env: EnvRow, r: RevMeta, tags?: Map<number, string[]>): RevisionInfo {
    const t = (tags ?? this.#tagsOf(env.id)).get(r.number) ?? []
    const all = r.number === env.latest ? ['latest', ...t] : t
    return {
      environment: ref.id,
      number: r.number,
      author: r.author,
      created: r.created,
      message: r.message,
      tags: all,
      ...(r.retracted_at
        ? { retracted: { by: r.retracted_by ?? '', at: r.retracted_at, reason: r.retract_reason ?? '', replacement: r.replacement ?? 0 } }
        : {}),
    }
  }

  #insertAudit(e: AuditInput): void {
    this.#stmt('INSERT INTO audit (time, user, action, target, result, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(now(), e.user ?? this.user, e.action, e.target, e.result ?? 'ok', e.detail === undefined ? null : JSON.stringify(e.detail))
  }

  /** Records an audit event in its own transaction (the CLI logs `run` / `export` with this). Never pass secret values in `detail`. */
  async recordAudit(e: AuditInput): Promise<void> {
    immediate(this.#db, () => this.#insertAudit(e), { durable: false })
  }

  /** Records a failure without masking the original error. */
  #auditFailure(action: AuditEvent['action'], target: string, err: unknown, detail: Record<string, JsonValue> = {}): void {
    const result: AuditEvent['result'] = err instanceof UserError && (err.code === 'forbidden' || err.code === 'unauthorized' || err.code === 'conflict') ? 'denied' : 'error'
    const code = err instanceof UserError ? err.code : 'internal'
    try {
      immediate(this.#db, () => this.#insertAudit({ action, target, result, detail: { ...detail, error: code } }), { durable: false })
    } catch {
      // auditing a failure must not hide it
    }
  }

  // ------------------------------------------------------------------------------------------- crypto

  #keyIdOf(environment: string): string {
    const ref = parseRef(environment)
    const env = this.#env(ref)
    if (!env) throw new Error(`environment ${ref.id} does not exist`)
    return env.data_key
  }

  /**
   * The keys of one use case (shared/domain/keys.ts); `extra` maps an environment not yet in the store to
   * its (prepared) data key. The core turns decryption failures into diagnostics; a missing or wrong KEK is
   * not a document problem, so such errors are also kept and reported by `failure()` after the core returns.
   */
  #domainKeys(extra?: { id: string; keyId: string }): StoreKeys {
    const inner = this.#keys.cipher((environment) => (extra && parseRef(environment).id === extra.id ? extra.keyId : this.#keyIdOf(environment)))
    let keyError: UserError | undefined
    const trap = (err: unknown): never => {
      if (err instanceof UserError && KEY_ERRORS.has(err.code)) keyError ??= err
      throw err
    }
    const cipher: SecretCipher = {
      encrypt: (p, e) => inner.encrypt(p, e).catch((err: unknown) => trap(err)),
      decrypt: (p, e) => inner.decrypt(p, e).catch((err: unknown) => trap(err)),
      decryptSync: (p, e) => {
        try {
          return inner.decryptSync(p, e)
        } catch (err) {
          return trap(err)
        }
      },
    }
    return { cipher, ownership: inner.ownership, warm: (e) => inner.warm(e), failure: () => keyError }
  }

  /**
   * The store as the domain's use cases read it (shared/domain/storage.ts). `misses` collects the stored
   * revisions, root or imported, read without a cached syntax tree (stored once the evaluation is done).
   */
  #storage(misses?: SyntaxMisses): DomainStorage {
    return {
      resolve: async (environment, version) => {
        const ref = parseRef(environment)
        const env = this.#mustEnv(ref)
        const rev = this.#resolve(ref, env, version ?? ref.version)
        const doc = this.#docOf(env, rev)
        if (doc.syntax === undefined) misses?.push({ envId: env.id, number: rev.number, name: ref.id, doc })
        return { environment: ref.id, number: rev.number, yaml: doc.yaml, ...(doc.syntax !== undefined ? { syntax: doc.syntax } : {}) }
      },
      loadImport: async (name) => {
        let ref: EnvRef
        try {
          ref = parseRef(name)
        } catch {
          return undefined
        }
        const env = this.#env(ref)
        if (!env) return undefined
        const rev = this.#resolve(ref, env, ref.version)
        const doc = this.#docOf(env, rev)
        const loaded = ref.version === undefined ? ref.id : `${ref.id}@${ref.version}`
        if (doc.syntax === undefined) misses?.push({ envId: env.id, number: rev.number, name: loaded, doc })
        return { name: loaded, yaml: doc.yaml, ...(doc.syntax !== undefined ? { syntax: doc.syntax } : {}) }
      },
    }
  }

  /** The stored YAML of a revision. */
  #yamlOf(env: EnvRow, rev: RevMeta): string {
    return this.#docOf(env, rev).yaml
  }

  /**
   * The stored YAML of a revision with its cached syntax tree when there is one of the current format;
   * revisions are immutable, so both are cached by environment row + revision.
   */
  #docOf(env: EnvRow, rev: RevMeta): StoredDoc {
    const key = `${env.id}:${env.created}:${rev.number}`
    let d = this.#sources.get(key)
    if (d === undefined) {
      const row = this.#stmt(
        'SELECT r.yaml, s.tree FROM revisions r LEFT JOIN revision_syntax s ON s.env_id = r.env_id AND s.number = r.number AND s.format = ? WHERE r.env_id = ? AND r.number = ?',
      ).get(core.SYNTAX_FORMAT, env.id, rev.number) as { yaml: string; tree: string | null }
      d = row.tree === null ? { yaml: row.yaml } : { yaml: row.yaml, syntax: row.tree }
      if (this.#sources.size > 2000) this.#sources.clear()
      this.#sources.set(key, d)
    }
    return d
  }

  /**
   * Stores the syntax trees of revisions evaluated without one (written by an older version, cloned,
   * or synced), inside the caller's transaction. The trees come from the parse cache of the evaluation
   * that just ran. A tree is a cache entry: an environment whose tree cannot be cached just has none.
   */
  #storeSyntax(misses: SyntaxMisses): void {
    for (const m of misses) {
      const tree = core.syntaxOf(m.name, m.doc.yaml)
      this.#putSyntax(m.envId, m.number, tree)
      if (tree !== undefined) m.doc.syntax = tree
    }
  }

  /** Stores one revision's syntax tree (none when it cannot be cached), inside the caller's transaction. */
  #putSyntax(envId: number, number: number, tree: string | undefined): void {
    if (tree === undefined) return
    this.#stmt('INSERT OR REPLACE INTO revision_syntax (env_id, number, format, tree) VALUES (?, ?, ?, ?)').run(envId, number, core.SYNTAX_FORMAT, tree)
  }

  /** The save pipeline (shared/domain/save.ts): the YAML to store; throws DefinitionError when it is refused. */
  async #prepareYaml(ref: EnvRef, yaml: string, keys: StoreKeys): Promise<{ yaml: string; diagnostics: Diagnostic[] }> {
    if (typeof yaml !== 'string') throw new UserError('invalid_input', 'the definition must be YAML text')
    const r = await prepareSave({ environment: ref.id, text: yaml, keys, loadImport: this.#storage().loadImport, providers: this.#providers, context: this.#context })
    if (!r.ok) throw new DefinitionError(ref.id, r.diagnostics)
    return r
  }

  /** One evaluation (shared/domain/open.ts) with the store's imports, providers and context. */
  #evaluate(name: string, source: string, mode: EvalMode, keys: StoreKeys, rotatePaths?: string[]): Promise<Evaluation> {
    return evaluateDocument({ name, source, mode, keys, loadImport: this.#storage().loadImport, providers: this.#providers, context: this.#context, rotatePaths })
  }

  // ---------------------------------------------------------------------------------------- service

  /** All environments, sorted by `project/name`. */
  async list(): Promise<EnvironmentSummary[]> {
    const envs = this.#stmt('SELECT * FROM environments ORDER BY project, name').all() as unknown as EnvRow[]
    const tags = this.#stmt('SELECT env_id, name, value FROM env_tags ORDER BY name').all() as unknown as { env_id: number; name: string; value: string }[]
    return envs.map((e) => ({
      project: e.project,
      name: e.name,
      id: `${e.project}/${e.name}`,
      latestRevision: e.latest,
      created: e.created,
      modified: e.modified,
      tags: Object.fromEntries(tags.filter((t) => t.env_id === e.id).map((t) => [t.name, t.value])),
    }))
  }

  /**
   * Creates `project/env` at revision 1 (empty unless `yaml` is given; plaintext secrets are encrypted).
   * Throws `already_exists` if it exists, DefinitionError if `yaml` has errors.
   */
  async create(id: string, opts: { yaml?: string; message?: string } = {}): Promise<RevisionInfo> {
    const ref = this.#plainRef(id)
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.#env(ref)) throw new UserError('already_exists', `environment ${ref.id} already exists`)
        const dk = await this.#keys.prepareDataKey()
        const yaml = opts.yaml ? (await this.#prepareYaml(ref, opts.yaml, this.#domainKeys({ id: ref.id, keyId: dk.id }))).yaml : ''
        const tree = core.syntaxOf(ref.id, yaml) // (parsed while preparing: the parse cache answers)
        try {
          return immediate(this.#db, () => {
            if (this.#env(ref)) throw new UserError('already_exists', `environment ${ref.id} already exists`)
            this.#keys.insertDataKey(dk)
            const at = now()
            const res = this.#db
              .prepare('INSERT INTO environments (project, name, created, modified, latest, data_key) VALUES (?, ?, ?, ?, 1, ?)')
              .run(ref.project, ref.name, at, at, dk.id)
            const envId = Number(res.lastInsertRowid)
            const message = opts.message ?? 'created'
            this.#stmt('INSERT INTO revisions (env_id, number, yaml, author, created, message) VALUES (?, 1, ?, ?, ?, ?)').run(envId, yaml, this.user, at, message)
            this.#putSyntax(envId, 1, tree)
            this.#insertAudit({ action: 'create', target: ref.id, detail: { revision: 1 } })
            return { environment: ref.id, number: 1, author: this.user, created: at, message, tags: ['latest'] }
          })
        } catch (err) {
          if (err instanceof StaleKekError && attempt < 3) continue
          throw err
        }
      }
    } catch (err) {
      this.#auditFailure('create', ref.id, err)
      throw err
    }
  }

  /**
   * The stored definition at `version` (default latest). Secrets stay ciphertext unless `decrypt` is set
   * (then `fn::secret: plaintext`, audited as `decrypt`). Retracted revisions cannot be read.
   */
  async getDefinition(id: string, opts: { version?: string | number; decrypt?: boolean } = {}): Promise<Definition> {
    const ref = parseRef(id)
    const action = opts.decrypt ? 'decrypt' : 'read'
    try {
      const env = this.#mustEnv(ref)
      const rev = this.#resolve(ref, env, opts.version ?? ref.version)
      let yaml = this.#yamlOf(env, rev)
      if (opts.decrypt && yaml !== '') {
        const keys = this.#domainKeys()
        const dec = await core.decryptSecrets(yaml, keys.cipher, ref.id)
        rethrowKeyError(keys)
        if (hasErrors(dec.diagnostics)) throw new DefinitionError(ref.id, dec.diagnostics)
        yaml = dec.text
      }
      await this.recordAudit({ action, target: ref.id, detail: { revision: rev.number } })
      return { environment: ref.id, revision: rev.number, yaml, etag: String(rev.number) }
    } catch (err) {
      this.#auditFailure(action, ref.id, err)
      throw err
    }
  }

  /**
   * Saves `yaml` as a new revision. `baseRevision` is the revision the edit started from: if the
   * environment has moved on, throws ConflictError and stores nothing. Plaintext `fn::secret` values are
   * encrypted; a definition with errors is refused (DefinitionError).
   */
  async update(id: string, yaml: string, opts: { baseRevision: number; message?: string }): Promise<RevisionInfo> {
    const ref = this.#plainRef(id)
    try {
      const env = this.#mustEnv(ref)
      if (!Number.isSafeInteger(opts?.baseRevision)) throw new UserError('invalid_input', 'update needs the revision the edit started from (baseRevision)')
      if (opts.baseRevision !== env.latest) throw new ConflictError(ref.id, opts.baseRevision, env.latest)
      const prepared = await this.#prepareYaml(ref, yaml, this.#domainKeys())
      return this.#append(ref, prepared.yaml, opts.message ?? '', opts.baseRevision, 'update')
    } catch (err) {
      this.#auditFailure('update', ref.id, err, { baseRevision: opts?.baseRevision ?? null })
      throw err
    }
  }

  /** Appends a revision under the write lock, checking the base revision there (the real concurrency check). */
  #append(ref: EnvRef, yaml: string, message: string, baseRevision: number | undefined, action: 'update' | 'rollback', detail: Record<string, JsonValue> = {}): RevisionInfo {
    // the new revision's syntax tree, made before taking the write lock
    const tree = core.syntaxOf(ref.id, yaml)
    return immediate(this.#db, () => {
      const env = this.#mustEnv(ref)
      if (baseRevision !== undefined && env.latest !== baseRevision) throw new ConflictError(ref.id, baseRevision, env.latest)
      const n = env.latest + 1
      const at = now()
      this.#stmt('INSERT INTO revisions (env_id, number, yaml, author, created, message) VALUES (?, ?, ?, ?, ?, ?)').run(env.id, n, yaml, this.user, at, message)
      this.#putSyntax(env.id, n, tree)
      this.#stmt('UPDATE environments SET latest = ?, modified = ? WHERE id = ?').run(n, at, env.id)
      this.#insertAudit({ action, target: ref.id, detail: { revision: n, ...detail } })
      const tags = this.#tagsOf(env.id).get(n) ?? []
      return { environment: ref.id, number: n, author: this.user, created: at, message, tags: ['latest', ...tags] }
    })
  }

  /** Deletes the environment, its history and tags; its data key is destroyed when no clone shares it. */
  async delete(id: string): Promise<void> {
    const ref = this.#plainRef(id)
    try {
      immediate(this.#db, () => {
        const env = this.#mustEnv(ref)
        this.#stmt('DELETE FROM environments WHERE id = ?').run(env.id)
        this.#keys.dropDataKeyIfUnused(env.data_key)
        this.#insertAudit({ action: 'delete', target: ref.id, detail: { revisions: env.latest } })
      })
    } catch (err) {
      this.#auditFailure('delete', ref.id, err)
      throw err
    }
  }

  /**
   * Copies `from` (its latest revision, or its whole history with `keepHistory`) to a new environment `to`.
   * `keepRevisionTags` / `keepEnvTags` copy tags too. The clone shares the source's data key (its
   * ciphertexts stay valid); the key is destroyed only when the last environment using it is deleted.
   */
  async clone(from: string, to: string, opts: { keepHistory?: boolean; keepRevisionTags?: boolean; keepEnvTags?: boolean } = {}): Promise<RevisionInfo> {
    const src = this.#plainRef(from)
    const dst = this.#plainRef(to)
    try {
      return immediate(this.#db, () => {
        const env = this.#mustEnv(src)
        if (this.#env(dst)) throw new UserError('already_exists', `environment ${dst.id} already exists`)
        const at = now()
        const revs = opts.keepHistory ? (this.#stmt('SELECT * FROM revisions WHERE env_id = ? ORDER BY number').all(env.id) as unknown as RevRow[]) : []
        const latest = opts.keepHistory ? env.latest : 1
        const res = this.#db
          .prepare('INSERT INTO environments (project, name, created, modified, latest, data_key) VALUES (?, ?, ?, ?, ?, ?)')
          .run(dst.project, dst.name, at, at, latest, env.data_key)
        const newId = Number(res.lastInsertRowid)
        const ins = this.#stmt(
          'INSERT INTO revisions (env_id, number, yaml, author, created, message, retracted_by, retracted_at, retract_reason, replacement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        if (opts.keepHistory) {
          for (const r of revs) ins.run(newId, r.number, r.yaml, r.author, r.created, r.message, r.retracted_by, r.retracted_at, r.retract_reason, r.replacement)
        } else {
          ins.run(newId, 1, this.#yamlOf(env, this.#resolve(src, env, 'latest')), this.user, at, `cloned from ${src.id}@${env.latest}`, null, null, null, null)
        }
        if (opts.keepHistory && opts.keepRevisionTags) {
          this.#stmt('INSERT INTO revision_tags (env_id, name, revision, created, modified, editor) SELECT ?, name, revision, created, modified, editor FROM revision_tags WHERE env_id = ?').run(newId, env.id)
        }
        if (opts.keepEnvTags) {
          this.#stmt('INSERT INTO env_tags (env_id, name, value, created, modified, editor) SELECT ?, name, value, created, modified, editor FROM env_tags WHERE env_id = ?').run(newId, env.id)
        }
        this.#insertAudit({ action: 'clone', target: dst.id, detail: { from: src.id, revision: env.latest, keepHistory: !!opts.keepHistory } })
        const newEnv = this.#mustEnv(dst)
        return this.#info(dst, newEnv, this.#rev(newEnv, latest)!)
      })
    } catch (err) {
      this.#auditFailure('clone', dst.id, err, { from: src.id })
      throw err
    }
  }

  /** Revisions newest first; `before` is exclusive (0 or absent = from latest); `count` defaults to all. */
  async listRevisions(id: string, opts: { before?: number; count?: number } = {}): Promise<RevisionInfo[]> {
    const ref = this.#plainRef(id)
    const env = this.#mustEnv(ref)
    const before = opts.before && opts.before > 0 ? opts.before : Number.MAX_SAFE_INTEGER
    const count = opts.count && opts.count > 0 ? opts.count : -1
    const rows = this.#stmt('SELECT number, author, created, message, retracted_by, retracted_at, retract_reason, replacement FROM revisions WHERE env_id = ? AND number < ? ORDER BY number DESC LIMIT ?')
      .all(env.id, before, count) as unknown as RevMeta[]
    const tags = this.#tagsOf(env.id)
    return rows.map((r) => this.#info(ref, env, r, tags))
  }

  /** Creates or moves revision tag `tag` to `revision`. `latest` is built in and cannot be set. */
  async tagRevision(id: string, tag: string, revision: number): Promise<void> {
    const ref = this.#plainRef(id)
    try {
      if (tag === 'latest') throw new UserError('invalid_input', '`latest` is built in: it always names the newest revision')
      checkTagName(tag)
      immediate(this.#db, () => {
        const env = this.#mustEnv(ref)
        const rev = this.#resolve(ref, env, revision)
        const at = now()
        const prev = this.#stmt('SELECT revision FROM revision_tags WHERE env_id = ? AND name = ?').get(env.id, tag) as { revision: number } | undefined
        this.#db
          .prepare('INSERT INTO revision_tags (env_id, name, revision, created, modified, editor) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (env_id, name) DO UPDATE SET revision = excluded.revision, modified = excluded.modified, editor = excluded.editor')
          .run(env.id, tag, rev.number, at, at, this.user)
        this.#insertAudit({ action: 'tag', target: ref.id, detail: { tag, revision: rev.number, ...(prev ? { previous: prev.revision } : {}) } })
      })
    } catch (err) {
      this.#auditFailure('tag', ref.id, err, { tag })
      throw err
    }
  }

  /** Removes a revision tag (`latest` cannot be removed). */
  async untagRevision(id: string, tag: string): Promise<void> {
    const ref = this.#plainRef(id)
    try {
      if (tag === 'latest') throw new UserError('invalid_input', '`latest` is built in and cannot be removed')
      immediate(this.#db, () => {
        const env = this.#mustEnv(ref)
        const res = this.#stmt('DELETE FROM revision_tags WHERE env_id = ? AND name = ?').run(env.id, tag)
        if (res.changes === 0) throw new UserError('not_found', `environment ${ref.id} has no tag ${JSON.stringify(tag)}`)
        this.#insertAudit({ action: 'untag', target: ref.id, detail: { tag } })
      })
    } catch (err) {
      this.#auditFailure('untag', ref.id, err, { tag })
      throw err
    }
  }

  /** Revision tags by name (`latest` included), sorted by name. */
  async listRevisionTags(id: string): Promise<{ name: string; revision: number; created: string; modified: string; editor: string }[]> {
    const ref = this.#plainRef(id)
    const env = this.#mustEnv(ref)
    const rows = this.#stmt('SELECT name, revision, created, modified, editor FROM revision_tags WHERE env_id = ?').all(env.id) as unknown as {
      name: string
      revision: number
      created: string
      modified: string
      editor: string
    }[]
    const latest = { name: 'latest', revision: env.latest, created: env.created, modified: env.modified, editor: this.#rev(env, env.latest)?.author ?? '' }
    return [latest, ...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /**
   * Retracts a revision (ESC semantics): it can no longer be read or opened; tags pointing at it move to
   * the replacement (default: the newest earlier revision not retracted). The latest revision cannot be
   * retracted: save or roll back first.
   */
  async retract(id: string, revision: number, opts: { replacement?: number; reason?: string } = {}): Promise<void> {
    const ref = this.#plainRef(id)
    try {
      immediate(this.#db, () => {
        const env = this.#mustEnv(ref)
        const rev = this.#rev(env, revision)
        if (!rev) throw new UserError('not_found', `environment ${ref.id} has no revision ${revision}`)
        if (rev.retracted_at) throw new UserError('invalid_input', `revision ${revision} of ${ref.id} is already retracted`)
        if (revision === env.latest) {
          throw new UserError('invalid_input', `revision ${revision} is the latest revision of ${ref.id} and cannot be retracted`, {
            hint: 'roll back to an earlier revision first (that makes a new latest), then retract this one',
          })
        }
        let replacement = opts.replacement
        if (replacement === undefined) {
          const r = this.#stmt('SELECT number FROM revisions WHERE env_id = ? AND number < ? AND retracted_at IS NULL ORDER BY number DESC LIMIT 1').get(env.id, revision) as { number: number } | undefined
          if (!r) throw new UserError('invalid_input', `revision ${revision} has no earlier revision to replace it`, { hint: 'name a replacement revision' })
          replacement = r.number
        }
        if (replacement === revision) throw new UserError('invalid_input', 'a revision cannot replace itself')
        const rep = this.#rev(env, replacement)
        if (!rep || rep.retracted_at) throw new UserError('invalid_input', `replacement revision ${replacement} of ${ref.id} does not exist or is retracted`)
        const at = now()
        this.#db
          .prepare('UPDATE revisions SET retracted_by = ?, retracted_at = ?, retract_reason = ?, replacement = ? WHERE env_id = ? AND number = ?')
          .run(this.user, at, opts.reason ?? '', replacement, env.id, revision)
        const moved = this.#stmt('UPDATE revision_tags SET revision = ?, modified = ?, editor = ? WHERE env_id = ? AND revision = ?').run(replacement, at, this.user, env.id, revision)
        this.#insertAudit({ action: 'retract', target: ref.id, detail: { revision, replacement, reason: opts.reason ?? '', movedTags: Number(moved.changes) } })
      })
    } catch (err) {
      this.#auditFailure('retract', ref.id, err, { revision })
      throw err
    }
  }

  /**
   * Rolls back to `revision`: a NEW revision with that revision's content (history is never rewritten).
   * With `baseRevision`, refuses (ConflictError) if the environment moved on since.
   */
  async rollback(id: string, revision: number, opts: { message?: string; baseRevision?: number } = {}): Promise<RevisionInfo> {
    const ref = this.#plainRef(id)
    try {
      const env = this.#mustEnv(ref)
      const rev = this.#resolve(ref, env, revision)
      return this.#append(ref, this.#yamlOf(env, rev), opts.message ?? `rollback to revision ${rev.number}`, opts.baseRevision, 'rollback', { from: rev.number })
    } catch (err) {
      this.#auditFailure('rollback', ref.id, err, { revision })
      throw err
    }
  }

  /** Environment tags (key/value metadata). */
  async getTags(id: string): Promise<Record<string, string>> {
    const env = this.#mustEnv(this.#plainRef(id))
    const rows = this.#stmt('SELECT name, value FROM env_tags WHERE env_id = ? ORDER BY name').all(env.id) as unknown as { name: string; value: string }[]
    return Object.fromEntries(rows.map((r) => [r.name, r.value]))
  }

  /** Creates or updates an environment tag. */
  async setTag(id: string, key: string, value: string): Promise<void> {
    const ref = this.#plainRef(id)
    try {
      if (typeof key !== 'string' || key === '' || key.length > 255) throw new UserError('invalid_input', 'a tag name must be 1-255 characters')
      if (typeof value !== 'string' || value.length > 4096) throw new UserError('invalid_input', 'a tag value must be a string of at most 4096 characters')
      immediate(this.#db, () => {
        const env = this.#mustEnv(ref)
        const at = now()
        this.#db
          .prepare('INSERT INTO env_tags (env_id, name, value, created, modified, editor) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (env_id, name) DO UPDATE SET value = excluded.value, modified = excluded.modified, editor = excluded.editor')
          .run(env.id, key, value, at, at, this.user)
        this.#insertAudit({ action: 'tag', target: ref.id, detail: { envTag: key } })
      })
    } catch (err) {
      this.#auditFailure('tag', ref.id, err, { envTag: String(key) })
      throw err
    }
  }

  /** Deletes an environment tag (`not_found` if missing). */
  async deleteTag(id: string, key: string): Promise<void> {
    const ref = this.#plainRef(id)
    try {
      immediate(this.#db, () => {
        const env = this.#mustEnv(ref)
        const res = this.#stmt('DELETE FROM env_tags WHERE env_id = ? AND name = ?').run(env.id, key)
        if (res.changes === 0) throw new UserError('not_found', `environment ${ref.id} has no tag ${JSON.stringify(key)}`)
        this.#insertAudit({ action: 'untag', target: ref.id, detail: { envTag: key } })
      })
    } catch (err) {
      this.#auditFailure('untag', ref.id, err, { envTag: String(key) })
      throw err
    }
  }

  /** Evaluates a stored revision in `eval` mode (providers opened, secrets decrypted). Audited as `open`. */
  async open(id: string, opts: { version?: string | number } = {}): Promise<OpenResult> {
    const ref = parseRef(id)
    try {
      const misses: SyntaxMisses = []
      const res = await openEnvironment(this.#storage(misses), {
        environment: ref.id,
        version: opts.version ?? ref.version,
        mode: 'eval',
        keys: this.#domainKeys(),
        providers: this.#providers,
        context: this.#context,
      })
      const failed = hasErrors(res.diagnostics)
      const audit: AuditInput = { action: 'open', target: ref.id, result: failed ? 'error' : 'ok', detail: { revision: res.revision, imports: res.imports } }
      immediate(this.#db, () => {
        this.#insertAudit(audit)
        this.#storeSyntax(misses)
      }, { durable: false })
      return {
        environment: ref.id,
        revision: res.revision,
        ...(res.value ? { value: res.value } : {}),
        diagnostics: res.diagnostics,
        imports: res.imports,
        ...(res.providers.length > 0 ? { providers: res.providers } : {}),
      }
    } catch (err) {
      this.#auditFailure('open', ref.id, err)
      throw err
    }
  }

  /**
   * Evaluates an unsaved buffer as if it were `id` (live preview); `mode` defaults to `check` (providers
   * not opened, outputs unknown). Imports resolve from the store. Nothing is written (an `eval` is audited).
   */
  async check(id: string, yaml: string, opts: { mode?: 'check' | 'eval' } = {}): Promise<OpenResult> {
    const ref = this.#plainRef(id)
    const mode = opts.mode ?? 'check'
    const env = this.#env(ref)
    const res = await this.#evaluate(ref.id, yaml, mode, this.#domainKeys())
    if (mode === 'eval') await this.recordAudit({ action: 'open', target: ref.id, result: hasErrors(res.diagnostics) ? 'error' : 'ok', detail: { unsaved: true, imports: res.imports } })
    return { environment: ref.id, revision: env?.latest ?? 0, ...(res.value ? { value: res.value } : {}), diagnostics: res.diagnostics, imports: res.imports }
  }

  /**
   * Rotates the `fn::rotate` secrets of the latest revision (all, or those under `paths`, e.g. `db.creds`)
   * and saves their new state as a new revision (re-applied on a concurrent save, never dropped).
   * Audited as `rotate` with each rotation's path and status (never the credentials).
   */
  async rotate(id: string, opts: { paths?: string[] } = {}): Promise<RotationResult> {
    const ref = this.#plainRef(id)
    try {
      const result = await rotateStoredEnvironment(ref.id, opts.paths, {
        read: async () => {
          const env = this.#mustEnv(ref)
          const rev = this.#resolve(ref, env, 'latest')
          const keys = this.#domainKeys()
          const dec = await core.decryptSecrets(this.#yamlOf(env, rev), keys.cipher, ref.id)
          rethrowKeyError(keys)
          if (hasErrors(dec.diagnostics)) throw new DefinitionError(ref.id, dec.diagnostics)
          return { yaml: dec.text, revision: rev.number }
        },
        evaluate: (yaml, rotatePaths) => this.#evaluate(ref.id, yaml, 'rotate', this.#domainKeys(), rotatePaths),
        save: async (yaml, baseRevision, message) => {
          const prepared = await this.#prepareYaml(ref, yaml, this.#domainKeys())
          return this.#append(ref, prepared.yaml, message, baseRevision, 'update', { rotation: true })
        },
      })
      await this.recordAudit({
        action: 'rotate',
        target: ref.id,
        result: result.status === 'failed' ? 'error' : 'ok',
        detail: {
          preRotationRevision: result.preRotationRevision,
          ...(result.postRotationRevision !== undefined ? { postRotationRevision: result.postRotationRevision } : {}),
          rotations: result.rotations.map((r) => ({ path: r.path, status: r.status })),
        },
      })
      return result
    } catch (err) {
      this.#auditFailure('rotate', ref.id, err)
      throw err
    }
  }

  /**
   * Audit events, newest first. `target` filters by environment (or `store` for key events), `action` by
   * action, `before` pages (events with a smaller id), `limit` caps the count (default 1000).
   */
  async audit(opts: { target?: string; limit?: number; action?: AuditEvent['action']; before?: number } = {}): Promise<AuditEvent[]> {
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 1000
    const where: string[] = []
    const args: (string | number)[] = []
    const add = (clause: string, arg: string | number) => {
      where.push(clause)
      args.push(arg)
    }
    if (opts.target !== undefined) add('target = ?', opts.target)
    if (opts.action !== undefined) add('action = ?', opts.action)
    if (opts.before !== undefined && opts.before > 0) add('id < ?', opts.before)
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`
    const rows = this.#stmt(sql).all(...args, limit) as unknown as {
      id: number
      time: string
      user: string
      action: AuditEvent['action']
      target: string
      result: AuditEvent['result']
      detail: string | null
    }[]
    return rows.map((r) => ({
      id: r.id,
      time: r.time,
      user: r.user,
      action: r.action,
      target: r.target,
      result: r.result,
      ...(r.detail ? { detail: JSON.parse(r.detail) as Record<string, JsonValue> } : {}),
    }))
  }

  /** The active key's id and backend, read from the store only (no keychain call); undefined before the first save. */
  activeKeyInfo(): { id: string; backend: KeyBackend } | undefined {
    return this.#keys.activeKeyInfo()
  }

  /** A store setting (see StoreSettings); its default (SETTING_DEFAULTS) when it was never set. */
  setting<K extends keyof StoreSettings>(name: K): StoreSettings[K] {
    const row = this.#stmt('SELECT value FROM meta WHERE key = ?').get(`setting.${name}`) as { value: string } | undefined
    return row ? (JSON.parse(row.value) as StoreSettings[K]) : SETTING_DEFAULTS[name]
  }

  /** Changes a store setting (audited as `settings`). */
  async setSetting<K extends keyof StoreSettings>(name: K, value: StoreSettings[K]): Promise<void> {
    immediate(this.#db, () => {
      this.#stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(`setting.${name}`, JSON.stringify(value))
      this.#insertAudit({ action: 'settings', target: 'store', detail: { [name]: value } })
    })
  }

  /** Which key backend the store uses and whether the key is reachable now (never throws). */
  async keyStatus(): Promise<KeyStatus> {
    return this.#keys.status()
  }

  /**
   * Rotates the key-encryption key: a new KEK re-wraps every data key (no secret ciphertext changes) and
   * the old one is deleted from the keychain. `to` switches backend (e.g. keychain -> passphrase).
   */
  async rotateKey(to: KeyConfig = {}): Promise<KeyRotation> {
    try {
      const r = await this.#keys.rotate(to)
      const detail = { keyId: r.keyId, retiredKeyId: r.retiredKeyId, from: r.from, to: r.backend, rewrapped: r.rewrapped, oldKeyRemoved: r.oldKeyRemoved }
      immediate(this.#db, () => this.#insertAudit({ action: 'key.rotate', target: 'store', detail }))
      return r
    } catch (err) {
      this.#auditFailure('key.rotate', 'store', err, to.backend ? { to: to.backend } : {})
      throw err
    }
  }

  /** The store key sealed with `passphrase` (one line of text) for a second machine. Audited. */
  async exportKey(passphrase: string): Promise<string> {
    try {
      const out = await this.#keys.exportKey(passphrase)
      immediate(this.#db, () => this.#insertAudit({ action: 'key.export', target: 'store' }))
      return out
    } catch (err) {
      this.#auditFailure('key.export', 'store', err)
      throw err
    }
  }

  /** Installs a key exported by `exportKey` into this machine's keychain (or ENVELOPE_KEY_FILE). Audited. */
  async importKey(exported: string, passphrase: string): Promise<{ keyId: string }> {
    try {
      const r = await this.#keys.importKey(exported, passphrase)
      immediate(this.#db, () => this.#insertAudit({ action: 'key.import', target: 'store', detail: { keyId: r.keyId, backend: r.backend } }))
      return r
    } catch (err) {
      this.#auditFailure('key.import', 'store', err)
      throw err
    }
  }

  #plainRef(id: string): EnvRef {
    const ref = parseRef(id)
    if (ref.version !== undefined) throw new UserError('invalid_input', `${id}: this operation does not take a version`, { hint: `use ${ref.id}` })
    return ref
  }
}
