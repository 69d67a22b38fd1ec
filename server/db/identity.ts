/**
 * The identity aggregate: users, tokens (only their sha256 is stored), organizations and their members, teams,
 * and role grants on projects and environments. Everything the auth layer reads to decide a request.
 */
import { randomUUID } from 'node:crypto'
import type { Driver, Row, SqlValue } from './driver.ts'
import type { Grant, Role, TokenRecord, User } from './records.ts'
import { now, optStr, str, unlessDuplicate } from './rows.ts'

export interface IdentityStore {
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
}

const toUser = (r: Row): User => ({ id: str(r.id), login: str(r.login), name: str(r.name), email: str(r.email), siteAdmin: Number(r.site_admin) === 1 })
const toToken = (r: Row): TokenRecord => ({
  id: str(r.id),
  userId: str(r.user_id),
  description: str(r.description),
  created: str(r.created),
  expires: optStr(r.expires),
  revoked: optStr(r.revoked),
})
const toGrant = (r: Row): Grant => ({
  org: str(r.org),
  project: str(r.project),
  env: str(r.env),
  subjectKind: str(r.subject_kind) as 'user' | 'team',
  subject: str(r.subject),
  role: str(r.role) as Role,
})

/** The identity store over one SQL driver (SQLite or PostgreSQL). */
export function identityStore(db: Driver): IdentityStore {
  return {
    // ---- users and tokens
    async createUser(u) {
      const user: User = { id: randomUUID(), login: u.login, name: u.name ?? u.login, email: u.email ?? '', siteAdmin: u.siteAdmin ?? false }
      await db.run('INSERT INTO users (id, login, name, email, site_admin, created) VALUES (?, ?, ?, ?, ?, ?)', [
        user.id,
        user.login,
        user.name,
        user.email,
        user.siteAdmin ? 1 : 0,
        now(),
      ])
      return user
    },
    async getUserByLogin(login) {
      const r = await db.get('SELECT * FROM users WHERE login = ?', [login])
      return r && toUser(r)
    },
    async loginOf(userId) {
      const r = await db.get('SELECT login FROM users WHERE id = ?', [userId])
      return r ? str(r.login) : undefined
    },
    async listUsers() {
      return (await db.all('SELECT * FROM users ORDER BY login')).map(toUser)
    },
    async countUsers() {
      return Number((await db.get('SELECT COUNT(*) AS n FROM users'))?.n ?? 0)
    },
    async createToken(userId, hash, opts) {
      const t: TokenRecord = { id: randomUUID(), userId, description: opts.description, created: now(), expires: opts.expires, revoked: null }
      await db.run('INSERT INTO tokens (id, user_id, hash, description, created, expires) VALUES (?, ?, ?, ?, ?, ?)', [
        t.id,
        userId,
        hash,
        t.description,
        t.created,
        t.expires,
      ])
      return t
    },
    async findToken(hash) {
      const r = await db.get(
        `SELECT t.id AS t_id, t.user_id, t.description, t.created AS t_created, t.expires, t.revoked, u.*
         FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`,
        [hash],
      )
      if (!r) return undefined
      return {
        token: toToken({ ...r, id: r.t_id, created: r.t_created }),
        user: toUser(r),
      }
    },
    async getToken(id) {
      const r = await db.get('SELECT * FROM tokens WHERE id = ?', [id])
      return r && toToken(r)
    },
    async listTokens(userId) {
      return (await db.all('SELECT * FROM tokens WHERE user_id = ? ORDER BY created', [userId])).map(toToken)
    },
    async revokeToken(id, at) {
      return (await db.run('UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL', [at, id])) > 0
    },

    // ---- orgs
    async createOrg(name) {
      return unlessDuplicate(async () => {
        await db.run('INSERT INTO orgs (name, created) VALUES (?, ?)', [name, now()])
        return true
      }, false)
    },
    async getOrg(name) {
      const r = await db.get('SELECT name, default_role FROM orgs WHERE name = ?', [name])
      return r && { name: str(r.name), defaultRole: str(r.default_role) as Role }
    },
    async setOrgDefaultRole(name, role) {
      await db.run('UPDATE orgs SET default_role = ? WHERE name = ?', [role, name])
    },
    async setOrgMember(org, userId, role) {
      await db.run('INSERT INTO org_members (org, user_id, role) VALUES (?, ?, ?) ON CONFLICT (org, user_id) DO UPDATE SET role = excluded.role', [
        org,
        userId,
        role,
      ])
    },
    async removeOrgMember(org, userId) {
      return (await db.run('DELETE FROM org_members WHERE org = ? AND user_id = ?', [org, userId])) > 0
    },
    async orgMembership(org, userId) {
      const r = await db.get('SELECT role FROM org_members WHERE org = ? AND user_id = ?', [org, userId])
      return r ? (str(r.role) as 'admin' | 'member') : undefined
    },
    async orgsOfUser(userId) {
      return (await db.all('SELECT org FROM org_members WHERE user_id = ? ORDER BY org', [userId])).map((r) => str(r.org))
    },

    // ---- teams
    async createTeam(org, name) {
      return unlessDuplicate(async () => {
        await db.run('INSERT INTO teams (org, name, created) VALUES (?, ?, ?)', [org, name, now()])
        return true
      }, false)
    },
    async listTeams(org) {
      return (await db.all('SELECT name FROM teams WHERE org = ? ORDER BY name', [org])).map((r) => str(r.name))
    },
    async addTeamMember(org, team, userId) {
      await db.run('INSERT INTO team_members (org, team, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [org, team, userId])
    },
    async removeTeamMember(org, team, userId) {
      return (await db.run('DELETE FROM team_members WHERE org = ? AND team = ? AND user_id = ?', [org, team, userId])) > 0
    },
    async teamsOfUser(org, userId) {
      return (await db.all('SELECT team FROM team_members WHERE org = ? AND user_id = ? ORDER BY team', [org, userId])).map((r) => str(r.team))
    },

    // ---- grants
    async setGrant(g) {
      await db.run(
        `INSERT INTO grants (org, project, env, subject_kind, subject, role) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (org, project, env, subject_kind, subject) DO UPDATE SET role = excluded.role`,
        [g.org, g.project, g.env, g.subjectKind, g.subject, g.role],
      )
    },
    async removeGrant(g) {
      return (
        (await db.run('DELETE FROM grants WHERE org = ? AND project = ? AND env = ? AND subject_kind = ? AND subject = ?', [
          g.org,
          g.project,
          g.env,
          g.subjectKind,
          g.subject,
        ])) > 0
      )
    },
    async listGrants(org, project, env) {
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
      return (await db.all(sql + ' ORDER BY project, env, subject_kind, subject', p)).map(toGrant)
    },
    async grantsForUser(org, userId) {
      return (
        await db.all(
          `SELECT * FROM grants WHERE org = ? AND (
             (subject_kind = 'user' AND subject = ?) OR
             (subject_kind = 'team' AND subject IN (SELECT team FROM team_members WHERE org = ? AND user_id = ?)))`,
          [org, userId, org, userId],
        )
      ).map(toGrant)
    },
  }
}
