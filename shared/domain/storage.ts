/**
 * The storage interface the open and save use cases (open.ts, save.ts) are written over: what they need from
 * a store, not its whole CRUD surface. Two stores implement it: the local SQLite store
 * (electron/services/store/, keeping its statement and syntax-tree caches inside it) and the team server's
 * SQL repository (server/evaluator.ts over server/db/, SQLite or PostgreSQL, with its permission checks).
 *
 * Appending a revision (with the base-revision check of optimistic concurrency) stays with each store: it
 * is one statement under the store's own write lock (local) or one conditional INSERT (server), and its
 * audit record belongs to the same transaction. `Append` below is its shape, for stores that expose it.
 */

/** A stored revision as the language core reads it. */
export interface StoredDocument {
  /** the stored YAML (secrets as ciphertext) */
  yaml: string
  /** the cached form of its syntax tree (shared/esc/syntax-cache.ts), when the store keeps one */
  syntax?: string
}

/** A revision a reference + version resolved to. */
export interface ResolvedRevision extends StoredDocument {
  /** the environment's canonical name (`project/env`, as the core reports it) */
  environment: string
  /** the revision number */
  number: number
}

/** An imported environment's document, under the name the core reports it by (`project/env[@version]`). */
export interface ImportedDocument extends StoredDocument {
  name: string
}

/** What open and save read from a store. */
export interface DomainStorage {
  /**
   * The readable revision of `environment` at `version` (a number, a tag, `latest` or absent = latest).
   * A missing environment, revision or tag, and a retracted revision, are errors saying which and what to
   * use instead (each store phrases them for its face).
   */
  resolve(environment: string, version: string | number | undefined): Promise<ResolvedRevision>
  /**
   * An import as written in a definition (`project/env`, `project/env@3`, `env`): its document, or
   * undefined when it does not exist or cannot be read (the core reports that at the import).
   */
  loadImport(name: string): Promise<ImportedDocument | undefined>
}

/**
 * Appends `yaml` as the revision after `baseRevision` (undefined: after whatever is latest); returns the new
 * revision number, or `conflict` when the environment has moved on (nothing written).
 */
export type Append = (environment: string, yaml: string, baseRevision: number | undefined, message: string) => Promise<number | 'conflict'>
