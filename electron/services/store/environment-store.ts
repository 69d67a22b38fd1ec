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
import type { DatabaseSync } from 'node:sqlite'
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
import type { Diagnostic, EvalMode, ExecutionContext, JsonValue, ProviderRegistry } from '../../../shared/esc/host.ts'
import { evaluateDocument, hasErrors, openEnvironment } from '../../../shared/domain/open.ts'
import type { Evaluation } from '../../../shared/domain/open.ts'
import { prepareSave, secretAliases } from '../../../shared/domain/save.ts'
import { resolveDataDir, storeFile } from '../paths.ts'
import { KeyManager, StaleKekError } from '../crypto/key-manager.ts'
import type { KeyRotation } from '../crypto/key-manager.ts'
import type { KeyBackend, KeyConfig } from '../keychain/kek.ts'
import { immediate, openDatabase } from './db.ts'
import { core } from './core.ts'
import { parseRef } from '../../../shared/domain/names.ts'
import { StoreRows, plainRef } from './rows.ts'
import type { EnvRow, RevRow, SyntaxMisses } from './rows.ts'
import { AuditLog } from './audit-log.ts'
import type { AuditInput } from './audit-log.ts'
import { Tags } from './tags.ts'
import { Revisions } from './revisions.ts'
import { readSetting, writeSetting } from './settings.ts'
import type { StoreSettings } from './settings.ts'
import { DefinitionError } from './definition-error.ts'
import { storeKeys } from './store-keys.ts'
import type { StoreKeys } from './store-keys.ts'
import { rotateStoredEnvironment } from '../../providers/rotation.ts'
import type { EnvRef } from '../../../shared/domain/names.ts'
import { isoNow } from '../time.ts'
import { importersOf } from '../../../shared/domain/graph.ts'
import type { Importer } from '../../../shared/domain/graph.ts'
import type { EnvironmentDoc } from '../../../shared/esc/index.ts'
import { InUseError } from '../../../shared/errors.ts'

export { DefinitionError, formatDiagnostic } from './definition-error.ts'
export type { StoreSettings } from './settings.ts'

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

const now = isoNow

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
  readonly #rows: StoreRows
  readonly #audit: AuditLog
  readonly #tags: Tags
  readonly #revisions: Revisions
  readonly #keys: KeyManager
  readonly #providers: ProviderRegistry | undefined
  readonly #context: ExecutionContext
  #closed = false

  constructor(opts: EnvironmentStoreOptions = {}) {
    this.dataDir = resolveDataDir({ dataDir: opts.dataDir })
    this.file = storeFile(this.dataDir)
    const { db, storeId } = openDatabase(this.dataDir, this.file, opts.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: opts.busyTimeoutMs })
    this.#db = db
    this.user = opts.user ?? osUser()
    this.#rows = new StoreRows(db)
    this.#audit = new AuditLog(this.#rows, this.user)
    const context = { rows: this.#rows, audit: this.#audit, user: this.user }
    this.#tags = new Tags(context)
    this.#revisions = new Revisions(context)
    this.#keys = new KeyManager(db, storeId, opts.keys ?? {})
    this.#providers = opts.providers
    this.#context = { pulumi: { user: { id: this.user } }, ...(opts.context ?? {}) }
  }

  /** Closes the database (idempotent). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#db.close()
  }

  // --------------------------------------------------------------------------------------------- audit

  /** Records an audit event in its own transaction (the CLI logs `run` / `export` with this). Never pass secret values in `detail`. */
  async recordAudit(e: AuditInput): Promise<void> {
    return this.#audit.record(e)
  }

  // ------------------------------------------------------------------------------------------- crypto

  /** The keys of one use case (store-keys.ts); `extra`: an environment not yet in the store and its prepared data key. */
  #domainKeys(extra?: { id: string; keyId: string }): StoreKeys {
    return storeKeys(this.#keys, this.#rows, extra)
  }

  /** The save pipeline (shared/domain/save.ts): the YAML to store; throws DefinitionError when it is refused. */
  async #prepareYaml(ref: EnvRef, yaml: string, keys: StoreKeys): Promise<{ yaml: string; diagnostics: Diagnostic[] }> {
    if (typeof yaml !== 'string') throw new UserError('invalid_input', 'the definition must be YAML text')
    const r = await prepareSave({
      environment: ref.id,
      text: yaml,
      keys,
      loadImport: this.#rows.storage().loadImport,
      providers: this.#providers,
      context: this.#context,
    })
    if (!r.ok) throw new DefinitionError(ref.id, r.diagnostics)
    return r
  }

  /** One evaluation (shared/domain/open.ts) with the store's imports, providers and context. */
  #evaluate(name: string, source: string, mode: EvalMode, keys: StoreKeys, rotatePaths?: string[]): Promise<Evaluation> {
    return evaluateDocument({
      name,
      source,
      mode,
      keys,
      loadImport: this.#rows.storage().loadImport,
      providers: this.#providers,
      context: this.#context,
      rotatePaths,
    })
  }

  // ---------------------------------------------------------------------------------------- service

  /** All environments, sorted by `project/name`. */
  async list(): Promise<EnvironmentSummary[]> {
    const envs = this.#rows.stmt('SELECT * FROM environments ORDER BY project, name').all() as unknown as EnvRow[]
    const tags = this.#rows.stmt('SELECT env_id, name, value FROM env_tags ORDER BY name').all() as unknown as { env_id: number; name: string; value: string }[]
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
    const ref = plainRef(id)
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.#rows.env(ref)) throw new UserError('already_exists', `environment ${ref.id} already exists`)
        const dk = await this.#keys.prepareDataKey()
        const yaml = opts.yaml ? (await this.#prepareYaml(ref, opts.yaml, this.#domainKeys({ id: ref.id, keyId: dk.id }))).yaml : ''
        const tree = core.syntaxOf(ref.id, yaml) // (parsed while preparing: the parse cache answers)
        try {
          return immediate(this.#db, () => {
            if (this.#rows.env(ref)) throw new UserError('already_exists', `environment ${ref.id} already exists`)
            this.#keys.insertDataKey(dk)
            const at = now()
            const res = this.#db
              .prepare('INSERT INTO environments (project, name, created, modified, latest, data_key) VALUES (?, ?, ?, ?, 1, ?)')
              .run(ref.project, ref.name, at, at, dk.id)
            const envId = Number(res.lastInsertRowid)
            const message = opts.message ?? 'created'
            this.#rows
              .stmt('INSERT INTO revisions (env_id, number, yaml, author, created, message) VALUES (?, 1, ?, ?, ?, ?)')
              .run(envId, yaml, this.user, at, message)
            this.#rows.putSyntax(envId, 1, tree)
            this.#audit.insert({ action: 'create', target: ref.id, detail: { revision: 1 } })
            return { environment: ref.id, number: 1, author: this.user, created: at, message, tags: ['latest'] }
          })
        } catch (err) {
          if (err instanceof StaleKekError && attempt < 3) continue
          throw err
        }
      }
    } catch (err) {
      this.#audit.failure('create', ref.id, err)
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
      const env = this.#rows.mustEnv(ref)
      const rev = this.#rows.resolve(ref, env, opts.version ?? ref.version)
      let yaml = this.#rows.yamlOf(env, rev)
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
      this.#audit.failure(action, ref.id, err)
      throw err
    }
  }

  /**
   * Saves `yaml` as a new revision. `baseRevision` is the revision the edit started from: if the
   * environment has moved on, throws ConflictError and stores nothing. Plaintext `fn::secret` values are
   * encrypted; a definition with errors is refused (DefinitionError).
   */
  async update(id: string, yaml: string, opts: { baseRevision: number; message?: string }): Promise<RevisionInfo> {
    const ref = plainRef(id)
    try {
      const env = this.#rows.mustEnv(ref)
      if (!Number.isSafeInteger(opts?.baseRevision)) throw new UserError('invalid_input', 'update needs the revision the edit started from (baseRevision)')
      if (opts.baseRevision !== env.latest) throw new ConflictError(ref.id, opts.baseRevision, env.latest)
      const prepared = await this.#prepareYaml(ref, yaml, this.#domainKeys())
      return this.#append(ref, prepared.yaml, opts.message ?? '', opts.baseRevision, 'update')
    } catch (err) {
      this.#audit.failure('update', ref.id, err, { baseRevision: opts?.baseRevision ?? null })
      throw err
    }
  }

  /** Appends a revision under the write lock, checking the base revision there (the real concurrency check). */
  #append(
    ref: EnvRef,
    yaml: string,
    message: string,
    baseRevision: number | undefined,
    action: 'update' | 'rollback',
    detail: Record<string, JsonValue> = {},
  ): RevisionInfo {
    // the new revision's syntax tree, made before taking the write lock
    const tree = core.syntaxOf(ref.id, yaml)
    return immediate(this.#db, () => {
      const env = this.#rows.mustEnv(ref)
      if (baseRevision !== undefined && env.latest !== baseRevision) throw new ConflictError(ref.id, baseRevision, env.latest)
      const n = env.latest + 1
      const at = now()
      this.#rows
        .stmt('INSERT INTO revisions (env_id, number, yaml, author, created, message) VALUES (?, ?, ?, ?, ?, ?)')
        .run(env.id, n, yaml, this.user, at, message)
      this.#rows.putSyntax(env.id, n, tree)
      this.#rows.stmt('UPDATE environments SET latest = ?, modified = ? WHERE id = ?').run(n, at, env.id)
      this.#audit.insert({ action, target: ref.id, detail: { revision: n, ...detail } })
      const tags = this.#rows.tagsOf(env.id).get(n) ?? []
      return { environment: ref.id, number: n, author: this.user, created: at, message, tags: ['latest', ...tags] }
    })
  }

  /**
   * The environments whose latest definition uses `id` (imports it, or reads it through
   * `${environments.<project>.<env>…}`), one entry per use: what deleting it would break.
   */
  async importers(id: string): Promise<Importer[]> {
    const ref = plainRef(id)
    this.#rows.mustEnv(ref)
    return this.#importersOf(ref)
  }

  #importersOf(ref: EnvRef): Importer[] {
    const envs = this.#rows.stmt('SELECT * FROM environments').all() as unknown as EnvRow[]
    const rows = this.#rows
    const resolve = (raw: string): string | undefined => {
      try {
        return parseRef(raw).id
      } catch {
        return undefined
      }
    }
    function* documents(): Generator<{ id: string; doc: EnvironmentDoc }> {
      for (const e of envs) {
        const id = `${e.project}/${e.name}`
        if (id === ref.id) continue
        const doc = rows.docOf(e, rows.resolve(plainRef(id), e, 'latest'))
        // a definition that never spells the name (nor escapes a character) cannot use it: no tree needed
        if (!doc.yaml.includes(ref.name) && !doc.yaml.includes('\\')) continue
        yield { id, doc: core.treeOf(id, doc) }
      }
    }
    return importersOf(ref.id, documents(), resolve)
  }

  /**
   * Deletes the environment, its history and tags; its data key is destroyed when no clone shares it.
   * Refused (`in_use`, naming them) while other environments import or reference it, unless `force`:
   * checked under the write lock, so an importer saved meanwhile is seen.
   */
  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    const ref = plainRef(id)
    try {
      immediate(this.#db, () => {
        const env = this.#rows.mustEnv(ref)
        const users = opts.force ? [] : this.#importersOf(ref)
        if (users.length > 0) throw new InUseError(ref.id, users)
        this.#rows.stmt('DELETE FROM environments WHERE id = ?').run(env.id)
        this.#keys.dropDataKeyIfUnused(env.data_key)
        this.#audit.insert({ action: 'delete', target: ref.id, detail: { revisions: env.latest, ...(opts.force ? { force: true } : {}) } })
      })
    } catch (err) {
      this.#audit.failure('delete', ref.id, err)
      throw err
    }
  }

  /**
   * Copies `from` (its latest revision, or its whole history with `keepHistory`) to a new environment `to`.
   * `keepRevisionTags` / `keepEnvTags` copy tags too. The clone shares the source's data key (its
   * ciphertexts stay valid); the key is destroyed only when the last environment using it is deleted.
   */
  async clone(from: string, to: string, opts: { keepHistory?: boolean; keepRevisionTags?: boolean; keepEnvTags?: boolean } = {}): Promise<RevisionInfo> {
    const src = plainRef(from)
    const dst = plainRef(to)
    try {
      return immediate(this.#db, () => {
        const env = this.#rows.mustEnv(src)
        if (this.#rows.env(dst)) throw new UserError('already_exists', `environment ${dst.id} already exists`)
        const at = now()
        const revs = opts.keepHistory ? (this.#rows.stmt('SELECT * FROM revisions WHERE env_id = ? ORDER BY number').all(env.id) as unknown as RevRow[]) : []
        const latest = opts.keepHistory ? env.latest : 1
        const res = this.#db
          .prepare('INSERT INTO environments (project, name, created, modified, latest, data_key) VALUES (?, ?, ?, ?, ?, ?)')
          .run(dst.project, dst.name, at, at, latest, env.data_key)
        const newId = Number(res.lastInsertRowid)
        const ins = this.#rows.stmt(
          'INSERT INTO revisions (env_id, number, yaml, author, created, message, retracted_by, retracted_at, retract_reason, replacement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        if (opts.keepHistory) {
          for (const r of revs)
            ins.run(newId, r.number, r.yaml, r.author, r.created, r.message, r.retracted_by, r.retracted_at, r.retract_reason, r.replacement)
        } else {
          ins.run(
            newId,
            1,
            this.#rows.yamlOf(env, this.#rows.resolve(src, env, 'latest')),
            this.user,
            at,
            `cloned from ${src.id}@${env.latest}`,
            null,
            null,
            null,
            null,
          )
        }
        if (opts.keepHistory && opts.keepRevisionTags) {
          this.#rows
            .stmt(
              'INSERT INTO revision_tags (env_id, name, revision, created, modified, editor) SELECT ?, name, revision, created, modified, editor FROM revision_tags WHERE env_id = ?',
            )
            .run(newId, env.id)
        }
        if (opts.keepEnvTags) {
          this.#rows
            .stmt(
              'INSERT INTO env_tags (env_id, name, value, created, modified, editor) SELECT ?, name, value, created, modified, editor FROM env_tags WHERE env_id = ?',
            )
            .run(newId, env.id)
        }
        this.#audit.insert({ action: 'clone', target: dst.id, detail: { from: src.id, revision: env.latest, keepHistory: !!opts.keepHistory } })
        const newEnv = this.#rows.mustEnv(dst)
        return this.#rows.info(dst, newEnv, this.#rows.rev(newEnv, latest)!)
      })
    } catch (err) {
      this.#audit.failure('clone', dst.id, err, { from: src.id })
      throw err
    }
  }

  /** Revisions newest first; `before` is exclusive (0 or absent = from latest); `count` defaults to all. */
  async listRevisions(id: string, opts: { before?: number; count?: number } = {}): Promise<RevisionInfo[]> {
    return this.#revisions.listRevisions(id, opts)
  }

  /** Creates or moves revision tag `tag` to `revision`. `latest` is built in and cannot be set. */
  async tagRevision(id: string, tag: string, revision: number): Promise<void> {
    return this.#tags.tagRevision(id, tag, revision)
  }

  /** Removes a revision tag (`latest` cannot be removed). */
  async untagRevision(id: string, tag: string): Promise<void> {
    return this.#tags.untagRevision(id, tag)
  }

  /** Revision tags by name (`latest` included), sorted by name. */
  async listRevisionTags(id: string): Promise<{ name: string; revision: number; created: string; modified: string; editor: string }[]> {
    return this.#tags.listRevisionTags(id)
  }

  /**
   * Retracts a revision (ESC semantics): it can no longer be read or opened; tags pointing at it move to
   * the replacement (default: the newest earlier revision not retracted). The latest revision cannot be
   * retracted: save or roll back first.
   */
  async retract(id: string, revision: number, opts: { replacement?: number; reason?: string } = {}): Promise<void> {
    return this.#revisions.retract(id, revision, opts)
  }

  /**
   * Rolls back to `revision`: a NEW revision with that revision's content (history is never rewritten).
   * With `baseRevision`, refuses (ConflictError) if the environment moved on since.
   */
  async rollback(id: string, revision: number, opts: { message?: string; baseRevision?: number } = {}): Promise<RevisionInfo> {
    const ref = plainRef(id)
    try {
      const env = this.#rows.mustEnv(ref)
      const rev = this.#rows.resolve(ref, env, revision)
      return this.#append(ref, this.#rows.yamlOf(env, rev), opts.message ?? `rollback to revision ${rev.number}`, opts.baseRevision, 'rollback', {
        from: rev.number,
      })
    } catch (err) {
      this.#audit.failure('rollback', ref.id, err, { revision })
      throw err
    }
  }

  /** Environment tags (key/value metadata). */
  async getTags(id: string): Promise<Record<string, string>> {
    return this.#tags.getTags(id)
  }

  /** Creates or updates an environment tag. */
  async setTag(id: string, key: string, value: string): Promise<void> {
    return this.#tags.setTag(id, key, value)
  }

  /** Deletes an environment tag (`not_found` if missing). */
  async deleteTag(id: string, key: string): Promise<void> {
    return this.#tags.deleteTag(id, key)
  }

  /** Evaluates a stored revision in `eval` mode (providers opened, secrets decrypted). Audited as `open`. */
  async open(id: string, opts: { version?: string | number } = {}): Promise<OpenResult> {
    const ref = parseRef(id)
    try {
      const misses: SyntaxMisses = []
      const res = await openEnvironment(this.#rows.storage(misses), {
        environment: ref.id,
        version: opts.version ?? ref.version,
        mode: 'eval',
        keys: this.#domainKeys(),
        providers: this.#providers,
        context: this.#context,
      })
      const failed = hasErrors(res.diagnostics)
      const audit: AuditInput = { action: 'open', target: ref.id, result: failed ? 'error' : 'ok', detail: { revision: res.revision, imports: res.imports } }
      immediate(
        this.#db,
        () => {
          this.#audit.insert(audit)
          this.#rows.storeSyntax(misses)
        },
        { durable: false },
      )
      return {
        environment: ref.id,
        revision: res.revision,
        ...(res.value ? { value: res.value } : {}),
        diagnostics: res.diagnostics,
        imports: res.imports,
        ...(res.providers.length > 0 ? { providers: res.providers } : {}),
      }
    } catch (err) {
      this.#audit.failure('open', ref.id, err)
      throw err
    }
  }

  /**
   * Evaluates an unsaved buffer as if it were `id` (live preview); `mode` defaults to `check` (providers
   * not opened, outputs unknown). Imports resolve from the store. Nothing is written (an `eval` is audited).
   */
  async check(id: string, yaml: string, opts: { mode?: 'check' | 'eval' } = {}): Promise<OpenResult> {
    const ref = plainRef(id)
    const mode = opts.mode ?? 'check'
    const env = this.#rows.env(ref)
    const res = await this.#evaluate(ref.id, yaml, mode, this.#domainKeys())
    if (mode === 'eval')
      await this.recordAudit({
        action: 'open',
        target: ref.id,
        result: hasErrors(res.diagnostics) ? 'error' : 'ok',
        detail: { unsaved: true, imports: res.imports },
      })
    // the save pipeline's alias rule, shown while typing (a save would refuse the same aliases)
    const diagnostics = [...secretAliases(yaml, ref.id), ...res.diagnostics]
    return { environment: ref.id, revision: env?.latest ?? 0, ...(res.value ? { value: res.value } : {}), diagnostics, imports: res.imports }
  }

  /**
   * Rotates the `fn::rotate` secrets of the latest revision (all, or those under `paths`, e.g. `db.creds`)
   * and saves their new state as a new revision (re-applied on a concurrent save, never dropped).
   * Audited as `rotate` with each rotation's path and status (never the credentials).
   */
  async rotate(id: string, opts: { paths?: string[] } = {}): Promise<RotationResult> {
    const ref = plainRef(id)
    try {
      const result = await rotateStoredEnvironment(ref.id, opts.paths, {
        read: async () => {
          const env = this.#rows.mustEnv(ref)
          const rev = this.#rows.resolve(ref, env, 'latest')
          const keys = this.#domainKeys()
          const dec = await core.decryptSecrets(this.#rows.yamlOf(env, rev), keys.cipher, ref.id)
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
      this.#audit.failure('rotate', ref.id, err)
      throw err
    }
  }

  /**
   * Audit events, newest first. `target` filters by environment (or `store` for key events), `action` by
   * action, `before` pages (events with a smaller id), `limit` caps the count (default 1000).
   */
  async audit(opts: { target?: string; limit?: number; action?: AuditEvent['action']; before?: number } = {}): Promise<AuditEvent[]> {
    return this.#audit.list(opts)
  }

  /** The active key's id and backend, read from the store only (no keychain call); undefined before the first save. */
  activeKeyInfo(): { id: string; backend: KeyBackend } | undefined {
    return this.#keys.activeKeyInfo()
  }

  /** A store setting (see StoreSettings); its default when it was never set. */
  setting<K extends keyof StoreSettings>(name: K): StoreSettings[K] {
    return readSetting(this.#rows, name)
  }

  /** Changes a store setting (audited as `settings`). */
  async setSetting<K extends keyof StoreSettings>(name: K, value: StoreSettings[K]): Promise<void> {
    writeSetting(this.#rows, this.#audit, name, value)
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
      immediate(this.#db, () => this.#audit.insert({ action: 'key.rotate', target: 'store', detail }))
      return r
    } catch (err) {
      this.#audit.failure('key.rotate', 'store', err, to.backend ? { to: to.backend } : {})
      throw err
    }
  }

  /** The store key sealed with `passphrase` (one line of text) for a second machine. Audited. */
  async exportKey(passphrase: string): Promise<string> {
    try {
      const out = await this.#keys.exportKey(passphrase)
      immediate(this.#db, () => this.#audit.insert({ action: 'key.export', target: 'store' }))
      return out
    } catch (err) {
      this.#audit.failure('key.export', 'store', err)
      throw err
    }
  }

  /** Installs a key exported by `exportKey` into this machine's keychain (or ENVELOPE_KEY_FILE). Audited. */
  async importKey(exported: string, passphrase: string): Promise<{ keyId: string }> {
    try {
      const r = await this.#keys.importKey(exported, passphrase)
      immediate(this.#db, () => this.#audit.insert({ action: 'key.import', target: 'store', detail: { keyId: r.keyId, backend: r.backend } }))
      return r
    } catch (err) {
      this.#audit.failure('key.import', 'store', err)
      throw err
    }
  }
}
