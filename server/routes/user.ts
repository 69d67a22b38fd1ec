/**
 * The caller (`/api/user`, `/api/user/organizations/default`), in the shapes the `esc` CLI's login manager reads.
 */
import type { RouteModule } from '../http.ts'
import { setAudit, who } from '../http.ts'
import { HttpError } from '../evaluator.ts'

export const userRoutes: RouteModule = (app, ctx) => {
  const { repo } = ctx

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
}
