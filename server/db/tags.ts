/**
 * Tags of an environment, in two tables of one shape: revision tags (`name → revision`) and environment tags
 * (`name → value`). The CRUD is written once here, parametrised by the table and its one payload column; the
 * store exposes it under the repository's revision-tag and environment-tag method names.
 */
import type { Driver, Row, SqlValue } from './driver.ts'
import type { EnvTagRecord, RevisionTagRecord, TagRecord, User } from './records.ts'
import { now, str, toTag, unlessDuplicate } from './rows.ts'

export interface TagStore {
  // revision tags
  listRevisionTags(envId: string, opts: { after?: string; count: number }): Promise<RevisionTagRecord[]>
  getRevisionTag(envId: string, name: string): Promise<RevisionTagRecord | undefined>
  createRevisionTag(envId: string, name: string, revision: number, editor: User): Promise<boolean>
  updateRevisionTag(envId: string, name: string, revision: number, editor: User): Promise<boolean>
  deleteRevisionTag(envId: string, name: string): Promise<boolean>
  // environment tags
  listEnvTags(envId: string, opts: { after?: string; count: number }): Promise<EnvTagRecord[]>
  getEnvTag(envId: string, name: string): Promise<EnvTagRecord | undefined>
  createEnvTag(envId: string, name: string, value: string, editor: User): Promise<boolean>
  /** rename and/or change value; false when missing, 'exists' when renaming onto another tag */
  updateEnvTag(envId: string, name: string, newName: string, value: string, editor: User): Promise<boolean | 'exists'>
  deleteEnvTag(envId: string, name: string): Promise<boolean>
}

/** One tag table: `table` keyed by (env_id, name), carrying `column` (read back through `read`). */
function tagTable<C extends string, V extends SqlValue>(db: Driver, table: 'revision_tags' | 'env_tags', column: C, read: (v: SqlValue | undefined) => V) {
  type Rec = TagRecord & Record<C, V>
  const toRecord = (r: Row) => ({ ...toTag(r), [column]: read(r[column]) }) as Rec
  return {
    /** one page of the environment's tags, by name after `after` */
    async list(envId: string, opts: { after?: string; count: number }): Promise<Rec[]> {
      const p: SqlValue[] = [envId]
      let sql = `SELECT * FROM ${table} WHERE env_id = ?`
      if (opts.after !== undefined) {
        sql += ' AND name > ?'
        p.push(opts.after)
      }
      p.push(opts.count)
      return (await db.all(sql + ' ORDER BY name LIMIT ?', p)).map(toRecord)
    },
    async get(envId: string, name: string): Promise<Rec | undefined> {
      const r = await db.get(`SELECT * FROM ${table} WHERE env_id = ? AND name = ?`, [envId, name])
      return r && toRecord(r)
    },
    /** false when the name is taken */
    async create(envId: string, name: string, value: V, editor: User): Promise<boolean> {
      const t = now()
      return unlessDuplicate(async () => {
        await db.run(`INSERT INTO ${table} (env_id, name, ${column}, created, modified, editor_login, editor_name) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
          envId,
          name,
          value,
          t,
          t,
          editor.login,
          editor.name,
        ])
        return true
      }, false)
    },
    /** renames (when `newName` differs) and sets the payload; false when missing, 'exists' when `newName` is taken */
    async update(envId: string, name: string, newName: string, value: V, editor: User): Promise<boolean | 'exists'> {
      return unlessDuplicate(
        async () =>
          (await db.run(`UPDATE ${table} SET name = ?, ${column} = ?, modified = ?, editor_login = ?, editor_name = ? WHERE env_id = ? AND name = ?`, [
            newName,
            value,
            now(),
            editor.login,
            editor.name,
            envId,
            name,
          ])) > 0,
        'exists' as const,
      )
    },
    async delete(envId: string, name: string): Promise<boolean> {
      return (await db.run(`DELETE FROM ${table} WHERE env_id = ? AND name = ?`, [envId, name])) > 0
    },
  }
}

/** Both tag tables over one SQL driver (SQLite or PostgreSQL). */
export function tagStore(db: Driver): TagStore {
  const rev = tagTable(db, 'revision_tags', 'revision', (v) => Number(v))
  const env = tagTable(db, 'env_tags', 'value', str)
  return {
    listRevisionTags: rev.list,
    getRevisionTag: rev.get,
    createRevisionTag: rev.create,
    // A revision tag keeps its name: the update cannot collide, so it is only found or not.
    updateRevisionTag: async (envId, name, revision, editor) => (await rev.update(envId, name, name, revision, editor)) === true,
    deleteRevisionTag: rev.delete,
    listEnvTags: env.list,
    getEnvTag: env.get,
    createEnvTag: env.create,
    updateEnvTag: env.update,
    deleteEnvTag: env.delete,
  }
}
