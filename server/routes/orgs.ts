/**
 * Organizations (create: site admins; default role: org admins), their members and teams.
 */
import { isRole } from '../db/repository.ts'
import type { RouteModule } from '../http.ts'
import { objectBody, setAudit } from '../http.ts'
import { HttpError } from '../evaluator.ts'
import { checkName, checkOrgName, requireOrgAdmin, requireSiteAdmin, userByLogin } from './common.ts'

export const orgRoutes: RouteModule = (app, ctx) => {
  const { repo, auth } = ctx

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
    await requireOrgAdmin(ctx, req, org, 'changing organization settings')
    const body = objectBody(req)
    if (!isRole(body.defaultRole)) throw new HttpError(400, 'defaultRole must be one of none, reader, opener, editor, admin')
    await repo.setOrgDefaultRole(org, body.defaultRole)
    auth.invalidate()
    return { name: org, defaultRole: body.defaultRole }
  })

  app.put('/api/orgs/:org/members/:login', async (req, reply) => {
    const { org, login } = req.params as { org: string; login: string }
    setAudit(req, { action: 'org.member.set', org, target: `${org}/members/${login}` })
    await requireOrgAdmin(ctx, req, org, 'managing members')
    const body = objectBody(req)
    const role = body.role ?? 'member'
    if (role !== 'member' && role !== 'admin') throw new HttpError(400, 'an organization role is "member" or "admin"')
    await repo.setOrgMember(org, (await userByLogin(ctx, login)).id, role)
    auth.invalidate()
    return reply.code(204).send()
  })

  app.delete('/api/orgs/:org/members/:login', async (req, reply) => {
    const { org, login } = req.params as { org: string; login: string }
    setAudit(req, { action: 'org.member.remove', org, target: `${org}/members/${login}` })
    await requireOrgAdmin(ctx, req, org, 'managing members')
    if (!(await repo.removeOrgMember(org, (await userByLogin(ctx, login)).id))) throw new HttpError(404, `${login} is not a member of ${org}`)
    auth.invalidate()
    return reply.code(204).send()
  })

  app.put('/api/orgs/:org/teams/:team', async (req, reply) => {
    const { org, team } = req.params as { org: string; team: string }
    setAudit(req, { action: 'team.create', org, target: `${org}/teams/${team}` })
    await requireOrgAdmin(ctx, req, org, 'managing teams')
    checkName('project', team)
    await repo.createTeam(org, team)
    return reply.code(204).send()
  })

  app.put('/api/orgs/:org/teams/:team/members/:login', async (req, reply) => {
    const { org, team, login } = req.params as { org: string; team: string; login: string }
    setAudit(req, { action: 'team.member.add', org, target: `${org}/teams/${team}/${login}` })
    await requireOrgAdmin(ctx, req, org, 'managing teams')
    if (!(await repo.listTeams(org)).includes(team)) throw new HttpError(404, `team "${team}" not found in ${org}`)
    await repo.addTeamMember(org, team, (await userByLogin(ctx, login)).id)
    auth.invalidate()
    return reply.code(204).send()
  })

  app.delete('/api/orgs/:org/teams/:team/members/:login', async (req, reply) => {
    const { org, team, login } = req.params as { org: string; team: string; login: string }
    setAudit(req, { action: 'team.member.remove', org, target: `${org}/teams/${team}/${login}` })
    await requireOrgAdmin(ctx, req, org, 'managing teams')
    if (!(await repo.removeTeamMember(org, team, (await userByLogin(ctx, login)).id))) throw new HttpError(404, `${login} is not in team ${team}`)
    auth.invalidate()
    return reply.code(204).send()
  })
}
