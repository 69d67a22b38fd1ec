/**
 * Access tokens: the caller's own (`/api/user/tokens`) and, for site admins, other users' (`/api/admin/users/:login/tokens`,
 * `/api/admin/tokens/:id`). A token's secret is returned once, at creation; only its sha256 is stored.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { User } from '../db/repository.ts'
import { hashToken, mintToken } from '../auth.ts'
import type { Ctx, RouteModule } from '../http.ts'
import { objectBody, setAudit, who } from '../http.ts'
import { HttpError } from '../evaluator.ts'
import { requireSiteAdmin, userByLogin } from './common.ts'

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

export const tokenRoutes: RouteModule = (app, ctx) => {
  const { repo, auth } = ctx

  const tokenJson = (t: { id: string; description: string; created: string; expires: string | null; revoked: string | null }) => ({
    id: t.id,
    description: t.description,
    created: t.created,
    ...(t.expires ? { expires: t.expires } : {}),
    ...(t.revoked ? { revoked: t.revoked } : {}),
  })
  /** Issues a token for `user` from the body's description and expiry: 201 with the secret, shown this once. */
  const createToken = async (req: FastifyRequest, reply: FastifyReply, user: User) => {
    const o = tokenOpts(objectBody(req))
    const t = await issueToken(ctx, user, o.description, o.expires)
    req.audit!.detail = { token: t.id }
    return reply.code(201).send(t)
  }

  app.get('/api/user/tokens', async (req) => {
    setAudit(req, { action: 'token.list', target: 'user/tokens' })
    return { tokens: (await repo.listTokens(who(req).user.id)).map(tokenJson) }
  })

  app.post('/api/user/tokens', async (req, reply) => {
    setAudit(req, { action: 'token.create', target: 'user/tokens' })
    const { user } = who(req)
    return createToken(req, reply, user)
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

  app.post('/api/admin/users/:login/tokens', async (req, reply) => {
    const { login } = req.params as { login: string }
    setAudit(req, { action: 'token.create', target: `user/${login}/tokens` })
    requireSiteAdmin(req, 'creating tokens for other users')
    return createToken(req, reply, await userByLogin(ctx, login))
  })

  app.get('/api/admin/users/:login/tokens', async (req) => {
    const { login } = req.params as { login: string }
    setAudit(req, { action: 'token.list', target: `user/${login}/tokens` })
    requireSiteAdmin(req, 'listing tokens of other users')
    return { tokens: (await repo.listTokens((await userByLogin(ctx, login)).id)).map(tokenJson) }
  })

  app.delete('/api/admin/tokens/:id', async (req, reply) => {
    const { id } = req.params as { id: string }
    setAudit(req, { action: 'token.revoke', target: `token/${id}` })
    requireSiteAdmin(req, 'revoking tokens of other users')
    if (!(await repo.revokeToken(id, new Date().toISOString()))) throw new HttpError(404, `token ${id} not found or already revoked`)
    auth.invalidate()
    return reply.code(204).send()
  })
}
