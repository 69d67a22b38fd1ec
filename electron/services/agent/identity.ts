/**
 * Which store a request to the agent is for. An agent serves one store only: every request names the store
 * its caller opens — the store id recorded in the database's `meta` table and the canonical (realpath) data
 * folder — and the agent refuses any other (server.ts). Either alone is not enough: a socket reached
 * through a symlink or a hard link (`ln -s $A/agent.sock $B/agent.sock`) leads to another store's agent,
 * whose folder differs; a copy of a data folder keeps the store id, but not the folder.
 * Used on `envelope run`'s fast path, so it costs one realpath and one read of the store file (~1 ms): no
 * crypto, no keychain, no schema migration.
 */
import { lstatSync, realpathSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'
import { storeFile } from '../paths.ts'

/** What a request names, and what an agent serves. */
export interface StoreIdentity {
  /** the store id (`meta.store_id`) */
  id: string
  /** the data folder, canonical (symlinks resolved) */
  dataDir: string
}

/**
 * The identity of the store in `dataDir`, read without opening it for writing; undefined when there is no
 * readable store there (then no agent may serve it).
 */
export function storeIdentity(dataDir: string): StoreIdentity | undefined {
  let real: string
  try {
    real = realpathSync(dataDir)
  } catch {
    return undefined
  }
  let db: DatabaseSync | undefined
  try {
    db = new DatabaseSync(storeFile(real), { readOnly: true })
    const row = db.prepare("SELECT value FROM meta WHERE key = 'store_id'").get() as { value?: unknown } | undefined
    return typeof row?.value === 'string' && row.value !== '' ? { id: row.value, dataDir: real } : undefined
  } catch {
    return undefined // not a store (yet), or damaged: the caller opens it itself and reports that
  } finally {
    db?.close()
  }
}

/** Whether `claimed` (from the other side of the socket: anything) names the store `own`. */
export function sameStore(claimed: unknown, own: StoreIdentity): boolean {
  if (typeof claimed !== 'object' || claimed === null) return false
  const c = claimed as Record<string, unknown>
  return c.id === own.id && c.dataDir === own.dataDir
}

/** Whether `path` is a socket itself (never followed: a symlink there is not the agent's socket). */
export function isSocketFile(path: string): boolean {
  try {
    return lstatSync(path).isSocket()
  } catch {
    return false
  }
}
