/**
 * What every route module and the app share: the per-server context, the request's identity and audit target
 * (as Fastify request decorations), and the JSON/YAML object-body parser. A module of its own so that app.ts
 * imports the routes and the routes import this, never app.ts (no import cycle).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { parse as parseYaml } from 'yaml'
import type { Repository } from './db/repository.ts'
import type { Auth, Identity } from './auth.ts'
import type { DataKeys } from './keys.ts'
import type { Evaluator } from './evaluator.ts'
import { HttpError } from './evaluator.ts'
import type { OpenSessions } from './open-sessions.ts'

/** The audit target a route sets before it checks access, so a denial is recorded against the right thing. */
export interface AuditInfo {
  action: string
  org?: string
  target: string
  detail?: Record<string, unknown>
}

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity | undefined
    /** owner of a revoked or expired token (audit only; never authorises anything) */
    denied: Identity | undefined
    audit: AuditInfo | undefined
    audited: boolean
  }
}

/** One per server: the stores, the key service, the auth and evaluation caches, and the API options. */
export interface Ctx {
  repo: Repository
  keys: DataKeys
  auth: Auth
  evaluator: Evaluator
  /** open sessions created on this process (the database holds them all; this is the fast path) */
  sessions: OpenSessions
  opts: { pageSize: number; sdkCompat: '0.12' | '0.14' }
}

/** A route module: registers the routes of one resource. */
export type RouteModule = (app: FastifyInstance, ctx: Ctx) => void

/** The authenticated identity (every /api route requires one). */
export function who(req: FastifyRequest): Identity {
  if (!req.identity) throw new HttpError(401, 'this request requires an access token (Authorization: token <token>)')
  return req.identity
}

export function setAudit(req: FastifyRequest, a: AuditInfo) {
  req.audit = a
}

/** Parses a JSON (or YAML) object body with a clear error. */
export function objectBody(req: FastifyRequest): Record<string, unknown> {
  const text = typeof req.body === 'string' ? req.body : ''
  if (text.trim() === '') return {}
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    try {
      v = parseYaml(text)
    } catch (err) {
      throw new HttpError(400, `the request body is not valid JSON: ${(err as Error).message}`)
    }
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'the request body must be a JSON object')
  return v as Record<string, unknown>
}
