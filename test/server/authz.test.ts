/**
 * Authorization matrix: every role (none, reader, opener, editor, admin, plus a non-member, a revoked token and
 * an expired token) × every environment endpoint, with the expected allow/deny, and the audit check that each of
 * those requests left exactly one audit record (user, token id, target, status, result) and no secret value.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { BACKENDS, startServer } from './helpers.ts'
import type { TestServer } from './helpers.ts'
import { hashToken, mintToken } from '../../server/auth.ts'

const ORG = 'acme'
const SECRET = 'matrix-secret-value-42'
const ROLES = ['none', 'reader', 'opener', 'editor', 'admin'] as const
type Role = (typeof ROLES)[number]
const rank = (r: Role) => ROLES.indexOf(r)

interface Step {
  name: string
  need: Role
  method: string
  path: (p: string) => string
  body?: (role: string) => unknown
  /** status when allowed */
  ok: number
}

const E = (p: string) => `/api/esc/environments/${ORG}/${p}/app`

/** In order: reads first, then changes, delete last (each role works on its own project). */
const STEPS: Step[] = [
  { name: 'get definition', need: 'reader', method: 'GET', path: (p) => E(p), ok: 200 },
  { name: 'head definition', need: 'reader', method: 'HEAD', path: (p) => E(p), ok: 200 },
  { name: 'get at version', need: 'reader', method: 'GET', path: (p) => `${E(p)}/versions/2`, ok: 200 },
  { name: 'get at tag', need: 'reader', method: 'GET', path: (p) => `${E(p)}/versions/stable`, ok: 200 },
  { name: 'list revisions', need: 'reader', method: 'GET', path: (p) => `${E(p)}/versions?before=0&count=500`, ok: 200 },
  { name: 'list revision tags', need: 'reader', method: 'GET', path: (p) => `${E(p)}/versions/tags?after=&count=500`, ok: 200 },
  { name: 'get revision tag', need: 'reader', method: 'GET', path: (p) => `${E(p)}/versions/tags/stable`, ok: 200 },
  { name: 'list env tags', need: 'reader', method: 'GET', path: (p) => `${E(p)}/tags`, ok: 200 },
  { name: 'get env tag', need: 'reader', method: 'GET', path: (p) => `${E(p)}/tags/owner`, ok: 200 },
  { name: 'get settings', need: 'reader', method: 'GET', path: (p) => `${E(p)}/settings`, ok: 200 },
  { name: 'decrypt', need: 'opener', method: 'GET', path: (p) => `${E(p)}/decrypt`, ok: 200 },
  { name: 'decrypt at version', need: 'opener', method: 'GET', path: (p) => `${E(p)}/versions/2/decrypt`, ok: 200 },
  { name: 'open', need: 'opener', method: 'POST', path: (p) => `${E(p)}/open?duration=2h0m0s`, ok: 200 },
  { name: 'open at version', need: 'opener', method: 'POST', path: (p) => `${E(p)}/versions/stable/open`, ok: 200 },
  { name: 'read open session', need: 'opener', method: 'GET', path: (p) => `${E(p)}/open/SESSION`, ok: 200 },
  { name: 'read open property', need: 'opener', method: 'GET', path: (p) => `${E(p)}/open//SESSION?property=pw`, ok: 200 },
  { name: 'update definition', need: 'editor', method: 'PATCH', path: (p) => E(p), body: () => `values:\n  pw:\n    fn::secret: ${SECRET}\n  n: 4\n`, ok: 200 },
  { name: 'create revision tag', need: 'editor', method: 'POST', path: (p) => `${E(p)}/versions/tags`, body: () => ({ name: 'mine', revision: 2 }), ok: 204 },
  { name: 'move revision tag', need: 'editor', method: 'PATCH', path: (p) => `${E(p)}/versions/tags/stable`, body: () => ({ revision: 3 }), ok: 204 },
  { name: 'delete revision tag', need: 'editor', method: 'DELETE', path: (p) => `${E(p)}/versions/tags/mine`, ok: 204 },
  { name: 'create env tag', need: 'editor', method: 'POST', path: (p) => `${E(p)}/tags`, body: () => ({ name: 'team', value: 'x' }), ok: 200 },
  {
    name: 'update env tag',
    need: 'editor',
    method: 'PATCH',
    path: (p) => `${E(p)}/tags/owner`,
    body: () => ({ currentTag: { value: 'ops' }, newTag: { name: '', value: 'dev' } }),
    ok: 200,
  },
  { name: 'delete env tag', need: 'editor', method: 'DELETE', path: (p) => `${E(p)}/tags/team`, ok: 204 },
  { name: 'retract revision', need: 'editor', method: 'POST', path: (p) => `${E(p)}/versions/1/retract`, body: () => ({ reason: 'test' }), ok: 204 },
  {
    name: 'create environment',
    need: 'editor',
    method: 'POST',
    path: () => `/api/esc/environments/${ORG}`,
    body: () => ({ project: 'PROJECT', name: 'created' }),
    ok: 200,
  },
  { name: 'clone environment', need: 'editor', method: 'POST', path: (p) => `${E(p)}/clone`, body: () => ({ name: 'cloned' }), ok: 204 },
  { name: 'list permissions', need: 'admin', method: 'GET', path: (p) => `${E(p)}/permissions`, ok: 200 },
  { name: 'set permissions', need: 'admin', method: 'PUT', path: (p) => `${E(p)}/permissions`, body: () => ({ user: 'root', role: 'admin' }), ok: 204 },
  { name: 'update settings', need: 'admin', method: 'PATCH', path: (p) => `${E(p)}/settings`, body: () => ({ deletionProtected: false }), ok: 204 },
  { name: 'delete environment', need: 'admin', method: 'DELETE', path: (p) => E(p), ok: 200 },
]

for (const backend of BACKENDS) {
  describe(`authorization matrix and audit (${backend})`, () => {
    let s: TestServer
    const tokens: Record<string, string> = {}
    const adminSessions: Record<string, string> = {}
    let auditCursor = 0

    /** exactly one new audit record since the cursor, returned */
    const oneNewAudit = async () => {
      const recs = await s.repo.queryAudit({ afterId: auditCursor, limit: 100 })
      if (recs.length) auditCursor = recs[recs.length - 1]!.id
      return recs
    }

    before(async () => {
      s = await startServer(backend, { org: ORG, failedAuthLimit: 10_000, authCacheMs: 0 })
      const a = s.adminToken
      // one project per role, each with env `app` at 3 revisions, tags `stable` (rev 2) and `owner`
      for (const role of [...ROLES, 'outsider', 'revoked', 'expired']) {
        const p = `p-${role}`
        assert.equal((await s.call(a, 'POST', `/api/esc/environments/${ORG}`, { project: p, name: 'app' })).status, 200)
        for (const n of [2, 3]) {
          const r = await s.call(a, 'PATCH', E(p), `values:\n  pw:\n    fn::secret: ${SECRET}\n  n: ${n}\n`)
          assert.equal(r.status, 200, r.text)
        }
        assert.equal((await s.call(a, 'POST', `${E(p)}/versions/tags`, { name: 'stable', revision: 2 })).status, 204)
        assert.equal((await s.call(a, 'POST', `${E(p)}/tags`, { name: 'owner', value: 'ops' })).status, 200)
        const open = await s.call(a, 'POST', `${E(p)}/open`)
        assert.equal(open.status, 200, open.text)
        adminSessions[role] = (open.body as { id: string }).id
      }
      for (const role of ROLES) {
        tokens[role] = await s.user(`u-${role}`, { org: ORG })
        if (role !== 'none') {
          const r = await s.call(a, 'PUT', `/api/orgs/${ORG}/projects/p-${role}/permissions`, { user: `u-${role}`, role })
          assert.equal(r.status, 204, r.text)
        }
      }
      tokens.outsider = await s.user('u-outsider')
      tokens.revoked = await s.user('u-revoked', { org: ORG })
      const list = await s.call(tokens.revoked, 'GET', '/api/user/tokens')
      const id = (list.body as { tokens: { id: string }[] }).tokens[0]!.id
      assert.equal((await s.call(tokens.revoked, 'DELETE', `/api/user/tokens/${id}`)).status, 204)
      // an expired token for an org admin: expiry must win over any role
      const adminUser = await s.repo.getUserByLogin('root')
      tokens.expired = mintToken()
      await s.repo.createToken(adminUser!.id, hashToken(tokens.expired), { description: 'expired', expires: new Date(Date.now() - 1000).toISOString() })
      const all = await s.repo.queryAudit({ limit: 100_000 })
      auditCursor = all.length ? all[all.length - 1]!.id : 0
    })
    after(() => s.close())

    for (const who of [...ROLES, 'outsider', 'revoked', 'expired'] as const) {
      it(`${who}: every endpoint allows or denies as the role says, with one audit record each`, async () => {
        const p = `p-${who}`
        let session = adminSessions[who]!
        const rows: string[] = []
        for (const step of STEPS) {
          const path = step.path(p).replace('SESSION', session)
          const body = step.body?.(who)
          const finalBody = typeof body === 'object' && body && 'project' in body ? { ...body, project: p } : body
          const r = await s.call(tokens[who], step.method, path, finalBody)
          let expected: number
          if (who === 'revoked' || who === 'expired') expected = 401
          else if (who === 'outsider') expected = 403
          else expected = rank(who) >= rank(step.need) ? step.ok : 403
          rows.push(`${step.name}: ${r.status}`)
          assert.equal(r.status, expected, `${who} → ${step.name} (${step.method} ${path}): expected ${expected}, got ${r.status} ${r.text}`)
          if (expected === 403 && step.method !== 'HEAD')
            assert.match((r.body as { message: string }).message, /^forbidden: .* requires the \w+ role/, 'a 403 says what role is needed')
          if (expected === 401 && step.method !== 'HEAD') assert.match((r.body as { message: string }).message, who === 'revoked' ? /revoked/ : /expired/)
          if (step.name === 'open' && expected === 200) session = (r.body as { id: string }).id

          const recs = await oneNewAudit()
          assert.equal(recs.length, 1, `${who} → ${step.name}: exactly one audit record, got ${recs.length}`)
          const rec = recs[0]!
          assert.equal(rec.method, step.method)
          assert.equal(rec.status, r.status)
          assert.equal(rec.result, r.status < 400 ? 'ok' : r.status === 401 || r.status === 403 ? 'denied' : 'error')
          assert.equal(rec.user, who === 'expired' ? 'root' : `u-${who}`, 'the audit names the user, even for revoked and expired tokens')
          assert.ok(rec.tokenId, 'the audit names the token id')
          if (who !== 'revoked' && who !== 'expired') {
            const want = step.name === 'create environment' ? `${ORG}/${p}/created` : `${ORG}/${p}/app`
            assert.ok(rec.target.startsWith(want), `${step.name}: audit target ${rec.target} names ${want}`)
          }
          assert.ok(!JSON.stringify(rec).includes(SECRET), 'no secret value in the audit log')
        }
      })
    }

    it('lists only environments the caller may read, and lets admins query the audit log', async () => {
      const names = async (tok: string) =>
        ((await s.call(tok, 'GET', `/api/esc/environments/${ORG}`)).body as { environments: { project: string }[] }).environments.map((e) => e.project)
      assert.ok(!(await names(tokens.none!)).includes('p-none'))
      assert.ok((await names(tokens.reader!)).includes('p-reader'))
      assert.ok(!(await names(tokens.reader!)).includes('p-opener'))
      assert.equal((await s.call(tokens.outsider, 'GET', `/api/esc/environments/${ORG}`)).status, 200)
      assert.deepEqual(await names(tokens.outsider!), [])
      const denied = await s.call(tokens.editor, 'GET', `/api/orgs/${ORG}/audit`)
      assert.equal(denied.status, 403)
      const log = await s.call(s.adminToken, 'GET', `/api/orgs/${ORG}/audit?limit=5000`)
      assert.equal(log.status, 200)
      const events = (log.body as { events: { action: string; result: string; user: string }[] }).events
      assert.ok(events.some((e) => e.action === 'env.open' && e.result === 'ok' && e.user === 'u-opener'))
      assert.ok(events.some((e) => e.action === 'env.decrypt' && e.result === 'denied' && e.user === 'u-reader'))
      assert.ok(!JSON.stringify(events).includes(SECRET))
    })

    it('grants through teams and environment-level grants, and the org default role', async () => {
      const a = s.adminToken
      const t = await s.user('u-team', { org: ORG })
      assert.equal((await s.call(t, 'POST', `${E('p-reader')}/open`)).status, 403)
      assert.equal((await s.call(a, 'PUT', `/api/orgs/${ORG}/teams/ops`)).status, 204)
      assert.equal((await s.call(a, 'PUT', `/api/orgs/${ORG}/teams/ops/members/u-team`)).status, 204)
      assert.equal((await s.call(a, 'PUT', `${E('p-reader')}/permissions`, { team: 'ops', role: 'opener' })).status, 204)
      assert.equal((await s.call(t, 'POST', `${E('p-reader')}/open`)).status, 200)
      assert.equal((await s.call(t, 'PATCH', E('p-reader'), 'values: {}\n')).status, 403)
      // env-level grants do not spill over to other environments of the project
      await s.call(a, 'POST', `/api/esc/environments/${ORG}`, { project: 'p-reader', name: 'other' })
      assert.equal((await s.call(t, 'GET', `/api/esc/environments/${ORG}/p-reader/other`)).status, 403)
      // org default role applies to members only
      assert.equal((await s.call(a, 'PATCH', `/api/orgs/${ORG}`, { defaultRole: 'reader' })).status, 200)
      assert.equal((await s.call(t, 'GET', `/api/esc/environments/${ORG}/p-reader/other`)).status, 200)
      assert.equal((await s.call(tokens.outsider, 'GET', `/api/esc/environments/${ORG}/p-reader/other`)).status, 403)
      assert.equal((await s.call(a, 'PATCH', `/api/orgs/${ORG}`, { defaultRole: 'none' })).status, 200)
      assert.equal((await s.call(t, 'GET', `/api/esc/environments/${ORG}/p-reader/other`)).status, 403)
    })

    it('does not let one user read another user’s open session', async () => {
      const other = adminSessions.opener!
      const r = await s.call(tokens.opener, 'GET', `${E('p-opener')}/open/${other}`)
      assert.equal(r.status, 404)
    })
  })
}
