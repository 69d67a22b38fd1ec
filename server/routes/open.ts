/**
 * Open sessions: `POST …/open` (and `…/versions/:version/open`) evaluates the environment with its secrets and
 * stores the sealed result as a session for the caller; `GET …/open/:sessionId` reads it back whole or one
 * property at a time (`?property=`). Sessions live in the database (any process serves them) and in this
 * process's memory (the fast path; the role is still checked on every read).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { EvalValue } from '../../shared/esc/host.ts'
import type { EnvRecord, SessionRecord, User } from '../db/repository.ts'
import { GroupWriter } from '../batcher.ts'
import { roleIn } from '../auth.ts'
import type { RouteModule } from '../http.ts'
import { setAudit, who } from '../http.ts'
import { HttpError, type CachedOpen, environmentJson, hasErrors, parsePropertyPath, valueAtPath, wireDiagnostics } from '../evaluator.ts'
import { contextFor, envFor, q, requireEnvRole, revisionFor } from './common.ts'

/** Go duration syntax (`2h0m0s`, `300ms`, `1.5h`) → milliseconds. */
export function parseGoDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  if (!/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) throw new HttpError(400, `invalid duration "${s}" (use Go syntax such as 2h0m0s or 30m)`)
  let ms = 0
  for (const m of s.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * units[m[2]!]!
  return ms
}

const MAX_SESSION_MS = 7 * 24 * 3_600_000

export const openRoutes: RouteModule = (app, ctx) => {
  const { repo, keys, auth, evaluator, sessions } = ctx

  const sessionWriter = new GroupWriter<SessionRecord>((list) => repo.createSessions(list), { maxInFlight: repo.dialect === 'postgres' ? 2 : 1 })

  async function open(req: FastifyRequest, version: string | undefined) {
    const p = req.params as { org: string; project: string; env: string }
    const { env, authz, user, latest } = await envFor(ctx, req, 'opener', 'env.open', {
      ...(version ? { version } : {}),
      alsoLatestOf: evaluator.importHint(p.org, p.project, p.env),
    })
    const d = q(req, 'duration')
    const ms = d === undefined ? 3_600_000 : parseGoDuration(d)
    if (ms <= 0 || ms > MAX_SESSION_MS) throw new HttpError(400, `duration must be between 1ms and ${MAX_SESSION_MS / 3_600_000}h`)
    // `latest` needs no lookup (the environment row has it); other versions resolve and must be live.
    const revision = version === undefined ? env.latest : (await revisionFor(ctx, env, version)).number
    const r = await evaluator.open({
      org: env.org,
      authz,
      env,
      revision,
      source: async () => (await revisionFor(ctx, env, String(revision))).yaml,
      context: contextFor(env, user),
      contextKey: user.login,
      knownLatest: latest,
    })
    req.audit!.detail = { revision, cached: r.cached }
    if (hasErrors(r.diagnostics)) throw new HttpError(400, 'the environment has errors', { diagnostics: wireDiagnostics(r.diagnostics) })
    const result = await storedResult(env, r)
    // Time-ordered prefix (index inserts at the end), 128 random bits (unguessable).
    const id = `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(16).toString('base64url')}`
    const expires = Date.now() + ms
    await sessionWriter.add({ id, envId: env.id, userId: user.id, revision, resultKey: result.key, expires: new Date(expires).toISOString() })
    sessions.set(id, { envId: env.id, path: `${env.org}/${env.project}/${env.name}`, userId: user.id, expires, env: result.envJson, body: result.body })
    return { id }
  }

  /** The sealed open result in the database, stored once per cached evaluation (and again every 30 minutes). */
  interface StoredResult {
    key: string
    body: string
    envJson: Record<string, unknown>
    stored: Promise<void>
    at: number
  }
  const results = new WeakMap<CachedOpen, StoredResult>()
  async function storedResult(env: EnvRecord, r: { value: Record<string, EvalValue> | undefined; entry?: CachedOpen }): Promise<StoredResult> {
    let info = r.entry ? results.get(r.entry) : undefined
    if (!info || info.at < Date.now() - 30 * 60_000) {
      const envJson = environmentJson(r.value, { reveal: true })
      const body = JSON.stringify(envJson)
      const key = randomUUID()
      const stored = keys.seal(env, body).then((sealed) => repo.createResult({ key, envId: env.id, sealed }))
      const fresh: StoredResult = { key, body, envJson, stored, at: Date.now() }
      info = fresh
      if (r.entry) {
        const entry = r.entry
        results.set(entry, fresh)
        stored.catch(() => results.get(entry) === fresh && results.delete(entry))
      }
    }
    await info.stored
    return info
  }
  app.post('/api/esc/environments/:org/:project/:env/open', (req) => open(req, undefined))
  app.post('/api/esc/environments/:org/:project/:env/versions/:version/open', (req) => open(req, (req.params as { version: string }).version))

  app.get('/api/esc/environments/:org/:project/:env/open/:sessionId', async (req, reply) => {
    const p = req.params as { org: string; project: string; env: string; sessionId: string }
    const sessionId = p.sessionId
    const property = q(req, 'property')
    const path = `${p.org}/${p.project}/${p.env}`
    let s = sessions.get(sessionId)
    let user: User
    if (s && s.path === path) {
      // Fast path: a session opened on this process; the role is still checked (cached authz), no database read.
      setAudit(req, { action: 'env.read-open', org: p.org, target: path })
      user = who(req).user
      requireEnvRole(user, roleIn(await auth.orgAuthz(p.org, user), p.project, p.env), 'opener', path)
    } else {
      const found = await envFor(ctx, req, 'opener', 'env.read-open')
      const env = found.env
      user = found.user
      s = undefined
      const rec = await repo.getSession(sessionId)
      if (rec && rec.envId === env.id) {
        const body = await keys.unseal(env, rec.sealed)
        s = { envId: rec.envId, path, userId: rec.userId, expires: Date.parse(rec.expires), env: JSON.parse(body) as Record<string, unknown>, body }
        sessions.set(sessionId, s)
      }
    }
    req.audit!.detail = { session: sessionId, ...(property ? { property } : {}) }
    if (!s || s.userId !== user.id || s.expires <= Date.now()) {
      throw new HttpError(404, `open session ${sessionId} of ${path} not found or expired`)
    }
    if (property === undefined) return reply.type('application/json').send(s.body)
    const v = valueAtPath(s.env.properties as Record<string, EvalValue> | undefined, parsePropertyPath(property))
    if (!v) throw new HttpError(404, `property ${property} not found in ${path}`)
    return v
  })
}
