/**
 * Revision history of the local store: listing (newest first, with tags) and retraction (ESC semantics:
 * a retracted revision can no longer be read; its tags move to a replacement). Appending a revision is the
 * save pipeline's last step and stays in environment-store.ts, under the same write lock as its audit event.
 */
import { UserError } from '../../../shared/errors.ts'
import type { RevisionInfo } from '../../../shared/models.ts'
import { immediate } from './db.ts'
import { plainRef } from './rows.ts'
import type { StoreContext } from './context.ts'
import type { RevMeta } from './rows.ts'
import { isoNow } from '../time.ts'

const now = isoNow

export class Revisions {
  readonly #s: StoreContext

  constructor(context: StoreContext) {
    this.#s = context
  }

  /** Revisions newest first; `before` is exclusive (0 or absent = from latest); `count` defaults to all. */
  listRevisions(id: string, opts: { before?: number; count?: number } = {}): RevisionInfo[] {
    const ref = plainRef(id)
    const env = this.#s.rows.mustEnv(ref)
    const before = opts.before && opts.before > 0 ? opts.before : Number.MAX_SAFE_INTEGER
    const count = opts.count && opts.count > 0 ? opts.count : -1
    const rows = this.#s.rows
      .stmt(
        'SELECT number, author, created, message, retracted_by, retracted_at, retract_reason, replacement FROM revisions WHERE env_id = ? AND number < ? ORDER BY number DESC LIMIT ?',
      )
      .all(env.id, before, count) as unknown as RevMeta[]
    const tags = this.#s.rows.tagsOf(env.id)
    return rows.map((r) => this.#s.rows.info(ref, env, r, tags))
  }
  /**
   * Retracts a revision (ESC semantics): it can no longer be read or opened; tags pointing at it move to
   * the replacement (default: the newest earlier revision not retracted). The latest revision cannot be
   * retracted: save or roll back first.
   */
  async retract(id: string, revision: number, opts: { replacement?: number; reason?: string } = {}): Promise<void> {
    const ref = plainRef(id)
    try {
      immediate(this.#s.rows.db, () => {
        const env = this.#s.rows.mustEnv(ref)
        const rev = this.#s.rows.rev(env, revision)
        if (!rev) throw new UserError('not_found', `environment ${ref.id} has no revision ${revision}`)
        if (rev.retracted_at) throw new UserError('invalid_input', `revision ${revision} of ${ref.id} is already retracted`)
        if (revision === env.latest) {
          throw new UserError('invalid_input', `revision ${revision} is the latest revision of ${ref.id} and cannot be retracted`, {
            hint: 'roll back to an earlier revision first (that makes a new latest), then retract this one',
          })
        }
        let replacement = opts.replacement
        if (replacement === undefined) {
          const r = this.#s.rows
            .stmt('SELECT number FROM revisions WHERE env_id = ? AND number < ? AND retracted_at IS NULL ORDER BY number DESC LIMIT 1')
            .get(env.id, revision) as { number: number } | undefined
          if (!r) throw new UserError('invalid_input', `revision ${revision} has no earlier revision to replace it`, { hint: 'name a replacement revision' })
          replacement = r.number
        }
        if (replacement === revision) throw new UserError('invalid_input', 'a revision cannot replace itself')
        const rep = this.#s.rows.rev(env, replacement)
        if (!rep || rep.retracted_at) throw new UserError('invalid_input', `replacement revision ${replacement} of ${ref.id} does not exist or is retracted`)
        const at = now()
        this.#s.rows.db
          .prepare('UPDATE revisions SET retracted_by = ?, retracted_at = ?, retract_reason = ?, replacement = ? WHERE env_id = ? AND number = ?')
          .run(this.#s.user, at, opts.reason ?? '', replacement, env.id, revision)
        const moved = this.#s.rows
          .stmt('UPDATE revision_tags SET revision = ?, modified = ?, editor = ? WHERE env_id = ? AND revision = ?')
          .run(replacement, at, this.#s.user, env.id, revision)
        this.#s.audit.insert({
          action: 'retract',
          target: ref.id,
          detail: { revision, replacement, reason: opts.reason ?? '', movedTags: Number(moved.changes) },
        })
      })
    } catch (err) {
      this.#s.audit.failure('retract', ref.id, err, { revision })
      throw err
    }
  }
}
