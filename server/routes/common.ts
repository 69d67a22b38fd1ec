/**
 * What the route modules share, written once: the name rules, query-parameter parsing, the ETag of a revision,
 * the role checks (environment, org admin, site admin) with their 403 texts, the environment and revision
 * lookups every environment route starts with, and the definition response.
 *
 * Order of checks everywhere: set the audit target, check the role, then look the thing up, so a caller without
 * the role learns nothing about what exists (403 before 404).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { JsonValue } from '../../shared/esc/host.ts'
import type { EnvRecord, RevisionRecord, Role, TagRecord, User } from '../db/repository.ts'
import { roleRank } from '../db/repository.ts'
import type { OrgAuthz } from '../auth.ts'
import { roleIn } from '../auth.ts'
import type { Ctx } from '../http.ts'
import { setAudit, who } from '../http.ts'
import { HttpError, resolveVersion } from '../evaluator.ts'
import { envTagKeyError, envTagValueError, nameError, orgNameError, tagNameError, type NameKind } from '../../shared/domain/names.ts'

// ---------------------------------------------------------------- names
// The rules are the domain's (shared/domain/names.ts), the same for the local store, the app and the server;
// here they only become 400 answers.
const valid = (error: string | undefined): void => {
  if (error !== undefined) throw new HttpError(400, error)
}
export function checkOrgName(org: string): void {
  valid(orgNameError(org))
}
export function checkName(kind: NameKind, name: unknown): string {
  valid(nameError(kind, name))
  return name as string
}
/** A revision tag name: not starting with a digit (a version is a tag name or a revision number). */
export function checkRevisionTagName(name: unknown): string {
  valid(tagNameError(name))
  return name as string
}
/** An environment tag's key. */
export function checkEnvTagKey(name: unknown): string {
  valid(envTagKeyError(name))
  return name as string
}
/** An environment tag's value. */
export function checkEnvTagValue(value: unknown): string {
  valid(envTagValueError(value))
  return value as string
}

// ---------------------------------------------------------------- query parameters
/** Empty query values mean "unset" (the Go CLI sends `after=` and `before=`). */
export function q(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name]
  const s = Array.isArray(v) ? v[0] : v
  return typeof s === 'string' && s !== '' ? s : undefined
}
export function qInt(req: FastifyRequest, name: string, def: number, max: number): number {
  const s = q(req, name)
  if (s === undefined) return def
  if (!/^[0-9]+$/.test(s)) throw new HttpError(400, `query parameter ${name} must be a non-negative integer, got "${s}"`)
  return Math.min(Number(s), max)
}

// ---------------------------------------------------------------- ETag
/** `ETag` of a revision: opaque, bound to the environment instance so a recreated environment never matches. */
export const etagOf = (env: EnvRecord, rev: number) => `"${env.id.slice(0, 8)}-${rev}"`
/** An `ETag`/`If-Match` value without its quotes and weak prefix. */
export const normEtag = (v: string) => v.trim().replace(/^W\//, '').replace(/^"|"$/g, '')

// ---------------------------------------------------------------- access
const ACTION_TEXT: Record<string, string> = {
  reader: 'reading',
  opener: 'opening or decrypting',
  editor: 'changing',
  admin: 'deleting or administering',
}

/** "no role" / "the editor role", for 403 messages. */
export const roleText = (role: Role) => (role === 'none' ? 'no role' : 'the ' + role + ' role')

/** Throws the 403 of an environment route when `role` is below `need` on `path` (org/project/env). */
export function requireEnvRole(user: User, role: Role, need: Role, path: string) {
  if (roleRank(role) < roleRank(need)) {
    throw new HttpError(403, `forbidden: ${ACTION_TEXT[need]} ${path} requires the ${need} role; ${user.login} has ${roleText(role)} there`)
  }
}

/** The caller, when a site administrator; else 403 saying `what` needs one. */
export function requireSiteAdmin(req: FastifyRequest, what: string): User {
  const { user } = who(req)
  if (!user.siteAdmin) throw new HttpError(403, `forbidden: ${what} requires a site administrator; ${user.login} is not one`)
  return user
}

/** The caller, when an admin of `org` (or a site admin); else 403 saying `what` needs it. 404 for an unknown org. */
export async function requireOrgAdmin(ctx: Ctx, req: FastifyRequest, org: string, what: string): Promise<User> {
  const { user } = who(req)
  const a = await ctx.auth.orgAuthz(org, user)
  if (!(a.siteAdmin || a.membership === 'admin'))
    throw new HttpError(403, `forbidden: ${what} requires the admin role in organization ${org}; ${user.login} does not have it`)
  if (!a.exists) throw new HttpError(404, `organization "${org}" not found`)
  return user
}

/** The user with this login, or 404. */
export async function userByLogin(ctx: Ctx, login: string): Promise<User> {
  const u = await ctx.repo.getUserByLogin(login)
  if (!u) throw new HttpError(404, `user "${login}" not found`)
  return u
}

// ---------------------------------------------------------------- environments
/** `org/project/env[@version]`: the audit target of an environment route. */
const target = (p: Record<string, string>, version?: string) => `${p.org}/${p.project}/${p.env}${version ? '@' + version : ''}`

/**
 * The environment of the route (`:org/:project/:env`) after checking the caller's role (403 before 404: no
 * existence leak). Sets the audit record's action and target first. `alsoLatestOf` fetches the latest revision
 * of those environments in the same round trip (imports of an open).
 */
export async function envFor(
  ctx: Ctx,
  req: FastifyRequest,
  need: Role,
  action: string,
  opts: { version?: string; alsoLatestOf?: string[] } = {},
): Promise<{ env: EnvRecord; authz: OrgAuthz; user: User; role: Role; latest: Map<string, number> }> {
  const { repo, auth } = ctx
  const p = req.params as Record<string, string>
  setAudit(req, { action, org: p.org, target: target(p, opts.version) })
  const { user } = who(req)
  const authz = await auth.orgAuthz(p.org!, user)
  const role = roleIn(authz, p.project!, p.env!)
  requireEnvRole(user, role, need, `${p.org}/${p.project}/${p.env}`)
  if (!authz.exists) throw new HttpError(404, `organization "${p.org}" not found`)
  const { env, latest } = opts.alsoLatestOf?.length
    ? await repo.getEnvironmentAnd(p.org!, p.project!, p.env!, opts.alsoLatestOf)
    : { env: await repo.getEnvironment(p.org!, p.project!, p.env!), latest: new Map<string, number>() }
  if (!env) throw new HttpError(404, `environment ${p.org}/${p.project}/${p.env} not found`)
  return { env, authz, user, role, latest }
}

/** The revision a version (number, tag, `latest`, undefined = latest) names; 404 when unknown or retracted. */
export async function revisionFor(ctx: Ctx, env: EnvRecord, version: string | undefined): Promise<RevisionRecord> {
  const n = await resolveVersion(ctx.repo, env, version)
  const rev = n === undefined ? undefined : await ctx.repo.getRevision(env.id, n)
  if (!rev) throw new HttpError(404, `revision ${version} of ${env.org}/${env.project}/${env.name} not found (unknown or retracted)`)
  return rev
}

/** A definition as YAML, with the `ETag` and `Pulumi-ESC-Revision` of its revision. */
export function sendDefinition(reply: FastifyReply, env: EnvRecord, rev: RevisionRecord, yaml: string) {
  reply.header('ETag', etagOf(env, rev.number)).header('Pulumi-ESC-Revision', String(rev.number)).type('application/x-yaml')
  return reply.send(yaml)
}

/** The `context` an environment is evaluated in (`${context.pulumi.user.id}` …). */
export const contextFor = (env: EnvRecord, user: User): Record<string, JsonValue> => ({
  pulumi: { user: { id: user.login }, organization: { login: env.org } },
  rootEnvironment: { name: `${env.project}/${env.name}` },
  currentEnvironment: { name: `${env.project}/${env.name}` },
})

/** A tag as the API shows it (revision tags carry `revision`, environment tags `value`): no other stored field. */
export const tagJson =
  <K extends 'revision' | 'value'>(key: K) =>
  (t: TagRecord & Record<K, string | number>) => ({
    name: t.name,
    [key]: t[key],
    created: t.created,
    modified: t.modified,
    editorLogin: t.editorLogin,
    editorName: t.editorName,
  })
