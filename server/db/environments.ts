/**
 * The environment aggregate: environments, their immutable revisions (appended by compare-and-swap on
 * `latest`, so several server processes can share one database), retraction, clone (one transaction with the
 * tags and grants it preserves) and the wrapped data keys that KEK rotation re-wraps.
 */
import { randomUUID } from 'node:crypto'
import type { Driver, Queryable, Row, SqlValue } from './driver.ts'
import type { EnvRecord, RevisionRecord, User } from './records.ts'
import { isUniqueViolation, now, str } from './rows.ts'

export interface EnvironmentStore {
  createEnvironment(e: {
    org: string
    project: string
    name: string
    dataKey: string
    kekId: string
    creator: User
    yaml?: string
  }): Promise<EnvRecord | undefined>
  getEnvironment(org: string, project: string, name: string): Promise<EnvRecord | undefined>
  /** One round trip: the environment plus the latest revision of other environments (by id). */
  getEnvironmentAnd(org: string, project: string, name: string, otherIds: string[]): Promise<{ env: EnvRecord | undefined; latest: Map<string, number> }>
  getEnvironmentById(id: string): Promise<EnvRecord | undefined>
  /** keyset paging on (org, project, name) */
  listEnvironments(opts: { org?: string; after?: [string, string, string]; limit: number }): Promise<EnvRecord[]>
  deleteEnvironment(id: string): Promise<boolean>
  setDeletionProtected(id: string, on: boolean): Promise<void>
  /** Appends a revision when the latest is still `expectedLatest`; undefined on a lost race. */
  appendRevision(envId: string, expectedLatest: number, yaml: string, creator: User, tx?: Queryable): Promise<number | undefined>
  getRevision(envId: string, number: number): Promise<RevisionRecord | undefined>
  listRevisions(envId: string, opts: { before?: number; count: number }): Promise<RevisionRecord[]>
  retractRevision(envId: string, number: number, r: { replacement: number; by: string; reason: string; at: string }): Promise<void>
  latestRevisions(envIds: string[]): Promise<Map<string, number>>
  // clone
  cloneEnvironment(
    src: EnvRecord,
    dst: { id: string; project: string; name: string; dataKey: string; kekId: string; creator: User },
    opts: {
      revisions: RevisionRecord[]
      envTags: boolean
      revisionTags: boolean
      access: boolean
    },
  ): Promise<EnvRecord | undefined>
  // data keys (KEK rotation)
  listDataKeys(): Promise<{ id: string; dataKey: string; kekId: string }[]>
  replaceDataKey(envId: string, oldWrapped: string, newWrapped: string, kekId: string): Promise<boolean>
}

const toEnv = (r: Row): EnvRecord => ({
  id: str(r.id),
  org: str(r.org),
  project: str(r.project),
  name: str(r.name),
  created: str(r.created),
  modified: str(r.modified),
  latest: Number(r.latest),
  dataKey: str(r.data_key),
  kekId: str(r.kek_id),
  deletionProtected: Number(r.deletion_protected) === 1,
})
const toRevision = (r: Row): RevisionRecord => ({
  number: Number(r.number),
  yaml: str(r.yaml),
  created: str(r.created),
  creatorLogin: str(r.creator_login),
  creatorName: str(r.creator_name),
  ...(r.retracted_at
    ? { retracted: { replacement: Number(r.retracted_replacement), at: str(r.retracted_at), by: str(r.retracted_by), reason: str(r.retracted_reason) } }
    : {}),
})

/** The environment store over one SQL driver (SQLite or PostgreSQL). */
export function environmentStore(db: Driver): EnvironmentStore {
  const store: EnvironmentStore = {
    // ---- environments
    async createEnvironment(e: { org: string; project: string; name: string; dataKey: string; kekId: string; creator: User; yaml?: string }) {
      const t = now()
      const id = randomUUID()
      try {
        await db.transaction(async (tx) => {
          await tx.run('INSERT INTO environments (id, org, project, name, created, modified, latest, data_key, kek_id) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)', [
            id,
            e.org,
            e.project,
            e.name,
            t,
            t,
            e.dataKey,
            e.kekId,
          ])
          await tx.run('INSERT INTO revisions (env_id, number, yaml, created, creator_login, creator_name) VALUES (?, 1, ?, ?, ?, ?)', [
            id,
            e.yaml ?? '',
            t,
            e.creator.login,
            e.creator.name,
          ])
        })
      } catch (err) {
        if (isUniqueViolation(err)) return undefined
        throw err
      }
      return store.getEnvironmentById(id)
    },
    async getEnvironment(org: string, project: string, name: string) {
      const r = await db.get('SELECT * FROM environments WHERE org = ? AND project = ? AND name = ?', [org, project, name])
      return r && toEnv(r)
    },
    async getEnvironmentAnd(org: string, project: string, name: string, otherIds: string[]) {
      const latest = new Map<string, number>()
      if (otherIds.length === 0) return { env: await store.getEnvironment(org, project, name), latest }
      const rows = await db.all(`SELECT * FROM environments WHERE (org = ? AND project = ? AND name = ?) OR id IN (${otherIds.map(() => '?').join(', ')})`, [
        org,
        project,
        name,
        ...otherIds,
      ])
      let env: EnvRecord | undefined
      for (const r of rows) {
        const e = toEnv(r)
        if (e.org === org && e.project === project && e.name === name) env = e
        latest.set(e.id, e.latest)
      }
      return { env, latest }
    },
    async getEnvironmentById(id: string) {
      const r = await db.get('SELECT * FROM environments WHERE id = ?', [id])
      return r && toEnv(r)
    },
    async listEnvironments(opts: { org?: string; after?: [string, string, string]; limit: number }) {
      const where: string[] = []
      const p: SqlValue[] = []
      if (opts.org !== undefined) {
        where.push('org = ?')
        p.push(opts.org)
      }
      if (opts.after) {
        const [o, pr, n] = opts.after
        where.push('(org > ? OR (org = ? AND (project > ? OR (project = ? AND name > ?))))')
        p.push(o, o, pr, pr, n)
      }
      p.push(opts.limit)
      return (await db.all(`SELECT * FROM environments ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY org, project, name LIMIT ?`, p)).map(
        toEnv,
      )
    },
    async deleteEnvironment(id: string) {
      return db.transaction(async (tx) => {
        const env = await tx.get('SELECT org, project, name FROM environments WHERE id = ?', [id])
        if (!env) return false
        for (const table of ['open_sessions', 'open_results', 'env_tags', 'revision_tags', 'revisions'])
          await tx.run(`DELETE FROM ${table} WHERE env_id = ?`, [id])
        await tx.run('DELETE FROM grants WHERE org = ? AND project = ? AND env = ?', [env.org, env.project, env.name])
        return (await tx.run('DELETE FROM environments WHERE id = ?', [id])) > 0
      })
    },
    async setDeletionProtected(id: string, on: boolean) {
      await db.run('UPDATE environments SET deletion_protected = ? WHERE id = ?', [on ? 1 : 0, id])
    },
    async appendRevision(envId: string, expectedLatest: number, yaml: string, creator: User, tx?: Queryable) {
      const run = async (q: Queryable) => {
        const t = now()
        // Compare-and-swap on `latest`: exactly one writer wins, whatever the number of server processes.
        const n = await q.run('UPDATE environments SET latest = latest + 1, modified = ? WHERE id = ? AND latest = ?', [t, envId, expectedLatest])
        if (n === 0) return undefined
        const number = expectedLatest + 1
        await q.run('INSERT INTO revisions (env_id, number, yaml, created, creator_login, creator_name) VALUES (?, ?, ?, ?, ?, ?)', [
          envId,
          number,
          yaml,
          t,
          creator.login,
          creator.name,
        ])
        return number
      }
      return tx ? run(tx) : db.transaction(run)
    },
    async getRevision(envId: string, number: number) {
      const r = await db.get('SELECT * FROM revisions WHERE env_id = ? AND number = ?', [envId, number])
      return r && toRevision(r)
    },
    async listRevisions(envId: string, opts: { before?: number; count: number }) {
      const p: SqlValue[] = [envId]
      let sql = 'SELECT * FROM revisions WHERE env_id = ?'
      if (opts.before !== undefined) {
        sql += ' AND number < ?'
        p.push(opts.before)
      }
      p.push(opts.count)
      return (await db.all(sql + ' ORDER BY number DESC LIMIT ?', p)).map(toRevision)
    },
    async retractRevision(envId: string, number: number, r: { replacement: number; by: string; reason: string; at: string }) {
      await db.transaction(async (tx) => {
        await tx.run(
          'UPDATE revisions SET retracted_replacement = ?, retracted_at = ?, retracted_by = ?, retracted_reason = ? WHERE env_id = ? AND number = ?',
          [r.replacement, r.at, r.by, r.reason, envId, number],
        )
        await tx.run('UPDATE revision_tags SET revision = ?, modified = ? WHERE env_id = ? AND revision = ?', [r.replacement, r.at, envId, number])
      })
    },
    async latestRevisions(envIds: string[]) {
      const out = new Map<string, number>()
      if (envIds.length === 0) return out
      const rows = await db.all(`SELECT id, latest FROM environments WHERE id IN (${envIds.map(() => '?').join(', ')})`, envIds)
      for (const r of rows) out.set(str(r.id), Number(r.latest))
      return out
    },

    // ---- clone
    async cloneEnvironment(
      src: EnvRecord,
      dst: { id: string; project: string; name: string; dataKey: string; kekId: string; creator: User },
      opts: { revisions: RevisionRecord[]; envTags: boolean; revisionTags: boolean; access: boolean },
    ) {
      const t = now()
      const id = dst.id
      const revs = opts.revisions
      const latest = revs.length === 0 ? 1 : Math.max(...revs.map((r) => r.number))
      try {
        await db.transaction(async (tx) => {
          await tx.run('INSERT INTO environments (id, org, project, name, created, modified, latest, data_key, kek_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
            id,
            src.org,
            dst.project,
            dst.name,
            t,
            t,
            latest,
            dst.dataKey,
            dst.kekId,
          ])
          for (const r of revs) {
            await tx.run(
              `INSERT INTO revisions (env_id, number, yaml, created, creator_login, creator_name, retracted_replacement, retracted_at, retracted_by, retracted_reason)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
              [
                id,
                r.number,
                r.yaml,
                r.created,
                r.creatorLogin,
                r.creatorName,
                r.retracted?.replacement ?? null,
                r.retracted?.at ?? null,
                r.retracted?.by ?? null,
                r.retracted?.reason ?? null,
              ],
            )
          }
          if (opts.envTags) {
            await tx.run(
              `INSERT INTO env_tags (env_id, name, value, created, modified, editor_login, editor_name)
               SELECT ?, name, value, created, modified, editor_login, editor_name FROM env_tags WHERE env_id = ?`,
              [id, src.id],
            )
          }
          if (opts.revisionTags) {
            const numbers = new Set(revs.map((r) => r.number))
            for (const tag of await tx.all('SELECT * FROM revision_tags WHERE env_id = ?', [src.id])) {
              if (!numbers.has(Number(tag.revision))) continue
              await tx.run('INSERT INTO revision_tags (env_id, name, revision, created, modified, editor_login, editor_name) VALUES (?, ?, ?, ?, ?, ?, ?)', [
                id,
                tag.name,
                tag.revision,
                tag.created,
                tag.modified,
                tag.editor_login,
                tag.editor_name,
              ])
            }
          }
          if (opts.access) {
            await tx.run(
              `INSERT INTO grants (org, project, env, subject_kind, subject, role)
               SELECT org, ?, ?, subject_kind, subject, role FROM grants WHERE org = ? AND project = ? AND env = ?`,
              [dst.project, dst.name, src.org, src.project, src.name],
            )
          }
        })
      } catch (err) {
        if (isUniqueViolation(err)) return undefined
        throw err
      }
      return store.getEnvironmentById(id)
    },

    // ---- data keys
    async listDataKeys() {
      return (await db.all('SELECT id, data_key, kek_id FROM environments ORDER BY id')).map((r) => ({
        id: str(r.id),
        dataKey: str(r.data_key),
        kekId: str(r.kek_id),
      }))
    },
    async replaceDataKey(envId: string, oldWrapped: string, newWrapped: string, kekId: string) {
      return (await db.run('UPDATE environments SET data_key = ?, kek_id = ? WHERE id = ? AND data_key = ?', [newWrapped, kekId, envId, oldWrapped])) > 0
    },
  }
  return store
}
