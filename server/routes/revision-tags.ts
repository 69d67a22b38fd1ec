/**
 * Revision tags (`/versions/tags`): names for revisions. `latest` is built in (always the newest revision), listed
 * with the stored tags in name order, and can be neither created, moved nor deleted.
 */
import type { EnvRecord, RevisionRecord } from '../db/repository.ts'
import type { RouteModule } from '../http.ts'
import { objectBody } from '../http.ts'
import { HttpError, resolveVersion } from '../evaluator.ts'
import { checkRevisionTagName, envFor, q, qInt, tagJson } from './common.ts'

export const revisionTagRoutes: RouteModule = (app, ctx) => {
  const { repo } = ctx

  const revTagJson = tagJson('revision')
  const latestTag = (env: EnvRecord, creator: RevisionRecord | undefined) => ({
    name: 'latest',
    revision: env.latest,
    created: env.created,
    modified: env.modified,
    editorLogin: creator?.creatorLogin ?? '',
    editorName: creator?.creatorName ?? '',
  })

  app.get('/api/esc/environments/:org/:project/:env/versions/tags', async (req) => {
    const { env } = await envFor(ctx, req, 'reader', 'revtag.list')
    const after = q(req, 'after')
    const count = qInt(req, 'count', 500, 500) || 500
    const stored = await repo.listRevisionTags(env.id, { ...(after !== undefined ? { after } : {}), count: count + 1 })
    const all = stored.map(revTagJson)
    if (after === undefined || 'latest' > after) all.push(latestTag(env, await repo.getRevision(env.id, env.latest)))
    all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const page = all.slice(0, count)
    const more = all.length > count
    return { tags: page, nextToken: more ? page[page.length - 1]!.name : '' }
  })

  async function revisionNumberFromBody(env: EnvRecord, body: Record<string, unknown>): Promise<number> {
    const r = body.revision
    if (typeof r !== 'number' || !Number.isInteger(r)) throw new HttpError(400, 'revision must be a revision number')
    if ((await resolveVersion(repo, env, String(r))) === undefined)
      throw new HttpError(404, `revision ${r} of ${env.org}/${env.project}/${env.name} not found (unknown or retracted)`)
    return r
  }

  app.post('/api/esc/environments/:org/:project/:env/versions/tags', async (req, reply) => {
    const body = objectBody(req)
    const { env, user } = await envFor(ctx, req, 'editor', 'revtag.create')
    const name = checkRevisionTagName(body.name)
    req.audit!.detail = { tag: name }
    if (name === 'latest') throw new HttpError(409, 'the tag "latest" is built in and always points at the newest revision')
    const revision = await revisionNumberFromBody(env, body)
    if (!(await repo.createRevisionTag(env.id, name, revision, user))) throw new HttpError(409, `tag "${name}" already exists`)
    return reply.code(204).send()
  })

  app.get('/api/esc/environments/:org/:project/:env/versions/tags/:tag', async (req) => {
    const { tag } = req.params as { tag: string }
    const { env } = await envFor(ctx, req, 'reader', 'revtag.read')
    req.audit!.detail = { tag }
    if (tag === 'latest') return latestTag(env, await repo.getRevision(env.id, env.latest))
    const t = await repo.getRevisionTag(env.id, tag)
    if (!t) throw new HttpError(404, `tag "${tag}" not found`)
    return revTagJson(t)
  })

  app.patch('/api/esc/environments/:org/:project/:env/versions/tags/:tag', async (req, reply) => {
    const { tag } = req.params as { tag: string }
    const body = objectBody(req)
    const { env, user } = await envFor(ctx, req, 'editor', 'revtag.update')
    req.audit!.detail = { tag }
    if (tag === 'latest') throw new HttpError(400, 'the tag "latest" cannot be moved; it always points at the newest revision')
    if (!(await repo.getRevisionTag(env.id, tag))) throw new HttpError(404, `tag "${tag}" not found`)
    const revision = await revisionNumberFromBody(env, body)
    if (!(await repo.updateRevisionTag(env.id, tag, revision, user))) throw new HttpError(404, `tag "${tag}" not found`)
    return reply.code(204).send()
  })

  app.delete('/api/esc/environments/:org/:project/:env/versions/tags/:tag', async (req, reply) => {
    const { tag } = req.params as { tag: string }
    const { env } = await envFor(ctx, req, 'editor', 'revtag.delete')
    req.audit!.detail = { tag }
    if (tag === 'latest') throw new HttpError(400, 'the tag "latest" is built in and cannot be deleted')
    if (!(await repo.deleteRevisionTag(env.id, tag))) throw new HttpError(404, `tag "${tag}" not found`)
    return reply.code(204).send()
  })
}
