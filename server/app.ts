/**
 * The Envelope team server: a Fastify app speaking the Pulumi ESC HTTP API subset plus the management API for
 * users, tokens, orgs, teams, permissions, audit and keys, one route module per resource (routes/index.ts).
 *
 * Request pipeline: rate limit on failed auth → token authentication → route (sets the audit target and checks
 * the role) → one audit record per request, written before the response leaves (onSend). Bodies are read as text
 * whatever their Content-Type (the Go CLI labels YAML as JSON); routes parse them. Logs are pino JSON without
 * headers or bodies, so no token or secret value reaches them.
 */
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AuditRecord, Repository } from './db/repository.ts'
import { Auth, FailedAuthLimiter } from './auth.ts'
import type { AuthFailure } from './auth.ts'
import type { DataKeys } from './keys.ts'
import { Evaluator, HttpError } from './evaluator.ts'
import type { Ctx } from './http.ts'
import { OpenSessions } from './open-sessions.ts'
import { ROUTES } from './routes/index.ts'
import { GroupWriter } from './batcher.ts'

export interface ServerOptions {
  repo: Repository
  keys: DataKeys
  /** pino level, or false for no logs */
  logLevel?: string | false
  /** where logs go (default stdout) */
  logStream?: { write(line: string): void }
  /** max request body (bytes); default 1 MiB */
  bodyLimit?: number
  /** failed authentications per client address per window before 429 (default 20 per 60 s) */
  failedAuthLimit?: number
  failedAuthWindowMs?: number
  /** page size of the environment list (default 100) */
  pageSize?: number
  /** status of environment create/delete: '0.12' (npm @pulumi/esc-sdk 0.12.x, 200) or '0.14' (204). Default 0.12. */
  sdkCompat?: '0.12' | '0.14'
  /** token / permission lookup cache (ms), default 1000; 0 disables */
  authCacheMs?: number
  /** behind a reverse proxy / load balancer: take the client address from X-Forwarded-For (rate limit, audit) */
  trustProxy?: boolean
}

const AUTH_MESSAGES: Record<AuthFailure, string> = {
  missing: 'this request requires an access token (Authorization: token <token>)',
  invalid: 'invalid access token',
  expired: 'the access token has expired; create a new one',
  revoked: 'the access token has been revoked',
}

export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      o.logLevel === false
        ? false
        : {
            level: o.logLevel ?? 'info',
            ...(o.logStream ? { stream: o.logStream } : {}),
            redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
          },
    bodyLimit: o.bodyLimit ?? 1024 * 1024,
    // The SDK reads an open property through `/open//{id}`: collapse duplicate slashes before routing.
    routerOptions: { ignoreDuplicateSlashes: true, maxParamLength: 500 },
    genReqId: () => randomUUID(),
    trustProxy: o.trustProxy ?? false,
  })

  const auth = new Auth(o.repo, { cacheMs: o.authCacheMs ?? 1000 })
  const limiter = new FailedAuthLimiter(o.failedAuthLimit ?? 20, o.failedAuthWindowMs ?? 60_000)
  const ctx: Ctx = {
    repo: o.repo,
    keys: o.keys,
    auth,
    evaluator: new Evaluator(o.repo, o.keys),
    sessions: new OpenSessions(),
    opts: { pageSize: o.pageSize ?? 100, sdkCompat: o.sdkCompat ?? '0.12' },
  }

  // PostgreSQL: several durable batches may wait for the WAL flush together; SQLite writes are synchronous.
  const auditWriter = new GroupWriter<Omit<AuditRecord, 'id'>>((list) => o.repo.appendAudits(list), { maxInFlight: o.repo.dialect === 'postgres' ? 4 : 1 })
  // Like the local store: records of successful reads and opens do not wait for the disk flush (a database
  // crash may lose the last few of them); changes, denials and errors are fully durable before the response.
  const readAuditWriter = new GroupWriter<Omit<AuditRecord, 'id'>>((list) => o.repo.appendAudits(list, { durable: false }), {
    maxInFlight: o.repo.dialect === 'postgres' ? 2 : 1,
  })
  app.decorateRequest('identity', undefined)
  app.decorateRequest('denied', undefined)
  app.decorateRequest('audit', undefined)
  app.decorateRequest('audited', false)

  // Never choose the parser from Content-Type: every body is text, routes parse YAML/JSON themselves.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))

  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/')) return
    const blocked = limiter.blockedFor(req.ip)
    if (blocked > 0) {
      reply.header('Retry-After', String(blocked))
      throw new HttpError(429, `too many failed authentication attempts from this address; retry in ${blocked} s`)
    }
    const r = await auth.authenticate(req.headers.authorization)
    if ('failure' in r) {
      limiter.fail(req.ip)
      req.denied = r.known
      req.audit = { action: 'auth', target: req.url.split('?')[0]!, detail: { reason: r.failure } }
      throw new HttpError(401, AUTH_MESSAGES[r.failure])
    }
    req.identity = r
  })

  // One audit record per /api request, written before the response is sent.
  app.addHook('onSend', async (req, reply, payload) => {
    // The Go CLI appends this id to 5xx messages; the same id is on the request's log lines.
    reply.header('X-Pulumi-Request-ID', String(req.id))
    if (req.audited || !req.url.startsWith('/api/')) return payload
    req.audited = true
    const a = req.audit ?? { action: 'unknown', target: req.url.split('?')[0]! }
    const status = reply.statusCode
    const result = status < 400 ? 'ok' : status === 401 || status === 403 || status === 429 ? 'denied' : 'error'
    try {
      const readOnly = result === 'ok' && (req.method === 'GET' || req.method === 'HEAD' || a.action === 'env.open')
      await (readOnly ? readAuditWriter : auditWriter).add({
        time: new Date().toISOString(),
        user: (req.identity ?? req.denied)?.user.login ?? null,
        tokenId: (req.identity ?? req.denied)?.token.id ?? null,
        ip: req.ip,
        method: req.method,
        action: a.action,
        org: a.org ?? null,
        target: a.target,
        status,
        result,
        ...(a.detail ? { detail: a.detail } : {}),
      })
    } catch (err) {
      req.log.error({ err }, 'audit write failed')
      throw err
    }
    return payload
  })

  app.setErrorHandler((err: unknown, req, reply: FastifyReply) => {
    if (err instanceof HttpError) {
      if (err.status >= 500) req.log.error({ err }, 'request failed')
      return reply
        .code(err.status)
        .type('application/json')
        .send({ code: err.status, message: err.message, ...(err.extra ?? {}) })
    }
    const e = err as { statusCode?: number; message?: string; code?: string }
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      const message = e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `the request body is larger than the limit of ${o.bodyLimit ?? 1048576} bytes` : e.message
      return reply.code(e.statusCode).send({ code: e.statusCode, message })
    }
    req.log.error({ err }, 'internal error')
    return reply.code(500).send({ code: 500, message: 'internal server error' })
  })

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ code: 404, message: `no route for ${req.method} ${req.url.split('?')[0]}` })
  })

  app.get('/healthz', async () => ({ ok: true }))

  for (const routes of ROUTES) await app.register(async (scope) => routes(scope, ctx))

  // Expired open sessions are removed now and then (any process may do it).
  const sweep = setInterval(() => {
    o.repo.deleteExpiredSessions(new Date().toISOString()).catch((err: unknown) => app.log.warn({ err }, 'session sweep failed'))
  }, 60_000)
  sweep.unref()
  app.addHook('onClose', async () => clearInterval(sweep))

  return app
}
