/**
 * Permissions (an Envelope extension to the ESC API): role grants to users or teams, on one environment
 * (`/api/esc/environments/:org/:project/:env/permissions`) or on a whole project
 * (`/api/orgs/:org/projects/:project/permissions`). Only admins of the environment or project see and change
 * them; role `none` removes a grant.
 */
import type { FastifyRequest } from 'fastify'
import type { Grant, Role } from '../db/repository.ts'
import type { Ctx, RouteModule } from '../http.ts'
import { objectBody, setAudit, who } from '../http.ts'
import { roleIn } from '../auth.ts'
import { HttpError } from '../evaluator.ts'
import { checkName, envFor, roleText } from './common.ts'

/** The grants on a project (env undefined) or one environment, with user ids shown as logins. */
export async function permissionsJson(ctx: Ctx, org: string, project: string, env?: string) {
  const grants = await ctx.repo.listGrants(org, project, env ?? '')
  const out: { user?: string; team?: string; role: Role }[] = []
  for (const g of grants) {
    if (g.subjectKind === 'team') out.push({ team: g.subject, role: g.role })
    else out.push({ user: (await ctx.repo.loginOf(g.subject)) ?? g.subject, role: g.role })
  }
  return out
}

/** `{user: login | team: name, role}` → a grant subject. */
export async function grantFromBody(ctx: Ctx, org: string, body: Record<string, unknown>) {
  const role = body.role
  if (typeof role !== 'string' || !['none', 'reader', 'opener', 'editor', 'admin'].includes(role)) {
    throw new HttpError(400, 'role must be one of none, reader, opener, editor, admin')
  }
  if (typeof body.user === 'string') {
    const u = await ctx.repo.getUserByLogin(body.user)
    if (!u) throw new HttpError(404, `user "${body.user}" not found`)
    return { subjectKind: 'user' as const, subject: u.id, name: u.login, role: role as Role }
  }
  if (typeof body.team === 'string') {
    const teams = await ctx.repo.listTeams(org)
    if (!teams.includes(body.team)) throw new HttpError(404, `team "${body.team}" not found in ${org}`)
    return { subjectKind: 'team' as const, subject: body.team, name: body.team, role: role as Role }
  }
  throw new HttpError(400, 'give either "user" (a login) or "team" (a team name)')
}

/** Sets (or, for role `none`, removes) the grant the body names on `scope`, audits it, and drops cached authz. */
async function applyGrant(ctx: Ctx, req: FastifyRequest, scope: Pick<Grant, 'org' | 'project' | 'env'>, body: Record<string, unknown>) {
  const g = await grantFromBody(ctx, scope.org, body)
  req.audit!.detail = { [g.subjectKind]: g.name, role: g.role }
  if (g.role === 'none') await ctx.repo.removeGrant({ ...scope, subjectKind: g.subjectKind, subject: g.subject })
  else await ctx.repo.setGrant({ ...scope, subjectKind: g.subjectKind, subject: g.subject, role: g.role })
  ctx.auth.invalidate()
}

export const permissionRoutes: RouteModule = (app, ctx) => {
  // ---------------------------------------------------------------- one environment
  app.get('/api/esc/environments/:org/:project/:env/permissions', async (req) => {
    const { env } = await envFor(ctx, req, 'admin', 'permission.list')
    return { permissions: await permissionsJson(ctx, env.org, env.project, env.name) }
  })
  app.put('/api/esc/environments/:org/:project/:env/permissions', async (req, reply) => {
    const body = objectBody(req)
    const { env } = await envFor(ctx, req, 'admin', 'permission.set')
    await applyGrant(ctx, req, { org: env.org, project: env.project, env: env.name }, body)
    return reply.code(204).send()
  })

  // ---------------------------------------------------------------- a project
  const requireProjectAdmin = async (req: FastifyRequest, org: string, project: string) => {
    const { user } = who(req)
    const a = await ctx.auth.orgAuthz(org, user)
    const role = roleIn(a, project)
    if (role !== 'admin')
      throw new HttpError(
        403,
        `forbidden: managing permissions of ${org}/${project} requires the admin role on the project; ${user.login} has ${roleText(role)}`,
      )
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
    await applyGrant(ctx, req, { org, project, env: '' }, objectBody(req))
    return reply.code(204).send()
  })
}
