/**
 * The audit log: one record per API request, appended in groups (see batcher.ts) and read back by org, target,
 * user and id. Records of successful reads may skip the wait for durability; everything else waits for it.
 */
import type { Driver, SqlValue } from './driver.ts'
import type { AuditRecord } from './records.ts'
import { optStr, str } from './rows.ts'

export interface AuditStore {
  appendAudit(a: Omit<AuditRecord, 'id'>): Promise<void>
  /** `durable: false` → no wait for the WAL flush (successful reads and opens; a database crash may lose the last few) */
  appendAudits(list: Omit<AuditRecord, 'id'>[], opts?: { durable?: boolean }): Promise<void>
  queryAudit(opts: { org?: string; target?: string; user?: string; afterId?: number; limit: number }): Promise<AuditRecord[]>
}

/** The audit store over one SQL driver (SQLite or PostgreSQL). */
export function auditStore(db: Driver): AuditStore {
  const store: AuditStore = {
    // ---- audit
    async appendAudit(a: Omit<AuditRecord, 'id'>) {
      await store.appendAudits([a])
    },
    async appendAudits(list: Omit<AuditRecord, 'id'>[], opts: { durable?: boolean } = {}) {
      if (list.length === 0) return
      await db[opts.durable === false ? 'runEphemeral' : 'run'](
        `INSERT INTO audit (time, user_login, token_id, ip, method, action, org, target, status, result, detail) VALUES ${list
          .map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .join(', ')}`,
        list.flatMap((a) => [
          a.time,
          a.user,
          a.tokenId,
          a.ip,
          a.method,
          a.action,
          a.org,
          a.target,
          a.status,
          a.result,
          a.detail ? JSON.stringify(a.detail) : null,
        ]),
      )
    },
    async queryAudit(opts: { org?: string; target?: string; user?: string; afterId?: number; limit: number }) {
      // Each filter that is given narrows the query; none given reads the whole log.
      const filters: [string, SqlValue | undefined][] = [
        ['org = ?', opts.org],
        ['target = ?', opts.target],
        ['user_login = ?', opts.user],
        ['id > ?', opts.afterId],
      ]
      const given = filters.filter((f): f is [string, SqlValue] => f[1] !== undefined)
      const where = given.map((f) => f[0])
      const p: SqlValue[] = given.map((f) => f[1])
      p.push(opts.limit)
      const rows = await db.all(`SELECT * FROM audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`, p)
      return rows.map((r) => ({
        id: Number(r.id),
        time: str(r.time),
        user: optStr(r.user_login),
        tokenId: optStr(r.token_id),
        ip: optStr(r.ip),
        method: str(r.method),
        action: str(r.action),
        org: optStr(r.org),
        target: str(r.target),
        status: Number(r.status),
        result: str(r.result) as AuditRecord['result'],
        ...(r.detail ? { detail: JSON.parse(str(r.detail)) as Record<string, unknown> } : {}),
      }))
    },
  }
  return store
}
