/**
 * Identity routes the `esc` CLI uses (`/api/user`, `/api/user/organizations/default`) and the Envelope
 * management API: users and tokens, orgs, members, teams, project permissions, the audit log, KEK re-wrap.
 * See server/README.md for the table.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { User } from '../db/repository.ts'
import { isRole } from '../db/repository.ts'
import { hashToken, mintToken, roleIn } from '../auth.ts'
import type { Ctx } from '../app.ts'
import { objectBody, setAudit, who } from '../app.ts'
import { HttpError } from '../evaluator.ts'
import { checkName, checkOrgName, grantFromBody, permissionsJson } from './esc.ts'

const LOGIN_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/
const MAX_TOKEN_SECONDS = 5 * 365 * 24 * 3600

/** Creates a token for `user`; the secret is returned once and only its sha256 is stored. */
export async function issueToken(ctx: Ctx, user: User, description: string, expiresInSeconds: number | undefined) {
  const token = mintToken()
  const expires = expiresInSeconds === undefined ? null : new Date(Date.now() + expiresInSeconds * 1000).toISOString()
  const rec = await ctx.repo.createToken(user.id, hashToken(token), { description, expires })
  return { id: rec.id, token, description, created: rec.created, expires }
}

function tokenOpts(body: Record<string, unknown>) {
  const description = body.description === undefined ? '' : body.description
  if (typeof description !== 'string' || description.length > 200) throw new HttpError(400, 'description must be a string of at most 200 characters')
  const exp = body.expiresInSeconds
  if (exp !== undefined && (typeof exp !== 'number' || !Number.isInteger(exp) || exp <= 0 || exp > MAX_TOKEN_SECONDS)) {
    throw new HttpError(400, `expiresInSeconds must be a whole number of seconds between 1 and ${MAX_TOKEN_SECONDS}`)
  }
  return { description, expires: exp as number | undefined }
}

export async function adminRoutes(app: FastifyInstance, ctx: Ctx) {
  const { repo, auth } = ctx

  const requireSiteAdmin = (req: FastifyRequest, what: string) => {
    const { user } = who(req)
    if (!user.siteAdmin) throw new HttpError(403, `forbidden: ${what} requires a site administrator; ${user.login} is not one`)
    return user
  }
  const requireOrgAdmin = async (req: FastifyRequest, org: string, what: string) => {
    const { user } = who(req)
    const a = await auth.orgAuthz(org, user)
    if (!(a.siteAdmin || a.membership === 'admin')) throw new HttpError(403, `forbidden: ${what} requires the admin role in organization ${org}; ${user.login} does not have it`)
    if (!a.exists) throw new HttpError(404, `organization "${org}" not found`)
    return user
  }
  const userByLogin = async (login: string) => {
    const u = await repo.getUserByLogin(login)
    if (!u) throw new HttpError(404, `user "${login}" not found`)
    return u
  }
  const tokenJson = (t: { id: string; description: string; created: string; expires: string | null; revoked: string | null }) => ({
    id: t.id,
    description: t.description,
    created: t.created,
    ...(t.expires ? { expires: t.expires } : {}),
    ...(t.revoked ? { revoked: t.revoked } : {}),
  })

  // ---------------------------------------------------------------- the caller
  app.get('/api/user', async (req) => {
    setAudit(req, { action: 'user.read', target: 'user' })
    const { user, token } = who(req)
    const orgs = await repo.orgsOfUser(user.id)
    return {
      id: user.id,
      githubLogin: user.login,
      name: user.name,
      email: user.email,
      avatarUrl: '',
      organizations: orgs.map((o) => ({ githubLogin: o, name: o, avatarUrl: '' })),
      tokenInfo: { name: token.description || token.id },
      siteAdmin: user.siteAdmin,
    }
  })

  app.get('/api/user/organizations/default', async (req) => {
    setAudit(req, { action: 'user.read', target: 'user/default-org' })
    const orgs = await repo.orgsOfUser(who(req).user.id)
    if (orgs.length === 0) throw new HttpError(404, 'no default organization')
    return { gitHubLogin: orgs[0], name: orgs[0] }
  })

  app.get('/api/user/tokens', async (req) => {
    setAudit(req, { action: 'token.list', target: 'user/tokens' })
    return { tokens: (await repo.listTokens(who(req).user.id)).map(tokenJson) }
  })

  app.post('/api/user/tokens', async (req, reply) => {
    setAudit(req, { action: 'token.create', target: 'user/tokens' })
    const { user } = who(req)
    const o = tokenOpts(objectBody(req))
    const t = await issueToken(ctx, user, o.description, o.expires)
    req.audit!.detail = { token: t.id }
    return reply.code(201).send(t)
  })

  app.delete('/api/user/tokens/:id', async (req, reply) => {
    const { id } = req.params as { id: string }
    setAudit(req, { action: 'token.revoke', target: `token/${id}` })
    const { user } = who(req)
    const t = await repo.getToken(id)
    if (!t || (t.userId !== user.id && !user.siteAdmin)) throw new HttpError(404, `token ${id} not found`)
    await repo.revokeToken(id, new Date().toISOString())
    auth.invalidate()
    return reply.code(204).send()
  })

  // ---------------------------------------------------------------- users (site admins)
  app.post('/api/admin/users', async (req, reply) => {
    const body = objectBody(req)
    setAudit(req, { action: 'user.create', target: `user/${String(body.login ?? '')}` })
    requireSiteAdmin(req, 'creating users')
    if (typeof body.login !== 'string' || !LOGIN_RE.test(body.login)) throw new HttpError(400, `invalid login ${JSON.stringify(body.login)}: 1-63 letters, digits, '.', '_' or '-'`)
    if (await repo.getUserByLogin(body.login)) throw new HttpError(409, `user "${body.login}" already exists`)
    const u = await repo.createUser({
      login: body.login,
      ...(typeof body.name === 'string' ? { name: body.name } : {}),
      ...(typeof body.email === 'string' ? { email: body.email } : {}),
      siteAdmin: body.siteAdmin === true,
    })
    return reply.code(201).send({ id: u.id, login: u.login, name: u.name, email: u.email, siteAdmin: u.siteAdmin })
  })

  app.get('/api/admin/users', async (req) => {
    setAudit(req, { action: 'user.list', target: 'users' })
    requireSiteAdmin(req, 'listing users')
    return { users: (await repo.listUsers()).map((u) => ({ id: u.id, login: u.login, name: u.name, email: u.email, siteAdmin: u.siteAdmin })) }
  })

  app.post('/api/admin/users/:login/tokens', async (req, reply) => {
    const { login } = req.params as { login: string }
    setAudit(req, { action: 'token.create', target: `user/${login}/tokens` })
    requireSiteAdmin(req, 'creating tokens for other users')
    const u = await userByLogin(login)
    const o = tokenOpts(objectBody(req))
    const t = await issueToken(ctx, u, o.description, o.expires)
    req.audit!.detail = { token: t.id }
    return reply.code(201).send(t)
  })

  app.get('/api/admin/users/:login/tokens', async (req) => {
    const { login } = req.params as { login: string }
    setAudit(req, { action: 'token.list', target: `user/${login}/tokens` })
    requireSiteAdmin(req, 'listing tokens of other users')
    return { tokens: (await repo.listTokens((await userByLogin(login)).id)).map(tokenJson) }
  })

  app.delete('/api/admin/tokens/:id', async (req, reply) => {
    const { id } = req.params as { id: string }
    setAudit(req, { action: 'token.revoke', target: `token/${id}` })
    requireSiteAdmin(req, 'revoking tokens of other users')
    if (!(await repo.revokeToken(id, new Date().toISOString()))) throw new HttpError(404, `token ${id} not found or already revoked`)
    auth.invalidate()
    return reply.code(204).send()
  })

  app.post('/api/admin/keys/rewrap', async (req) => {
    setAudit(req, { action: 'key.rotate', target: 'keys' })
    requireSiteAdmin(req, 're-wrapping data keys')
    const r = await ctx.keys.rewrapAll(repo)
    req.audit!.detail = { ...r, kek: ctx.keys.keyRing.current.id }
    return { ...r, kekId: ctx.keys.keyRing.current.id }
  })

  // ---------------------------------------------------------------- orgs, members, teams
  app.post('/api/orgs', async (req, reply) => {
    const body = objectBody(req)
    const name = String(body.name ?? '')
    setAudit(req, { action: 'org.create', org: name, target: name })
    const user = requireSiteAdmin(req, 'creating organizations')
    checkOrgName(name)
    if (body.defaultRole !== undefined && !isRole(body.defaultRole)) throw new HttpError(400, 'defaultRole must be one of none, reader, opener, editor, admin')
    if (!(await repo.createOrg(name))) throw new HttpError(409, `organization "${name}" already exists`)
    if (isRole(body.defaultRole)) await repo.setOrgDefaultRole(name, body.defaultRole)
    await repo.setOrgMember(name, user.id, 'admin')
    auth.invalidate()
    return reply.code(201).send({ name, defaultRole: isRole(body.defaultRole) ? body.defaultRole : 'none' })
  })

  app.patch('/api/orgs/:org', async (req) => {
    const { org } = req.params as { org: string }
    setAudit(req, { action: 'org.update', org, target: org })
    await requireOrgAdmin(req, org, 'changing organization settings')
    const body = objectBody(req)
    if (!isRole(body.defaultRole)) throw new HttpError(400, 'defaultRole must be one of none, reader, opener, editor, admin')
    await repo.setOrgDefaultRole(org, body.defaultRole)
    auth.invalidate()
    return { name: org, defaultRole: body.defaultRole }
  })

  app.put('/api/orgs/:org/members/:login', async (req, reply) => {
    const { org, login } = req.params as { org: string; login: string }
    setAudit(req, { action: 'org.member.set', org, target: `${org}/members/${login}` })
    await requireOrgAdmin(req, org, 'managing members')
    const body = objectBody(req)
    const role = body.role ?? 'member'
    if (role !== 'member' && role !== 'admin') throw new HttpError(400, 'an organization role is "member" or "admin"')
    await repo.setOrgMember(org, (await userByLogin(login)).id, role)
    auth.invalidate()
    return reply.code(204).send()
  })

  app.delete('/api/orgs/:org/members/:login', async (req, reply) => {
    const { org, login } = req.params as { org: string; login: string }
    setAudit(req, { action: 'org.member.remove', org, target: `${org}/members/${login}` })
    await requireOrgAdmin(req, org, 'managing members')
    if (!(await repo.removeOrgMember(org, (await userByLogin(login)).id))) throw new HttpError(404, `${login} is not a member of ${org}`)
    auth.invalidate()
    return reply.code(204).send()
  })

  app.put('/api/orgs/:org/teams/:team', async (req, reply) => {
    const { org, team } = req.params as { org: string; team: string }
    setAudit(req, { action: 'team.create', org, target: `${org}/teams/${team}` })
    await requireOrgAdmin(req, org, 'managing teams')
    checkName('project', team)
    await repo.createTeam(org, team)
    return reply.code(204).send()
  })

  app.put('/api/orgs/:org/teams/:team/members/:login', async (req, reply) => {
    const { org, team, login } = req.params as { org: string; team: string; login: string }
    setAudit(req, { action: 'team.member.add', org, target: `${org}/teams/${team}/${login}` })
    await requireOrgAdmin(req, org, 'managing teams')
    if (!(await repo.listTeams(org)).includes(team)) throw new HttpError(404, `team "${team}" not found in ${org}`)
    await repo.addTeamMember(org, team, (await userByLogin(login)).id)
    auth.invalidate()
    return reply.code(204).send()
  })

  app.delete('/api/orgs/:org/teams/:team/members/:login', async (req, reply) => {
    const { org, team, login } = req.params as { org: string; team: string; login: string }
    setAudit(req, { action: 'team.member.remove', org, target: `${org}/teams/${team}/${login}` })
    await requireOrgAdmin(req, org, 'managing teams')
    if (!(await repo.removeTeamMember(org, team, (await userByLogin(login)).id))) throw new HttpError(404, `${login} is not in team ${team}`)
    auth.invalidate()
    return reply.code(204).send()
  })

  // ---------------------------------------------------------------- project permissions
  const requireProjectAdmin = async (req: FastifyRequest, org: string, project: string) => {
    const { user } = who(req)
    const a = await auth.orgAuthz(org, user)
    const role = roleIn(a, project)
    if (role !== 'admin') throw new HttpError(403, `forbidden: managing permissions of ${org}/${project} requires the admin role on the project; ${user.login} has ${role === 'none' ? 'no role' : 'the ' + role + ' role'}`)
    if (!a.exists) throw new HttpError(404, `organization "${org}" not found`)
  }

  app.get('/api/orgs/:org/projects/:project/permissions', async (req) => {
    const { org, project } = req.params as { org: string; project: string }
    setAudit(req, { action: 'permission.list', org, target: `${org}/${project}` })
    await requireProjectAdmin(req, org, project)
    return { permissions: await permissionsJson(ctx, org, project) }
  })

  app.put('/api/orgs/:org/projects/:project/permissions', async (req, reply) => {
    const { org, project } = req.params as { org: string; project: string }
    setAudit(req, { action: 'permission.set', org, target: `${org}/${project}` })
    await requireProjectAdmin(req, org, project)
    checkName('project', project)
    const g = await grantFromBody(ctx, org, objectBody(req))
    req.audit!.detail = { [g.subjectKind]: g.name, role: g.role }
    if (g.role === 'none') await repo.removeGrant({ org, project, env: '', subjectKind: g.subjectKind, subject: g.subject })
    else await repo.setGrant({ org, project, env: '', subjectKind: g.subjectKind, subject: g.subject, role: g.role })
    auth.invalidate()
    return reply.code(204).send()
  })

  // ---------------------------------------------------------------- audit log
  app.get('/api/orgs/:org/audit', async (req) => {
    const { org } = req.params as { org: string }
    setAudit(req, { action: 'audit.query', org, target: org })
    await requireOrgAdmin(req, org, 'reading the audit log')
    const qs = req.query as Record<string, string | undefined>
    const after = qs.after ? Number(qs.after) : undefined
    if (after !== undefined && !Number.isInteger(after)) throw new HttpError(400, 'after must be an audit record id')
    const limit = Math.min(Number(qs.limit ?? 1000) || 1000, 5000)
    const events = await repo.queryAudit({
      org,
      ...(qs.target ? { target: qs.target } : {}),
      ...(qs.user ? { user: qs.user } : {}),
      ...(after !== undefined ? { afterId: after } : {}),
      limit,
    })
    return { events, nextToken: events.length === limit ? String(events[events.length - 1]!.id) : '' }
  })

  app.get('/api/admin/audit', async (req) => {
    setAudit(req, { action: 'audit.query', target: '*' })
    requireSiteAdmin(req, 'reading the whole audit log')
    const qs = req.query as Record<string, string | undefined>
    const after = qs.after ? Number(qs.after) : undefined
    const limit = Math.min(Number(qs.limit ?? 1000) || 1000, 5000)
    const events = await repo.queryAudit({ ...(after !== undefined && Number.isInteger(after) ? { afterId: after } : {}), limit, ...(qs.user ? { user: qs.user } : {}) })
    return { events, nextToken: events.length === limit ? String(events[events.length - 1]!.id) : '' }
  })
}
