/**
 * The store's audit log (the `audit` table): every action, allowed or refused, with who and when; never
 * secret values. Inserts join the caller's transaction (`insert`) or take their own (`record`, `failure`).
 */
import { UserError } from '../../../shared/errors.ts'
import type { AuditEvent } from '../../../shared/models.ts'
import type { JsonValue } from '../../../shared/esc/host.ts'
import { immediate } from './db.ts'
import type { StoreRows } from './rows.ts'
import { isoNow } from '../time.ts'

const now = isoNow

export type AuditInput = {
  action: AuditEvent['action']
  target: string
  result?: AuditEvent['result']
  detail?: Record<string, JsonValue>
  user?: string
}

export class AuditLog {
  readonly #rows: StoreRows
  readonly #user: string

  constructor(rows: StoreRows, user: string) {
    this.#rows = rows
    this.#user = user
  }

  /** Inserts one event inside the caller's transaction. */
  insert(e: AuditInput): void {
    this.#rows
      .stmt('INSERT INTO audit (time, user, action, target, result, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(now(), e.user ?? this.#user, e.action, e.target, e.result ?? 'ok', e.detail === undefined ? null : JSON.stringify(e.detail))
  }

  /** Records an audit event in its own transaction (the CLI logs `run` / `export` with this). Never pass secret values in `detail`. */
  async record(e: AuditInput): Promise<void> {
    immediate(this.#rows.db, () => this.insert(e), { durable: false })
  }

  /** Records a failure without masking the original error. */
  failure(action: AuditEvent['action'], target: string, err: unknown, detail: Record<string, JsonValue> = {}): void {
    const result: AuditEvent['result'] =
      err instanceof UserError && (err.code === 'forbidden' || err.code === 'unauthorized' || err.code === 'conflict') ? 'denied' : 'error'
    const code = err instanceof UserError ? err.code : 'internal'
    try {
      immediate(this.#rows.db, () => this.insert({ action, target, result, detail: { ...detail, error: code } }), { durable: false })
    } catch {
      // auditing a failure must not hide it
    }
  }

  /**
   * Audit events, newest first. `target` filters by environment (or `store` for key events), `action` by
   * action, `before` pages (events with a smaller id), `limit` caps the count (default 1000).
   */
  list(opts: { target?: string; limit?: number; action?: AuditEvent['action']; before?: number } = {}): AuditEvent[] {
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
    const rows = this.#rows.stmt(sql).all(...args, limit) as unknown as {
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
}
