/**
 * Tags of the local store: revision tags (`stable`, `prod`… naming a revision; `latest` is built in) and
 * environment tags (key/value metadata). Every change is audited, refused ones too.
 */
import { UserError } from '../../../shared/errors.ts'
import { immediate } from './db.ts'
import { checkTagName } from '../../../shared/domain/names.ts'
import { plainRef } from './rows.ts'
import type { StoreContext } from './context.ts'
import { isoNow } from '../time.ts'

const now = isoNow

export class Tags {
  readonly #s: StoreContext

  constructor(context: StoreContext) {
    this.#s = context
  }

  /** Creates or moves revision tag `tag` to `revision`. `latest` is built in and cannot be set. */
  async tagRevision(id: string, tag: string, revision: number): Promise<void> {
    const ref = plainRef(id)
    try {
      if (tag === 'latest') throw new UserError('invalid_input', '`latest` is built in: it always names the newest revision')
      checkTagName(tag)
      immediate(this.#s.rows.db, () => {
        const env = this.#s.rows.mustEnv(ref)
        const rev = this.#s.rows.resolve(ref, env, revision)
        const at = now()
        const prev = this.#s.rows.stmt('SELECT revision FROM revision_tags WHERE env_id = ? AND name = ?').get(env.id, tag) as { revision: number } | undefined
        this.#s.rows.db
          .prepare(
            'INSERT INTO revision_tags (env_id, name, revision, created, modified, editor) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (env_id, name) DO UPDATE SET revision = excluded.revision, modified = excluded.modified, editor = excluded.editor',
          )
          .run(env.id, tag, rev.number, at, at, this.#s.user)
        this.#s.audit.insert({ action: 'tag', target: ref.id, detail: { tag, revision: rev.number, ...(prev ? { previous: prev.revision } : {}) } })
      })
    } catch (err) {
      this.#s.audit.failure('tag', ref.id, err, { tag })
      throw err
    }
  }
  /** Removes a revision tag (`latest` cannot be removed). */
  async untagRevision(id: string, tag: string): Promise<void> {
    const ref = plainRef(id)
    try {
      if (tag === 'latest') throw new UserError('invalid_input', '`latest` is built in and cannot be removed')
      immediate(this.#s.rows.db, () => {
        const env = this.#s.rows.mustEnv(ref)
        const res = this.#s.rows.stmt('DELETE FROM revision_tags WHERE env_id = ? AND name = ?').run(env.id, tag)
        if (res.changes === 0) throw new UserError('not_found', `environment ${ref.id} has no tag ${JSON.stringify(tag)}`)
        this.#s.audit.insert({ action: 'untag', target: ref.id, detail: { tag } })
      })
    } catch (err) {
      this.#s.audit.failure('untag', ref.id, err, { tag })
      throw err
    }
  }
  /** Revision tags by name (`latest` included), sorted by name. */
  async listRevisionTags(id: string): Promise<{ name: string; revision: number; created: string; modified: string; editor: string }[]> {
    const ref = plainRef(id)
    const env = this.#s.rows.mustEnv(ref)
    const rows = this.#s.rows.stmt('SELECT name, revision, created, modified, editor FROM revision_tags WHERE env_id = ?').all(env.id) as unknown as {
      name: string
      revision: number
      created: string
      modified: string
      editor: string
    }[]
    const latest = {
      name: 'latest',
      revision: env.latest,
      created: env.created,
      modified: env.modified,
      editor: this.#s.rows.rev(env, env.latest)?.author ?? '',
    }
    return [latest, ...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }
  /** Environment tags (key/value metadata). */
  async getTags(id: string): Promise<Record<string, string>> {
    const env = this.#s.rows.mustEnv(plainRef(id))
    const rows = this.#s.rows.stmt('SELECT name, value FROM env_tags WHERE env_id = ? ORDER BY name').all(env.id) as unknown as {
      name: string
      value: string
    }[]
    return Object.fromEntries(rows.map((r) => [r.name, r.value]))
  }
  /** Creates or updates an environment tag. */
  async setTag(id: string, key: string, value: string): Promise<void> {
    const ref = plainRef(id)
    try {
      if (typeof key !== 'string' || key === '' || key.length > 255) throw new UserError('invalid_input', 'a tag name must be 1-255 characters')
      if (typeof value !== 'string' || value.length > 4096) throw new UserError('invalid_input', 'a tag value must be a string of at most 4096 characters')
      immediate(this.#s.rows.db, () => {
        const env = this.#s.rows.mustEnv(ref)
        const at = now()
        this.#s.rows.db
          .prepare(
            'INSERT INTO env_tags (env_id, name, value, created, modified, editor) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (env_id, name) DO UPDATE SET value = excluded.value, modified = excluded.modified, editor = excluded.editor',
          )
          .run(env.id, key, value, at, at, this.#s.user)
        this.#s.audit.insert({ action: 'tag', target: ref.id, detail: { envTag: key } })
      })
    } catch (err) {
      this.#s.audit.failure('tag', ref.id, err, { envTag: String(key) })
      throw err
    }
  }
  /** Deletes an environment tag (`not_found` if missing). */
  async deleteTag(id: string, key: string): Promise<void> {
    const ref = plainRef(id)
    try {
      immediate(this.#s.rows.db, () => {
        const env = this.#s.rows.mustEnv(ref)
        const res = this.#s.rows.stmt('DELETE FROM env_tags WHERE env_id = ? AND name = ?').run(env.id, key)
        if (res.changes === 0) throw new UserError('not_found', `environment ${ref.id} has no tag ${JSON.stringify(key)}`)
        this.#s.audit.insert({ action: 'untag', target: ref.id, detail: { envTag: key } })
      })
    } catch (err) {
      this.#s.audit.failure('untag', ref.id, err, { envTag: String(key) })
      throw err
    }
  }
}
