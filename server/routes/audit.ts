/**
 * The audit log: one org's (org admins, filtered by target and user) or the whole server's (site admins), paged
 * by record id.
 */
import type { AuditRecord } from '../db/repository.ts'
import type { RouteModule } from '../http.ts'
import { setAudit } from '../http.ts'
import { HttpError } from '../evaluator.ts'
import { requireOrgAdmin, requireSiteAdmin } from './common.ts'

/** `limit` (default 1000, at most 5000) from the query. */
const limitOf = (qs: Record<string, string | undefined>) => Math.min(Number(qs.limit ?? 1000) || 1000, 5000)
/** A page of records; the next page starts after the last id when this one is full. */
const page = (events: AuditRecord[], limit: number) => ({ events, nextToken: events.length === limit ? String(events[events.length - 1]!.id) : '' })

export const auditRoutes: RouteModule = (app, ctx) => {
  const { repo } = ctx

  app.get('/api/orgs/:org/audit', async (req) => {
    const { org } = req.params as { org: string }
    setAudit(req, { action: 'audit.query', org, target: org })
    await requireOrgAdmin(ctx, req, org, 'reading the audit log')
    const qs = req.query as Record<string, string | undefined>
    const after = qs.after ? Number(qs.after) : undefined
    if (after !== undefined && !Number.isInteger(after)) throw new HttpError(400, 'after must be an audit record id')
    const limit = limitOf(qs)
    const events = await repo.queryAudit({
      org,
      ...(qs.target ? { target: qs.target } : {}),
      ...(qs.user ? { user: qs.user } : {}),
      ...(after !== undefined ? { afterId: after } : {}),
      limit,
    })
    return page(events, limit)
  })

  app.get('/api/admin/audit', async (req) => {
    setAudit(req, { action: 'audit.query', target: '*' })
    requireSiteAdmin(req, 'reading the whole audit log')
    const qs = req.query as Record<string, string | undefined>
    const after = qs.after ? Number(qs.after) : undefined
    const limit = limitOf(qs)
    const events = await repo.queryAudit({
      ...(after !== undefined && Number.isInteger(after) ? { afterId: after } : {}),
      limit,
      ...(qs.user ? { user: qs.user } : {}),
    })
    return page(events, limit)
  })
}
