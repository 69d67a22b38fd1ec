/**
 * Site administration: users (create, list) and the re-wrap of every data key under the current KEK
 * (`/api/admin/keys/rewrap`, after a KEK rotation).
 */
import type { RouteModule } from '../http.ts'
import { objectBody, setAudit } from '../http.ts'
import { HttpError } from '../evaluator.ts'
import { requireSiteAdmin } from './common.ts'

const LOGIN_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

export const userAdminRoutes: RouteModule = (app, ctx) => {
  const { repo } = ctx

  app.post('/api/admin/users', async (req, reply) => {
    const body = objectBody(req)
    setAudit(req, { action: 'user.create', target: `user/${String(body.login ?? '')}` })
    requireSiteAdmin(req, 'creating users')
    if (typeof body.login !== 'string' || !LOGIN_RE.test(body.login))
      throw new HttpError(400, `invalid login ${JSON.stringify(body.login)}: 1-63 letters, digits, '.', '_' or '-'`)
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

  app.post('/api/admin/keys/rewrap', async (req) => {
    setAudit(req, { action: 'key.rotate', target: 'keys' })
    requireSiteAdmin(req, 're-wrapping data keys')
    const r = await ctx.keys.rewrapAll(repo)
    req.audit!.detail = { ...r, kek: ctx.keys.keyRing.current.id }
    return { ...r, kekId: ctx.keys.keyRing.current.id }
  })
}
