/**
 * The server's one repository interface, implemented once over the portable SQL driver (driver.ts), so the
 * SQLite and PostgreSQL stores share schema and behaviour. Holds no state of its own: several server processes
 * can share one PostgreSQL database.
 */
import { randomUUID } from 'node:crypto'
import type { Driver, Queryable, Row, SqlValue } from './driver.ts'
import { migrate } from './schema.ts'

export type Role = 'none' | 'reader' | 'opener' | 'editor' | 'admin'
export const ROLES: Role[] = ['none', 'reader', 'opener', 'editor', 'admin']
export const roleRank = (r: Role): number => ROLES.indexOf(r)
export const isRole = (r: unknown): r is Role => typeof r === 'string' && (ROLES as string[]).includes(r)

export interface User {
  id: string
  login: string
  name: string
  email: string
  siteAdmin: boolean
}

export interface TokenRecord {
  id: string
  userId: string
  description: string
  created: string
  expires: string | null
  revoked: string | null
}

export interface EnvRecord {
  id: string
  org: string
  project: string
  name: string
  created: string
  modified: string
  latest: number
  dataKey: string
  kekId: string
  deletionProtected: boolean
}

export interface RevisionRecord {
  number: number
  yaml: string
  created: string
  creatorLogin: string
  creatorName: string
  retracted?: { replacement: number; at: string; by: string; reason: string }
}

export interface TagRecord {
  name: string
  created: string
  modified: string
  editorLogin: string
  editorName: string
}
export interface RevisionTagRecord extends TagRecord {
  revision: number
}
export interface EnvTagRecord extends TagRecord {
  value: string
}

export interface SessionRecord {
  id: string
  envId: string
  userId: string
  revision: number
  resultKey: string
  expires: string
}

export interface AuditRecord {
  id: number
  time: string
  user: string | null
  tokenId: string | null
  ip: string | null
  method: string
  action: string
  org: string | null
  target: string
  status: number
  result: 'ok' | 'denied' | 'error'
  detail?: Record<string, unknown>
}

export interface Grant {
  org: string
  project: string
  /** '' for a project-wide grant */
  env: string
  subjectKind: 'user' | 'team'
  subject: string
  role: Role
}

export interface Repository {
  readonly dialect: 'sqlite' | 'postgres'
  close(): Promise<void>
  // identities
  createUser(u: { login: string; name?: string; email?: string; siteAdmin?: boolean }): Promise<User>
  getUserByLogin(login: string): Promise<User | undefined>
  loginOf(userId: string): Promise<string | undefined>
  listUsers(): Promise<User[]>
  countUsers(): Promise<number>
  createToken(userId: string, hash: string, opts: { description: string; expires: string | null }): Promise<TokenRecord>
  findToken(hash: string): Promise<{ token: TokenRecord; user: User } | undefined>
  getToken(id: string): Promise<TokenRecord | undefined>
  listTokens(userId: string): Promise<TokenRecord[]>
  revokeToken(id: string, at: string): Promise<boolean>
  // orgs, membership, teams, grants
  createOrg(name: string): Promise<boolean>
  getOrg(name: string): Promise<{ name: string; defaultRole: Role } | undefined>
  setOrgDefaultRole(name: string, role: Role): Promise<void>
  setOrgMember(org: string, userId: string, role: 'admin' | 'member'): Promise<void>
  removeOrgMember(org: string, userId: string): Promise<boolean>
  orgMembership(org: string, userId: string): Promise<'admin' | 'member' | undefined>
  orgsOfUser(userId: string): Promise<string[]>
  createTeam(org: string, name: string): Promise<boolean>
  listTeams(org: string): Promise<string[]>
  addTeamMember(org: string, team: string, userId: string): Promise<void>
  removeTeamMember(org: string, team: string, userId: string): Promise<boolean>
  teamsOfUser(org: string, userId: string): Promise<string[]>
  setGrant(g: Grant): Promise<void>
  removeGrant(g: Omit<Grant, 'role'>): Promise<boolean>
  listGrants(org: string, project?: string, env?: string): Promise<Grant[]>
  /** grants that apply to the user (directly or through a team) anywhere in the org */
  grantsForUser(org: string, userId: string): Promise<Grant[]>
  // environments
  createEnvironment(e: { org: string; project: string; name: string; dataKey: string; kekId: string; creator: User; yaml?: string }): Promise<EnvRecord | undefined>
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
  // clone
  cloneEnvironment(src: EnvRecord, dst: { id: string; project: string; name: string; dataKey: string; kekId: string; creator: User }, opts: {
    revisions: RevisionRecord[]
    envTags: boolean
    revisionTags: boolean
    access: boolean
  }): Promise<EnvRecord | undefined>
  // sessions
  createSession(s: SessionRecord): Promise<void>
  createSessions(list: SessionRecord[]): Promise<void>
  createResult(r: { key: string; envId: string; sealed: string }): Promise<void>
  /** the session with its sealed result */
  getSession(id: string): Promise<(SessionRecord & { sealed: string }) | undefined>
  deleteExpiredSessions(now: string): Promise<number>
  // data keys (KEK rotation)
  listDataKeys(): Promise<{ id: string; dataKey: string; kekId: string }[]>
  replaceDataKey(envId: string, oldWrapped: string, newWrapped: string, kekId: string): Promise<boolean>
  // audit
  appendAudit(a: Omit<AuditRecord, 'id'>): Promise<void>
  /** `durable: false` → no wait for the WAL flush (successful reads and opens; a database crash may lose the last few) */
  appendAudits(list: Omit<AuditRecord, 'id'>[], opts?: { durable?: boolean }): Promise<void>
  queryAudit(opts: { org?: string; target?: string; user?: string; afterId?: number; limit: number }): Promise<AuditRecord[]>
}

const now = () => new Date().toISOString()
const str = (v: SqlValue | undefined): string => (v === null || v === undefined ? '' : String(v))
const optStr = (v: SqlValue | undefined): string | null => (v === null || v === undefined ? null : String(v))

const toUser = (r: Row): User => ({ id: str(r.id), login: str(r.login), name: str(r.name), email: str(r.email), siteAdmin: Number(r.site_admin) === 1 })
const toToken = (r: Row): TokenRecord => ({
  id: str(r.id),
  userId: str(r.user_id),
  description: str(r.description),
  created: str(r.created),
  expires: optStr(r.expires),
  revoked: optStr(r.revoked),
})
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
const toTag = (r: Row): TagRecord => ({
  name: str(r.name),
  created: str(r.created),
  modified: str(r.modified),
  editorLogin: str(r.editor_login),
  editorName: str(r.editor_name),
})
const toGrant = (r: Row): Grant => ({
  org: str(r.org),
  project: str(r.project),
  env: str(r.env),
  subjectKind: str(r.subject_kind) as 'user' | 'team',
  subject: str(r.subject),
  role: str(r.role) as Role,
})

/** true when the error is a unique/primary-key violation on either database */
function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errcode?: number; message?: string }
  return e?.code === '23505' || /UNIQUE constraint failed|PRIMARY KEY/i.test(String(e?.message ?? ''))
}

export class SqlRepository implements Repository {
  private readonly db: Driver
  constructor(db: Driver) {
    this.db = db
  }

  get dialect() {
    return this.db.dialect
  }

  static async open(db: Driver): Promise<SqlRepository> {
    await db.init()
    await migrate(db)
    return new SqlRepository(db)
  }

  close() {
    return this.db.close()
  }

  // ---- identities
  async createUser(u: { login: string; name?: string; email?: string; siteAdmin?: boolean }): Promise<User> {
    const user: User = { id: randomUUID(), login: u.login, name: u.name ?? u.login, email: u.email ?? '', siteAdmin: u.siteAdmin ?? false }
    await this.db.run('INSERT INTO users (id, login, name, email, site_admin, created) VALUES (?, ?, ?, ?, ?, ?)', [
      user.id,
      user.login,
      user.name,
      user.email,
      user.siteAdmin ? 1 : 0,
      now(),
    ])
    return user
  }
  async getUserByLogin(login: string) {
    const r = await this.db.get('SELECT * FROM users WHERE login = ?', [login])
    return r && toUser(r)
  }
  async loginOf(userId: string) {
    const r = await this.db.get('SELECT login FROM users WHERE id = ?', [userId])
    return r ? str(r.login) : undefined
  }
  async listUsers() {
    return (await this.db.all('SELECT * FROM users ORDER BY login')).map(toUser)
  }
  async countUsers() {
    return Number((await this.db.get('SELECT COUNT(*) AS n FROM users'))?.n ?? 0)
  }
  async createToken(userId: string, hash: string, opts: { description: string; expires: string | null }) {
    const t: TokenRecord = { id: randomUUID(), userId, description: opts.description, created: now(), expires: opts.expires, revoked: null }
    await this.db.run('INSERT INTO tokens (id, user_id, hash, description, created, expires) VALUES (?, ?, ?, ?, ?, ?)', [
      t.id,
      userId,
      hash,
      t.description,
      t.created,
      t.expires,
    ])
    return t
  }
  async findToken(hash: string) {
    const r = await this.db.get(
      `SELECT t.id AS t_id, t.user_id, t.description, t.created AS t_created, t.expires, t.revoked, u.*
       FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`,
      [hash],
    )
    if (!r) return undefined
    return {
      token: toToken({ ...r, id: r.t_id, created: r.t_created }),
      user: toUser(r),
    }
  }
  async getToken(id: string) {
    const r = await this.db.get('SELECT * FROM tokens WHERE id = ?', [id])
    return r && toToken(r)
  }
  async listTokens(userId: string) {
    return (await this.db.all('SELECT * FROM tokens WHERE user_id = ? ORDER BY created', [userId])).map(toToken)
  }
  async revokeToken(id: string, at: string) {
    return (await this.db.run('UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL', [at, id])) > 0
  }

  // ---- orgs
  async createOrg(name: string) {
    try {
      await this.db.run('INSERT INTO orgs (name, created) VALUES (?, ?)', [name, now()])
      return true
    } catch (err) {
      if (isUniqueViolation(err)) return false
      throw err
    }
  }
  async getOrg(name: string) {
    const r = await this.db.get('SELECT name, default_role FROM orgs WHERE name = ?', [name])
    return r && { name: str(r.name), defaultRole: str(r.default_role) as Role }
  }
  async setOrgDefaultRole(name: string, role: Role) {
    await this.db.run('UPDATE orgs SET default_role = ? WHERE name = ?', [role, name])
  }
  async setOrgMember(org: string, userId: string, role: 'admin' | 'member') {
    await this.db.run(
      'INSERT INTO org_members (org, user_id, role) VALUES (?, ?, ?) ON CONFLICT (org, user_id) DO UPDATE SET role = excluded.role',
      [org, userId, role],
    )
  }
  async removeOrgMember(org: string, userId: string) {
    return (await this.db.run('DELETE FROM org_members WHERE org = ? AND user_id = ?', [org, userId])) > 0
  }
  async orgMembership(org: string, userId: string) {
    const r = await this.db.get('SELECT role FROM org_members WHERE org = ? AND user_id = ?', [org, userId])
    return r ? (str(r.role) as 'admin' | 'member') : undefined
  }
  async orgsOfUser(userId: string) {
    return (await this.db.all('SELECT org FROM org_members WHERE user_id = ? ORDER BY org', [userId])).map((r) => str(r.org))
  }
  async createTeam(org: string, name: string) {
    try {
      await this.db.run('INSERT INTO teams (org, name, created) VALUES (?, ?, ?)', [org, name, now()])
      return true
    } catch (err) {
      if (isUniqueViolation(err)) return false
      throw err
    }
  }
  async listTeams(org: string) {
    return (await this.db.all('SELECT name FROM teams WHERE org = ? ORDER BY name', [org])).map((r) => str(r.name))
  }
  async addTeamMember(org: string, team: string, userId: string) {
    await this.db.run('INSERT INTO team_members (org, team, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [org, team, userId])
  }
  async removeTeamMember(org: string, team: string, userId: string) {
    return (await this.db.run('DELETE FROM team_members WHERE org = ? AND team = ? AND user_id = ?', [org, team, userId])) > 0
  }
  async teamsOfUser(org: string, userId: string) {
    return (await this.db.all('SELECT team FROM team_members WHERE org = ? AND user_id = ? ORDER BY team', [org, userId])).map((r) => str(r.team))
  }
  async setGrant(g: Grant) {
    await this.db.run(
      `INSERT INTO grants (org, project, env, subject_kind, subject, role) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (org, project, env, subject_kind, subject) DO UPDATE SET role = excluded.role`,
      [g.org, g.project, g.env, g.subjectKind, g.subject, g.role],
    )
  }
  async removeGrant(g: Omit<Grant, 'role'>) {
    return (
      (await this.db.run('DELETE FROM grants WHERE org = ? AND project = ? AND env = ? AND subject_kind = ? AND subject = ?', [
        g.org,
        g.project,
        g.env,
        g.subjectKind,
        g.subject,
      ])) > 0
    )
  }
  async listGrants(org: string, project?: string, env?: string) {
    let sql = 'SELECT * FROM grants WHERE org = ?'
    const p: SqlValue[] = [org]
    if (project !== undefined) {
      sql += ' AND project = ?'
      p.push(project)
    }
    if (env !== undefined) {
      sql += ' AND env = ?'
      p.push(env)
    }
    return (await this.db.all(sql + ' ORDER BY project, env, subject_kind, subject', p)).map(toGrant)
  }
  async grantsForUser(org: string, userId: string) {
    return (
      await this.db.all(
        `SELECT * FROM grants WHERE org = ? AND (
           (subject_kind = 'user' AND subject = ?) OR
           (subject_kind = 'team' AND subject IN (SELECT team FROM team_members WHERE org = ? AND user_id = ?)))`,
        [org, userId, org, userId],
      )
    ).map(toGrant)
  }

  // ---- environments
  async createEnvironment(e: { org: string; project: string; name: string; dataKey: string; kekId: string; creator: User; yaml?: string }) {
    const t = now()
    const id = randomUUID()
    try {
      await this.db.transaction(async (tx) => {
        await tx.run(
          'INSERT INTO environments (id, org, project, name, created, modified, latest, data_key, kek_id) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)',
          [id, e.org, e.project, e.name, t, t, e.dataKey, e.kekId],
        )
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
    return this.getEnvironmentById(id)
  }
  async getEnvironment(org: string, project: string, name: string) {
    const r = await this.db.get('SELECT * FROM environments WHERE org = ? AND project = ? AND name = ?', [org, project, name])
    return r && toEnv(r)
  }
  async getEnvironmentAnd(org: string, project: string, name: string, otherIds: string[]) {
    const latest = new Map<string, number>()
    if (otherIds.length === 0) return { env: await this.getEnvironment(org, project, name), latest }
    const rows = await this.db.all(
      `SELECT * FROM environments WHERE (org = ? AND project = ? AND name = ?) OR id IN (${otherIds.map(() => '?').join(', ')})`,
      [org, project, name, ...otherIds],
    )
    let env: EnvRecord | undefined
    for (const r of rows) {
      const e = toEnv(r)
      if (e.org === org && e.project === project && e.name === name) env = e
      latest.set(e.id, e.latest)
    }
    return { env, latest }
  }
  async getEnvironmentById(id: string) {
    const r = await this.db.get('SELECT * FROM environments WHERE id = ?', [id])
    return r && toEnv(r)
  }
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
    return (
      await this.db.all(`SELECT * FROM environments ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY org, project, name LIMIT ?`, p)
    ).map(toEnv)
  }
  async deleteEnvironment(id: string) {
    return this.db.transaction(async (tx) => {
      const env = await tx.get('SELECT org, project, name FROM environments WHERE id = ?', [id])
      if (!env) return false
      for (const table of ['open_sessions', 'open_results', 'env_tags', 'revision_tags', 'revisions']) await tx.run(`DELETE FROM ${table} WHERE env_id = ?`, [id])
      await tx.run('DELETE FROM grants WHERE org = ? AND project = ? AND env = ?', [env.org, env.project, env.name])
      return (await tx.run('DELETE FROM environments WHERE id = ?', [id])) > 0
    })
  }
  async setDeletionProtected(id: string, on: boolean) {
    await this.db.run('UPDATE environments SET deletion_protected = ? WHERE id = ?', [on ? 1 : 0, id])
  }
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
    return tx ? run(tx) : this.db.transaction(run)
  }
  async getRevision(envId: string, number: number) {
    const r = await this.db.get('SELECT * FROM revisions WHERE env_id = ? AND number = ?', [envId, number])
    return r && toRevision(r)
  }
  async listRevisions(envId: string, opts: { before?: number; count: number }) {
    const p: SqlValue[] = [envId]
    let sql = 'SELECT * FROM revisions WHERE env_id = ?'
    if (opts.before !== undefined) {
      sql += ' AND number < ?'
      p.push(opts.before)
    }
    p.push(opts.count)
    return (await this.db.all(sql + ' ORDER BY number DESC LIMIT ?', p)).map(toRevision)
  }
  async retractRevision(envId: string, number: number, r: { replacement: number; by: string; reason: string; at: string }) {
    await this.db.transaction(async (tx) => {
      await tx.run(
        'UPDATE revisions SET retracted_replacement = ?, retracted_at = ?, retracted_by = ?, retracted_reason = ? WHERE env_id = ? AND number = ?',
        [r.replacement, r.at, r.by, r.reason, envId, number],
      )
      await tx.run('UPDATE revision_tags SET revision = ?, modified = ? WHERE env_id = ? AND revision = ?', [r.replacement, r.at, envId, number])
    })
  }
  async latestRevisions(envIds: string[]) {
    const out = new Map<string, number>()
    if (envIds.length === 0) return out
    const rows = await this.db.all(`SELECT id, latest FROM environments WHERE id IN (${envIds.map(() => '?').join(', ')})`, envIds)
    for (const r of rows) out.set(str(r.id), Number(r.latest))
    return out
  }

  // ---- revision tags
  /** one page of an environment's tags (revision or environment tags), by name after `after` */
  private async tagPage(table: 'revision_tags' | 'env_tags', envId: string, opts: { after?: string; count: number }) {
    const p: SqlValue[] = [envId]
    let sql = `SELECT * FROM ${table} WHERE env_id = ?`
    if (opts.after !== undefined) {
      sql += ' AND name > ?'
      p.push(opts.after)
    }
    p.push(opts.count)
    return this.db.all(sql + ' ORDER BY name LIMIT ?', p)
  }
  async listRevisionTags(envId: string, opts: { after?: string; count: number }) {
    return (await this.tagPage('revision_tags', envId, opts)).map((r) => ({ ...toTag(r), revision: Number(r.revision) }))
  }
  async getRevisionTag(envId: string, name: string) {
    const r = await this.db.get('SELECT * FROM revision_tags WHERE env_id = ? AND name = ?', [envId, name])
    return r && { ...toTag(r), revision: Number(r.revision) }
  }
  async createRevisionTag(envId: string, name: string, revision: number, editor: User) {
    const t = now()
    try {
      await this.db.run(
        'INSERT INTO revision_tags (env_id, name, revision, created, modified, editor_login, editor_name) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [envId, name, revision, t, t, editor.login, editor.name],
      )
      return true
    } catch (err) {
      if (isUniqueViolation(err)) return false
      throw err
    }
  }
  async updateRevisionTag(envId: string, name: string, revision: number, editor: User) {
    return (
      (await this.db.run('UPDATE revision_tags SET revision = ?, modified = ?, editor_login = ?, editor_name = ? WHERE env_id = ? AND name = ?', [
        revision,
        now(),
        editor.login,
        editor.name,
        envId,
        name,
      ])) > 0
    )
  }
  async deleteRevisionTag(envId: string, name: string) {
    return (await this.db.run('DELETE FROM revision_tags WHERE env_id = ? AND name = ?', [envId, name])) > 0
  }

  // ---- environment tags
  async listEnvTags(envId: string, opts: { after?: string; count: number }) {
    return (await this.tagPage('env_tags', envId, opts)).map((r) => ({ ...toTag(r), value: str(r.value) }))
  }
  async getEnvTag(envId: string, name: string) {
    const r = await this.db.get('SELECT * FROM env_tags WHERE env_id = ? AND name = ?', [envId, name])
    return r && { ...toTag(r), value: str(r.value) }
  }
  async createEnvTag(envId: string, name: string, value: string, editor: User) {
    const t = now()
    try {
      await this.db.run('INSERT INTO env_tags (env_id, name, value, created, modified, editor_login, editor_name) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        envId,
        name,
        value,
        t,
        t,
        editor.login,
        editor.name,
      ])
      return true
    } catch (err) {
      if (isUniqueViolation(err)) return false
      throw err
    }
  }
  async updateEnvTag(envId: string, name: string, newName: string, value: string, editor: User) {
    try {
      return (
        (await this.db.run('UPDATE env_tags SET name = ?, value = ?, modified = ?, editor_login = ?, editor_name = ? WHERE env_id = ? AND name = ?', [
          newName,
          value,
          now(),
          editor.login,
          editor.name,
          envId,
          name,
        ])) > 0
      )
    } catch (err) {
      if (isUniqueViolation(err)) return 'exists' as const
      throw err
    }
  }
  async deleteEnvTag(envId: string, name: string) {
    return (await this.db.run('DELETE FROM env_tags WHERE env_id = ? AND name = ?', [envId, name])) > 0
  }

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
      await this.db.transaction(async (tx) => {
        await tx.run(
          'INSERT INTO environments (id, org, project, name, created, modified, latest, data_key, kek_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [id, src.org, dst.project, dst.name, t, t, latest, dst.dataKey, dst.kekId],
        )
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
            await tx.run(
              'INSERT INTO revision_tags (env_id, name, revision, created, modified, editor_login, editor_name) VALUES (?, ?, ?, ?, ?, ?, ?)',
              [id, tag.name, tag.revision, tag.created, tag.modified, tag.editor_login, tag.editor_name],
            )
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
    return this.getEnvironmentById(id)
  }

  // ---- sessions
  async createSession(s: SessionRecord) {
    await this.createSessions([s])
  }
  async createSessions(list: SessionRecord[]) {
    if (list.length === 0) return
    const t = now()
    const sql = `INSERT INTO open_sessions (id, env_id, user_id, revision, result_key, created, expires) VALUES ${list.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`
    const params = list.flatMap((s) => [s.id, s.envId, s.userId, s.revision, s.resultKey, t, s.expires])
    // Sessions are ephemeral (after a database crash a client simply opens again): no wait for the WAL flush.
    await this.db.runEphemeral(sql, params)
  }
  async createResult(r: { key: string; envId: string; sealed: string }) {
    await this.db.run('INSERT INTO open_results (key, env_id, sealed, created) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING', [r.key, r.envId, r.sealed, now()])
  }
  async getSession(id: string) {
    const r = await this.db.get('SELECT s.*, r.sealed FROM open_sessions s JOIN open_results r ON r.key = s.result_key WHERE s.id = ?', [id])
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
  }
  async deleteExpiredSessions(t: string) {
    const n = await this.db.run('DELETE FROM open_sessions WHERE expires < ?', [t])
    // Results live on while a process may still hand them out (it re-stores them every 30 minutes).
    const old = new Date(Date.parse(t) - 3_600_000).toISOString()
    await this.db.run('DELETE FROM open_results WHERE created < ? AND key NOT IN (SELECT result_key FROM open_sessions)', [old])
    return n
  }

  // ---- data keys
  async listDataKeys() {
    return (await this.db.all('SELECT id, data_key, kek_id FROM environments ORDER BY id')).map((r) => ({
      id: str(r.id),
      dataKey: str(r.data_key),
      kekId: str(r.kek_id),
    }))
  }
  async replaceDataKey(envId: string, oldWrapped: string, newWrapped: string, kekId: string) {
    return (await this.db.run('UPDATE environments SET data_key = ?, kek_id = ? WHERE id = ? AND data_key = ?', [newWrapped, kekId, envId, oldWrapped])) > 0
  }

  // ---- audit
  async appendAudit(a: Omit<AuditRecord, 'id'>) {
    await this.appendAudits([a])
  }
  async appendAudits(list: Omit<AuditRecord, 'id'>[], opts: { durable?: boolean } = {}) {
    if (list.length === 0) return
    await this.db[opts.durable === false ? 'runEphemeral' : 'run'](
      `INSERT INTO audit (time, user_login, token_id, ip, method, action, org, target, status, result, detail) VALUES ${list
        .map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .join(', ')}`,
      list.flatMap((a) => [a.time, a.user, a.tokenId, a.ip, a.method, a.action, a.org, a.target, a.status, a.result, a.detail ? JSON.stringify(a.detail) : null]),
    )
  }
  async queryAudit(opts: { org?: string; target?: string; user?: string; afterId?: number; limit: number }) {
    const where: string[] = []
    const p: SqlValue[] = []
    if (opts.org !== undefined) {
      where.push('org = ?')
      p.push(opts.org)
    }
    if (opts.target !== undefined) {
      where.push('target = ?')
      p.push(opts.target)
    }
    if (opts.user !== undefined) {
      where.push('user_login = ?')
      p.push(opts.user)
    }
    if (opts.afterId !== undefined) {
      where.push('id > ?')
      p.push(opts.afterId)
    }
    p.push(opts.limit)
    const rows = await this.db.all(`SELECT * FROM audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`, p)
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
  }
}
