/**
 * Authentication (access tokens) and authorization (roles per project / environment).
 *
 * Tokens: `esc_` + 32 random bytes (base64url). Only their sha256 is stored. A token can expire and be revoked.
 * Roles, least privilege first: none < reader < opener < editor < admin.
 *   reader  sees definitions (secrets as ciphertext), revisions, tags
 *   opener  also opens (evaluates, sees secret values) and decrypts definitions
 *   editor  also updates definitions, tags, retracts
 *   admin   also deletes and changes permissions
 * Effective role on `org/project/env` = admin for site admins and org admins; otherwise the highest of the
 * org's default role (members only, `none` unless changed), project grants and environment grants to the user or
 * to any team the user is in.
 * Both lookups are cached briefly (`cacheMs`, default 1 s) and the cache is cleared on every local change, so a
 * revocation or a permission change is immediate on the process that made it and bounded by `cacheMs` elsewhere.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Grant, Repository, Role, TokenRecord, User } from './db/repository.ts'
import { roleRank } from './db/repository.ts'

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex')
export const mintToken = (): string => 'esc_' + randomBytes(32).toString('base64url')

export interface Identity {
  user: User
  token: TokenRecord
}

export interface OrgAuthz {
  org: string
  exists: boolean
  membership: 'admin' | 'member' | undefined
  defaultRole: Role
  grants: Grant[]
  siteAdmin: boolean
}

class TtlCache<V> {
  private readonly map = new Map<string, { v: V; until: number }>()
  private readonly ttl: number
  constructor(ttl: number) {
    this.ttl = ttl
  }
  get(k: string): V | undefined {
    const e = this.map.get(k)
    if (!e) return undefined
    if (e.until < Date.now()) {
      this.map.delete(k)
      return undefined
    }
    return e.v
  }
  set(k: string, v: V) {
    if (this.ttl <= 0) return
    if (this.map.size > 50_000) this.map.clear()
    this.map.set(k, { v, until: Date.now() + this.ttl })
  }
  clear() {
    this.map.clear()
  }
}

export type AuthFailure = 'missing' | 'invalid' | 'expired' | 'revoked'

export class Auth {
  private readonly repo: Repository
  private readonly tokens: TtlCache<{ token: TokenRecord; user: User } | null>
  private readonly authz: TtlCache<OrgAuthz>
  constructor(repo: Repository, opts: { cacheMs?: number } = {}) {
    this.repo = repo
    this.tokens = new TtlCache(opts.cacheMs ?? 1000)
    this.authz = new TtlCache(opts.cacheMs ?? 1000)
  }

  /** Accepts `token X` (both clients), `Bearer X`, and a bare `X` (the SDK drops the prefix of tokens starting with "token"). */
  static tokenFromHeader(header: string | undefined): string | undefined {
    if (!header) return undefined
    const h = header.trim()
    const m = /^(token|bearer)\s+(\S+)$/i.exec(h)
    if (m) return m[2]
    if (/^\S+$/.test(h)) return h
    return undefined
  }

  /** An identity, or why not (with the token's owner when the token is known but revoked or expired, for the audit log). */
  async authenticate(header: string | undefined): Promise<Identity | { failure: AuthFailure; known?: Identity }> {
    const raw = Auth.tokenFromHeader(header)
    if (!raw) return { failure: 'missing' }
    const hash = hashToken(raw)
    let found = this.tokens.get(hash)
    if (found === undefined) {
      found = (await this.repo.findToken(hash)) ?? null
      this.tokens.set(hash, found)
    }
    if (!found) return { failure: 'invalid' }
    if (found.token.revoked) return { failure: 'revoked', known: found }
    if (found.token.expires && Date.parse(found.token.expires) <= Date.now()) return { failure: 'expired', known: found }
    return found
  }

  /** Forget cached lookups (after revocations, membership or grant changes). */
  invalidate() {
    this.tokens.clear()
    this.authz.clear()
  }

  async orgAuthz(org: string, user: User): Promise<OrgAuthz> {
    const key = `${org}\u0000${user.id}`
    const hit = this.authz.get(key)
    if (hit) return hit
    const [o, membership, grants] = await Promise.all([this.repo.getOrg(org), this.repo.orgMembership(org, user.id), this.repo.grantsForUser(org, user.id)])
    const a: OrgAuthz = { org, exists: !!o, membership, defaultRole: o?.defaultRole ?? 'none', grants, siteAdmin: user.siteAdmin }
    this.authz.set(key, a)
    return a
  }
}

/** The effective role on an environment (env given) or on a project (env undefined: project grants only). */
export function roleIn(a: OrgAuthz, project: string, env?: string): Role {
  if (a.siteAdmin || a.membership === 'admin') return 'admin'
  let role: Role = a.membership ? a.defaultRole : 'none'
  for (const g of a.grants) {
    if (g.project !== project) continue
    if (g.env !== '' && g.env !== env) continue
    if (roleRank(g.role) > roleRank(role)) role = g.role
  }
  return role
}

/** Any access at all in the org (membership, site admin, or some grant). */
export function inOrg(a: OrgAuthz): boolean {
  return a.siteAdmin || a.membership !== undefined || a.grants.some((g) => g.role !== 'none')
}

/** Counts failed authentications per client address in a sliding window; over the limit → 429. */
export class FailedAuthLimiter {
  private readonly hits = new Map<string, number[]>()
  private readonly max: number
  private readonly windowMs: number
  constructor(max: number, windowMs: number) {
    this.max = max
    this.windowMs = windowMs
  }
  private recent(ip: string): number[] {
    const cutoff = Date.now() - this.windowMs
    const list = (this.hits.get(ip) ?? []).filter((t) => t > cutoff)
    if (list.length) this.hits.set(ip, list)
    else this.hits.delete(ip)
    return list
  }
  /** seconds until the client may try again, or 0 when not blocked */
  blockedFor(ip: string): number {
    const list = this.recent(ip)
    if (list.length < this.max) return 0
    return Math.max(1, Math.ceil((list[list.length - this.max]! + this.windowMs - Date.now()) / 1000))
  }
  fail(ip: string) {
    const list = this.recent(ip)
    list.push(Date.now())
    this.hits.set(ip, list)
    if (this.hits.size > 100_000) this.hits.clear()
  }
}
