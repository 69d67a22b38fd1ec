/**
 * Environment settings (`/settings`): deletion protection. Readers see them, admins change them.
 */
import type { RouteModule } from '../http.ts'
import { objectBody } from '../http.ts'
import { HttpError } from '../evaluator.ts'
import { envFor } from './common.ts'

export const settingsRoutes: RouteModule = (app, ctx) => {
  const { repo } = ctx

  app.get('/api/esc/environments/:org/:project/:env/settings', async (req) => {
    const { env } = await envFor(ctx, req, 'reader', 'env.settings.read')
    return { deletionProtected: env.deletionProtected }
  })
  app.patch('/api/esc/environments/:org/:project/:env/settings', async (req, reply) => {
    const { env } = await envFor(ctx, req, 'admin', 'env.settings.update')
    const body = objectBody(req)
    if (body.deletionProtected !== undefined) {
      if (typeof body.deletionProtected !== 'boolean') throw new HttpError(400, 'deletionProtected must be true or false')
      await repo.setDeletionProtected(env.id, body.deletionProtected)
    }
    return reply.code(204).send()
  })
}
