/**
 * Open sessions and the sealed open results they point at. Sessions are ephemeral (after a database crash a
 * client simply opens again); results are stored once per cached evaluation and shared by many sessions.
 */
import type { Driver } from './driver.ts'
import type { SessionRecord } from './records.ts'
import { now, str } from './rows.ts'

export interface SessionStore {
  createSession(s: SessionRecord): Promise<void>
  createSessions(list: SessionRecord[]): Promise<void>
  createResult(r: { key: string; envId: string; sealed: string }): Promise<void>
  /** the session with its sealed result */
  getSession(id: string): Promise<(SessionRecord & { sealed: string }) | undefined>
  deleteExpiredSessions(now: string): Promise<number>
}

/** The session store over one SQL driver (SQLite or PostgreSQL). */
export function sessionStore(db: Driver): SessionStore {
  const store: SessionStore = {
    // ---- sessions
    async createSession(s: SessionRecord) {
      await store.createSessions([s])
    },
    async createSessions(list: SessionRecord[]) {
      if (list.length === 0) return
      const t = now()
      const sql = `INSERT INTO open_sessions (id, env_id, user_id, revision, result_key, created, expires) VALUES ${list.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`
      const params = list.flatMap((s) => [s.id, s.envId, s.userId, s.revision, s.resultKey, t, s.expires])
      // Sessions are ephemeral (after a database crash a client simply opens again): no wait for the WAL flush.
      await db.runEphemeral(sql, params)
    },
    async createResult(r: { key: string; envId: string; sealed: string }) {
      await db.run('INSERT INTO open_results (key, env_id, sealed, created) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING', [
        r.key,
        r.envId,
        r.sealed,
        now(),
      ])
    },
    async getSession(id: string) {
      const r = await db.get('SELECT s.*, r.sealed FROM open_sessions s JOIN open_results r ON r.key = s.result_key WHERE s.id = ?', [id])
      return (
        r && {
          id: str(r.id),
          envId: str(r.env_id),
          userId: str(r.user_id),
          revision: Number(r.revision),
          resultKey: str(r.result_key),
          sealed: str(r.sealed),
          expires: str(r.expires),
        }
      )
    },
    async deleteExpiredSessions(t: string) {
      const n = await db.run('DELETE FROM open_sessions WHERE expires < ?', [t])
      // Results live on while a process may still hand them out (it re-stores them every 30 minutes).
      const old = new Date(Date.parse(t) - 3_600_000).toISOString()
      await db.run('DELETE FROM open_results WHERE created < ? AND key NOT IN (SELECT result_key FROM open_sessions)', [old])
      return n
    },
  }
  return store
}
