/**
 * Revisions of an environment (`/versions`): the list (paging with `before` as the CLI expects, each with its
 * tags) and retraction (the revision is gone for reads and opens; its tags move to the replacement).
 */
import type { RouteModule } from '../http.ts'
import { objectBody } from '../http.ts'
import { HttpError, resolveVersion } from '../evaluator.ts'
import { envFor, qInt, revisionFor } from './common.ts'

export const revisionRoutes: RouteModule = (app, ctx) => {
  const { repo } = ctx

  app.get('/api/esc/environments/:org/:project/:env/versions', async (req) => {
    const { env } = await envFor(ctx, req, 'reader', 'revision.list')
    const beforeRaw = qInt(req, 'before', 0, Number.MAX_SAFE_INTEGER)
    const count = qInt(req, 'count', 500, 500)
    const revs = await repo.listRevisions(env.id, { ...(beforeRaw > 0 ? { before: beforeRaw } : {}), count })
    const tags = await repo.listRevisionTags(env.id, { count: 10_000 })
    return revs.map((r) => ({
      number: r.number,
      created: r.created,
      creatorLogin: r.creatorLogin,
      creatorName: r.creatorName,
      tags: [...(r.number === env.latest ? ['latest'] : []), ...tags.filter((t) => t.revision === r.number).map((t) => t.name)],
      ...(r.retracted
        ? {
            retracted: {
              replacement: r.retracted.replacement,
              at: r.retracted.at,
              byLogin: r.retracted.by,
              byName: r.retracted.by,
              reason: r.retracted.reason,
            },
          }
        : {}),
    }))
  })

  app.post('/api/esc/environments/:org/:project/:env/versions/:version/retract', async (req, reply) => {
    const { version } = req.params as { version: string }
    const { env, user } = await envFor(ctx, req, 'editor', 'revision.retract', { version })
    const rev = await revisionFor(ctx, env, version)
    if (rev.number === env.latest)
      throw new HttpError(400, `revision ${rev.number} is the latest revision and cannot be retracted; update the environment first`)
    const body = objectBody(req)
    let replacement: number | undefined
    if (body.replacement !== undefined && body.replacement !== null) {
      if (typeof body.replacement !== 'number' || !Number.isInteger(body.replacement)) throw new HttpError(400, 'replacement must be a revision number')
      replacement = body.replacement
      const r = replacement === rev.number ? undefined : await resolveVersion(repo, env, String(replacement))
      if (r === undefined) throw new HttpError(400, `replacement revision ${replacement} does not exist, is retracted, or is the retracted revision itself`)
    } else {
      for (let n = rev.number - 1; n >= 1 && replacement === undefined; n--) {
        const r = await repo.getRevision(env.id, n)
        if (r && !r.retracted) replacement = n
      }
      if (replacement === undefined) replacement = env.latest
    }
    const reason = typeof body.reason === 'string' ? body.reason : ''
    await repo.retractRevision(env.id, rev.number, { replacement, by: user.login, reason, at: new Date().toISOString() })
    req.audit!.detail = { revision: rev.number, replacement }
    return reply.code(204).send()
  })
}
