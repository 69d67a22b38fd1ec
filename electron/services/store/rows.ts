/**
 * The local store's rows and caches: the SQLite implementation of the domain's storage interface
 * (shared/domain/storage.ts), with the prepared-statement cache, the cache of immutable revision sources and
 * their stored syntax trees (revision_syntax). Writes happen in the callers' transactions (db.ts `immediate`).
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { UserError } from '../../../shared/errors.ts'
import type { RevisionInfo } from '../../../shared/models.ts'
import type { DomainStorage } from '../../../shared/domain/storage.ts'
import { core } from './core.ts'
import { parseRef, parseVersion } from '../../../shared/domain/names.ts'
import type { EnvRef } from '../../../shared/domain/names.ts'

export interface EnvRow {
  id: number
  project: string
  name: string
  created: string
  modified: string
  latest: number
  data_key: string
}

export type RevMeta = Omit<RevRow, 'yaml'>

export interface RevRow {
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

/** A revision's YAML and, when the store has it, its syntax tree in cached form (shared/esc/syntax-cache.ts). */
export interface StoredDoc {
  yaml: string
  syntax?: string
}

/** Revisions opened without a cached syntax tree: the tree is stored once the evaluation is done. */
export type SyntaxMisses = Array<{ envId: number; number: number; name: string; doc: StoredDoc }>

/** Parses `id` for an operation on the environment itself (`project/env`, no `@version`). */
export function plainRef(id: string): EnvRef {
  const ref = parseRef(id)
  if (ref.version !== undefined) throw new UserError('invalid_input', `${id}: this operation does not take a version`, { hint: `use ${ref.id}` })
  return ref
}

export class StoreRows {
  readonly db: DatabaseSync
  /**
   * immutable revision sources by `envRowId:created:number` (revisions never change once written), with
   * their cached syntax trees (revision_syntax, see docOf)
   */
  readonly #sources = new Map<string, StoredDoc>()
  readonly #statements = new Map<string, StatementSync>()

  constructor(db: DatabaseSync) {
    this.db = db
  }

  /** Prepared statements are reused: compiling the SQL again on every call costs more than running it. */
  stmt(sql: string): StatementSync {
    let st = this.#statements.get(sql)
    if (!st) {
      st = this.db.prepare(sql)
      this.#statements.set(sql, st)
    }
    return st
  }

  env(ref: EnvRef): EnvRow | undefined {
    return this.stmt('SELECT * FROM environments WHERE project = ? AND name = ?').get(ref.project, ref.name) as EnvRow | undefined
  }

  mustEnv(ref: EnvRef): EnvRow {
    const row = this.env(ref)
    if (!row) throw new UserError('not_found', `environment ${ref.id} does not exist`, { hint: 'list environments with `envelope env ls`, or create it' })
    return row
  }

  /** Revision metadata (the YAML is fetched separately, through the cache: see yamlOf). */
  rev(env: EnvRow, n: number): RevMeta | undefined {
    return this.stmt(
      'SELECT number, author, created, message, retracted_by, retracted_at, retract_reason, replacement FROM revisions WHERE env_id = ? AND number = ?',
    ).get(env.id, n) as RevMeta | undefined
  }

  /** Resolves a version (number, tag, `latest`) to a readable revision of `env`. */
  resolve(ref: EnvRef, env: EnvRow, version: string | number | undefined): RevMeta {
    const v = parseVersion(version)
    let n: number
    if (v.kind === 'latest') n = env.latest
    else if (v.kind === 'number') n = v.number
    else {
      const tag = this.stmt('SELECT revision FROM revision_tags WHERE env_id = ? AND name = ?').get(env.id, v.tag) as { revision: number } | undefined
      if (!tag)
        throw new UserError('not_found', `environment ${ref.id} has no tag ${JSON.stringify(v.tag)}`, { hint: 'list tags with `envelope env version tag ls`' })
      n = tag.revision
    }
    const row = this.rev(env, n)
    if (!row) throw new UserError('not_found', `environment ${ref.id} has no revision ${n} (latest is ${env.latest})`)
    if (row.retracted_at) {
      throw new UserError('not_found', `revision ${n} of ${ref.id} was retracted${row.retract_reason ? ` (${row.retract_reason})` : ''}`, {
        hint: `use revision ${row.replacement ?? env.latest} instead`,
      })
    }
    return row
  }

  tagsOf(envId: number): Map<number, string[]> {
    const rows = this.stmt('SELECT name, revision FROM revision_tags WHERE env_id = ? ORDER BY name').all(envId) as unknown as {
      name: string
      revision: number
    }[]
    const m = new Map<number, string[]>()
    for (const r of rows) m.set(r.revision, [...(m.get(r.revision) ?? []), r.name])
    return m
  }

  info(ref: EnvRef, env: EnvRow, r: RevMeta, tags?: Map<number, string[]>): RevisionInfo {
    const t = (tags ?? this.tagsOf(env.id)).get(r.number) ?? []
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

  /**
   * The store as the domain's use cases read it (shared/domain/storage.ts). `misses` collects the stored
   * revisions, root or imported, read without a cached syntax tree (stored once the evaluation is done).
   */
  storage(misses?: SyntaxMisses): DomainStorage {
    return {
      resolve: async (environment, version) => {
        const ref = parseRef(environment)
        const env = this.mustEnv(ref)
        const rev = this.resolve(ref, env, version ?? ref.version)
        const doc = this.docOf(env, rev)
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
        const env = this.env(ref)
        if (!env) return undefined
        const rev = this.resolve(ref, env, ref.version)
        const doc = this.docOf(env, rev)
        const loaded = ref.version === undefined ? ref.id : `${ref.id}@${ref.version}`
        if (doc.syntax === undefined) misses?.push({ envId: env.id, number: rev.number, name: loaded, doc })
        return { name: loaded, yaml: doc.yaml, ...(doc.syntax !== undefined ? { syntax: doc.syntax } : {}) }
      },
    }
  }

  /** The stored YAML of a revision. */
  yamlOf(env: EnvRow, rev: RevMeta): string {
    return this.docOf(env, rev).yaml
  }

  /**
   * The stored YAML of a revision with its cached syntax tree when there is one of the current format;
   * revisions are immutable, so both are cached by environment row + revision.
   */
  docOf(env: EnvRow, rev: RevMeta): StoredDoc {
    const key = `${env.id}:${env.created}:${rev.number}`
    let d = this.#sources.get(key)
    if (d === undefined) {
      const row = this.stmt(
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
  storeSyntax(misses: SyntaxMisses): void {
    for (const m of misses) {
      const tree = core.syntaxOf(m.name, m.doc.yaml)
      this.putSyntax(m.envId, m.number, tree)
      if (tree !== undefined) m.doc.syntax = tree
    }
  }

  /** Stores one revision's syntax tree (none when it cannot be cached), inside the caller's transaction. */
  putSyntax(envId: number, number: number, tree: string | undefined): void {
    if (tree === undefined) return
    this.stmt('INSERT OR REPLACE INTO revision_syntax (env_id, number, format, tree) VALUES (?, ?, ?, ?)').run(envId, number, core.SYNTAX_FORMAT, tree)
  }
}
