/**
 * Environment tags (`/tags`): free-form name → value labels on an environment, renamed and changed by PATCH with
 * an optional check of the current value. Paging ends with `nextToken: "0"` (what the CLI waits for).
 */
import type { RouteModule } from '../http.ts'
import { objectBody } from '../http.ts'
import { HttpError } from '../evaluator.ts'
import { checkEnvTagKey, checkEnvTagValue, envFor, q, qInt, tagJson } from './common.ts'

export const environmentTagRoutes: RouteModule = (app, ctx) => {
  const { repo } = ctx

  const envTagJson = tagJson('value')

  app.get('/api/esc/environments/:org/:project/:env/tags', async (req) => {
    const { env } = await envFor(ctx, req, 'reader', 'envtag.list')
    const after = q(req, 'after')
    const count = qInt(req, 'count', 100, 500) || 100
    const list = await repo.listEnvTags(env.id, { ...(after !== undefined && after !== '0' ? { after } : {}), count: count + 1 })
    const page = list.slice(0, count)
    const tags: Record<string, unknown> = {}
    for (const t of page) tags[t.name] = envTagJson(t)
    // The CLI stops paging only on nextToken "0".
    return { tags, nextToken: list.length > count ? page[page.length - 1]!.name : '0' }
  })

  app.post('/api/esc/environments/:org/:project/:env/tags', async (req) => {
    const body = objectBody(req)
    const { env, user } = await envFor(ctx, req, 'editor', 'envtag.create')
    const name = checkEnvTagKey(body.name)
    const value = checkEnvTagValue(body.value)
    req.audit!.detail = { tag: name }
    if (!(await repo.createEnvTag(env.id, name, value, user))) throw new HttpError(409, `tag "${name}" already exists`)
    return envTagJson((await repo.getEnvTag(env.id, name))!)
  })

  app.get('/api/esc/environments/:org/:project/:env/tags/:name', async (req) => {
    const { name } = req.params as { name: string }
    const { env } = await envFor(ctx, req, 'reader', 'envtag.read')
    req.audit!.detail = { tag: name }
    const t = await repo.getEnvTag(env.id, name)
    if (!t) throw new HttpError(404, `tag "${name}" not found`)
    return envTagJson(t)
  })

  app.patch('/api/esc/environments/:org/:project/:env/tags/:name', async (req) => {
    const { name } = req.params as { name: string }
    const body = objectBody(req)
    const { env, user } = await envFor(ctx, req, 'editor', 'envtag.update')
    req.audit!.detail = { tag: name }
    const cur = await repo.getEnvTag(env.id, name)
    if (!cur) throw new HttpError(404, `tag "${name}" not found`)
    const currentTag = (body.currentTag ?? {}) as Record<string, unknown>
    const newTag = (body.newTag ?? {}) as Record<string, unknown>
    if (typeof currentTag.value === 'string' && currentTag.value !== '' && currentTag.value !== cur.value) {
      throw new HttpError(409, `tag "${name}" has changed: its current value is not the one you expected`)
    }
    const newName = newTag.name === undefined || newTag.name === '' ? name : checkEnvTagKey(newTag.name)
    const newValue = newTag.value === undefined || newTag.value === '' ? cur.value : checkEnvTagValue(newTag.value)
    const r = await repo.updateEnvTag(env.id, name, newName, newValue, user)
    if (r === 'exists') throw new HttpError(409, `tag "${newName}" already exists`)
    if (!r) throw new HttpError(404, `tag "${name}" not found`)
    return envTagJson((await repo.getEnvTag(env.id, newName))!)
  })

  app.delete('/api/esc/environments/:org/:project/:env/tags/:name', async (req, reply) => {
    const { name } = req.params as { name: string }
    const { env } = await envFor(ctx, req, 'editor', 'envtag.delete')
    req.audit!.detail = { tag: name }
    if (!(await repo.deleteEnvTag(env.id, name))) throw new HttpError(404, `tag "${name}" not found`)
    return reply.code(204).send()
  })
}
