/**
 * The Pulumi ESC HTTP API subset used by @pulumi/esc-sdk 0.12.4 and the `esc` CLI (Pulumi's ESC API reference):
 * environments (list, create, read by version or tag, decrypt, update with ETag check, delete, clone, check,
 * settings), open sessions (whole and by property), revisions (paging as the CLI expects), retract, revision tags,
 * environment tags. Status codes follow what the SDK insists on (esc-api.md §6.2).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { stringify as toYaml } from 'yaml'
import type { EvalValue, JsonValue } from '../../shared/esc/host.ts'
import type { EnvRecord, RevisionRecord, Role, SessionRecord, User } from '../db/repository.ts'
import { GroupWriter } from '../batcher.ts'
import { roleRank } from '../db/repository.ts'
import type { OrgAuthz } from '../auth.ts'
import { inOrg, roleIn } from '../auth.ts'
import type { Ctx } from '../app.ts'
import { objectBody, setAudit, who } from '../app.ts'
import {
  HttpError,
  type CachedOpen,
  environmentJson,
  hasErrors,
  loadCore,
  parsePropertyPath,
  resolveVersion,
  valueAtPath,
  wireDiagnostics,
} from '../evaluator.ts'

const ORG_RE = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{1,38})[A-Za-z0-9]$/
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/
const TAG_RE = /^[A-Za-z0-9_.-][A-Za-z0-9_.:/-]{0,99}$/

export function checkOrgName(org: string) {
  if (!ORG_RE.test(org)) throw new HttpError(400, `invalid organization name "${org}": 3-40 letters, digits, - or _, starting and ending with a letter or digit`)
}
export function checkName(kind: 'project' | 'environment', name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new HttpError(400, `invalid ${kind} name ${JSON.stringify(name)}: 1-100 letters, digits, '-', '_' or '.', not starting with '.'`)
  }
  return name
}

const ACTION_TEXT: Record<string, string> = {
  reader: 'reading',
  opener: 'opening or decrypting',
  editor: 'changing',
  admin: 'deleting or administering',
}

/** `ETag` of a revision: opaque, bound to the environment instance so a recreated environment never matches. */
export const etagOf = (env: EnvRecord, rev: number) => `"${env.id.slice(0, 8)}-${rev}"`
const normEtag = (v: string) => v.trim().replace(/^W\//, '').replace(/^"|"$/g, '')

/** Empty query values mean "unset" (the Go CLI sends `after=` and `before=`). */
function q(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name]
  const s = Array.isArray(v) ? v[0] : v
  return typeof s === 'string' && s !== '' ? s : undefined
}
function qInt(req: FastifyRequest, name: string, def: number, max: number): number {
  const s = q(req, name)
  if (s === undefined) return def
  if (!/^[0-9]+$/.test(s)) throw new HttpError(400, `query parameter ${name} must be a non-negative integer, got "${s}"`)
  return Math.min(Number(s), max)
}

/** Go duration syntax (`2h0m0s`, `300ms`, `1.5h`) → milliseconds. */
export function parseGoDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  if (!/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) throw new HttpError(400, `invalid duration "${s}" (use Go syntax such as 2h0m0s or 30m)`)
  let ms = 0
  for (const m of s.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * units[m[2]!]!
  return ms
}

const MAX_SESSION_MS = 7 * 24 * 3_600_000

interface MemSession {
  envId: string
  /** org/project/env */
  path: string
  userId: string
  expires: number
  env: Record<string, unknown>
  body: string
}

export async function escRoutes(app: FastifyInstance, ctx: Ctx) {
  const { repo, keys, auth, evaluator } = ctx
  const sessions = new Map<string, MemSession>()

  const target = (p: Record<string, string>, version?: string) => `${p.org}/${p.project}/${p.env}${version ? '@' + version : ''}`

  /** Loads the environment after checking the caller's role (403 before 404: no existence leak). */
  async function envFor(
    req: FastifyRequest,
    need: Role,
    action: string,
    opts: { version?: string; alsoLatestOf?: string[] } = {},
  ): Promise<{ env: EnvRecord; authz: OrgAuthz; user: User; role: Role; latest: Map<string, number> }> {
    const p = req.params as Record<string, string>
    setAudit(req, { action, org: p.org, target: target(p, opts.version) })
    const { user } = who(req)
    const authz = await auth.orgAuthz(p.org!, user)
    const role = roleIn(authz, p.project!, p.env!)
    if (roleRank(role) < roleRank(need)) {
      throw new HttpError(
        403,
        `forbidden: ${ACTION_TEXT[need]} ${p.org}/${p.project}/${p.env} requires the ${need} role; ${user.login} has ${role === 'none' ? 'no role' : 'the ' + role + ' role'} there`,
      )
    }
    if (!authz.exists) throw new HttpError(404, `organization "${p.org}" not found`)
    const { env, latest } = opts.alsoLatestOf?.length
      ? await repo.getEnvironmentAnd(p.org!, p.project!, p.env!, opts.alsoLatestOf)
      : { env: await repo.getEnvironment(p.org!, p.project!, p.env!), latest: new Map<string, number>() }
    if (!env) throw new HttpError(404, `environment ${p.org}/${p.project}/${p.env} not found`)
    return { env, authz, user, role, latest }
  }

  async function revisionFor(env: EnvRecord, version: string | undefined): Promise<RevisionRecord> {
    const n = await resolveVersion(repo, env, version)
    const rev = n === undefined ? undefined : await repo.getRevision(env.id, n)
    if (!rev) throw new HttpError(404, `revision ${version} of ${env.org}/${env.project}/${env.name} not found (unknown or retracted)`)
    return rev
  }

  function sendDefinition(reply: FastifyReply, env: EnvRecord, rev: RevisionRecord, yaml: string) {
    reply.header('ETag', etagOf(env, rev.number)).header('Pulumi-ESC-Revision', String(rev.number)).type('application/x-yaml')
    return reply.send(yaml)
  }

  const contextFor = (env: EnvRecord, user: User): Record<string, JsonValue> => ({
    pulumi: { user: { id: user.login }, organization: { login: env.org } },
    rootEnvironment: { name: `${env.project}/${env.name}` },
    currentEnvironment: { name: `${env.project}/${env.name}` },
  })

  const orgEnvJson = (e: EnvRecord) => ({ organization: e.org, project: e.project, name: e.name, created: e.created, modified: e.modified })

  // ---------------------------------------------------------------- listing
  async function listVisible(req: FastifyRequest, org: string | undefined) {
    const { user } = who(req)
    const token = q(req, 'continuationToken')
    let after: [string, string, string] | undefined
    if (token) {
      try {
        const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown
        if (!Array.isArray(t) || t.length !== 3 || !t.every((x) => typeof x === 'string')) throw new Error('shape')
        after = t as [string, string, string]
      } catch {
        throw new HttpError(400, 'invalid continuationToken')
      }
    }
    const page = ctx.opts.pageSize
    const out: EnvRecord[] = []
    const authzByOrg = new Map<string, OrgAuthz>()
    let exhausted = false
    while (out.length < page) {
      const batch = await repo.listEnvironments({ ...(org !== undefined ? { org } : {}), ...(after ? { after } : {}), limit: page * 2 })
      if (batch.length === 0) {
        exhausted = true
        break
      }
      for (const e of batch) {
        after = [e.org, e.project, e.name]
        let a = authzByOrg.get(e.org)
        if (!a) {
          a = await auth.orgAuthz(e.org, user)
          authzByOrg.set(e.org, a)
        }
        if (roleRank(roleIn(a, e.project, e.name)) >= roleRank('reader')) out.push(e)
        if (out.length === page) break
      }
      if (batch.length < page * 2 && out.length < page && after && batch[batch.length - 1]!.name === after[2]) {
        exhausted = true
        break
      }
    }
    const nextToken = exhausted || !after ? '' : Buffer.from(JSON.stringify(after)).toString('base64url')
    return { environments: out.map(orgEnvJson), nextToken }
  }

  app.get('/api/esc/environments', async (req) => {
    setAudit(req, { action: 'env.list', target: '*' })
    return listVisible(req, undefined)
  })

  app.get('/api/esc/environments/:org', async (req) => {
    const { org } = req.params as { org: string }
    setAudit(req, { action: 'env.list', org, target: org })
    const a = await auth.orgAuthz(org, who(req).user)
    if (!a.exists) throw new HttpError(404, `organization "${org}" not found`)
    return listVisible(req, org)
  })

  // ---------------------------------------------------------------- create
  app.post('/api/esc/environments/:org', async (req, reply) => {
    const { org } = req.params as { org: string }
    const body = objectBody(req)
    const project = typeof body.project === 'string' ? body.project : ''
    const name = typeof body.name === 'string' ? body.name : ''
    setAudit(req, { action: 'env.create', org, target: `${org}/${project}/${name}` })
    const { user } = who(req)
    checkName('project', body.project)
    checkName('environment', body.name)
    if (/^(open|yaml)$/.test(name)) throw new HttpError(400, `invalid environment name "${name}": "open" and "yaml" are reserved`)
    const authz = await auth.orgAuthz(org, user)
    const role = roleIn(authz, project)
    if (roleRank(role) < roleRank('editor')) {
      throw new HttpError(403, `forbidden: creating environments in ${org}/${project} requires the editor role on the project; ${user.login} has ${role === 'none' ? 'no role' : 'the ' + role + ' role'}`)
    }
    if (!authz.exists) throw new HttpError(404, `organization "${org}" not found`)
    const dk = await keys.create()
    const env = await repo.createEnvironment({ org, project, name, dataKey: dk.wrapped, kekId: dk.kekId, creator: user })
    if (!env) throw new HttpError(409, `environment ${org}/${project}/${name} already exists`)
    // The creator administers what they created, unless they already do through the org or project.
    if (roleRank(roleIn(authz, project, name)) < roleRank('admin')) {
      await repo.setGrant({ org, project, env: name, subjectKind: 'user', subject: user.id, role: 'admin' })
      auth.invalidate()
    }
    return ctx.opts.sdkCompat === '0.14' ? reply.code(204).send() : reply.code(200).send({})
  })

  // ---------------------------------------------------------------- check
  app.post('/api/esc/environments/:org/yaml/check', async (req, reply) => {
    const { org } = req.params as { org: string }
    setAudit(req, { action: 'env.check', org, target: `${org}/yaml` })
    const { user } = who(req)
    const showSecrets = q(req, 'showSecrets') === 'true'
    const authz = await auth.orgAuthz(org, user)
    if (!inOrg(authz)) throw new HttpError(403, `forbidden: checking definitions in ${org} requires membership or a role in the organization`)
    if (!authz.exists) throw new HttpError(404, `organization "${org}" not found`)
    const source = typeof req.body === 'string' ? req.body : ''
    const { result } = await evaluator.run({
      org,
      authz,
      name: 'yaml',
      source,
      mode: 'check',
      importRole: showSecrets ? 'opener' : 'reader',
      context: { pulumi: { user: { id: user.login }, organization: { login: org } } },
    })
    const body: Record<string, unknown> = { ...environmentJson(result.value, { reveal: showSecrets }) }
    if (result.diagnostics.length) body.diagnostics = wireDiagnostics(result.diagnostics)
    if (hasErrors(result.diagnostics)) return reply.code(400).send({ code: 400, message: 'the definition has errors', ...body })
    return body
  })

  // ---------------------------------------------------------------- definitions
  app.get('/api/esc/environments/:org/:project/:env', async (req, reply) => {
    const { env } = await envFor(req, 'reader', 'env.read')
    const rev = await revisionFor(env, undefined)
    return sendDefinition(reply, env, rev, rev.yaml)
  })

  app.get('/api/esc/environments/:org/:project/:env/versions/:version', async (req, reply) => {
    const { version } = req.params as { version: string }
    const { env } = await envFor(req, 'reader', 'env.read', { version })
    const rev = await revisionFor(env, version)
    return sendDefinition(reply, env, rev, rev.yaml)
  })

  async function decrypted(req: FastifyRequest, reply: FastifyReply, version: string | undefined) {
    const { env } = await envFor(req, 'opener', 'env.decrypt', version ? { version } : {})
    const rev = await revisionFor(env, version)
    const core = await loadCore()
    const r = await core.decryptSecrets(rev.yaml, await keys.cipher(env))
    if (hasErrors(r.diagnostics)) throw new HttpError(500, 'the stored definition could not be decrypted', { diagnostics: wireDiagnostics(r.diagnostics) })
    return sendDefinition(reply, env, rev, r.text)
  }
  app.get('/api/esc/environments/:org/:project/:env/decrypt', (req, reply) => decrypted(req, reply, undefined))
  app.get('/api/esc/environments/:org/:project/:env/versions/:version/decrypt', (req, reply) =>
    decrypted(req, reply, (req.params as { version: string }).version),
  )

  app.patch('/api/esc/environments/:org/:project/:env', async (req, reply) => {
    const found = await envFor(req, 'editor', 'env.update')
    const { authz, user } = found
    let env = found.env
    let text = typeof req.body === 'string' ? req.body : ''
    // A JSON body is stored as YAML: definitions that are valid JSON confuse the SDK's response handling.
    if (/^\s*\{/.test(text)) {
      try {
        const obj = JSON.parse(text) as unknown
        text = obj && typeof obj === 'object' && Object.keys(obj).length ? toYaml(obj) : ''
      } catch {
        /* YAML flow mapping: keep as written */
      }
    }
    const core = await loadCore()
    const enc = await core.encryptSecrets(text, await keys.cipher(env))
    if (hasErrors(enc.diagnostics)) {
      throw new HttpError(400, 'the definition has errors', { diagnostics: wireDiagnostics(enc.diagnostics) })
    }
    const { result } = await evaluator.run({
      org: env.org,
      authz,
      root: env,
      name: `${env.project}/${env.name}`,
      source: enc.text,
      mode: 'check',
      importRole: 'reader',
      context: contextFor(env, user),
    })
    if (hasErrors(result.diagnostics)) throw new HttpError(400, 'the definition has errors', { diagnostics: wireDiagnostics(result.diagnostics) })
    const conditional = req.headers.etag ?? req.headers['if-match']
    const expected = typeof conditional === 'string' && conditional !== '' ? normEtag(conditional) : undefined
    let number: number | undefined
    for (let attempt = 0; attempt < 10 && number === undefined; attempt++) {
      if (expected !== undefined && expected !== normEtag(etagOf(env, env.latest))) {
        throw new HttpError(409, `${env.org}/${env.project}/${env.name} was changed since your copy (ETag mismatch; now at revision ${env.latest}); reload and retry`)
      }
      number = await repo.appendRevision(env.id, env.latest, enc.text, user)
      if (number === undefined) {
        const fresh = await repo.getEnvironmentById(env.id)
        if (!fresh) throw new HttpError(404, `environment ${env.org}/${env.project}/${env.name} was deleted`)
        env = fresh
      }
    }
    if (number === undefined) throw new HttpError(409, 'too many concurrent updates; retry')
    req.audit!.detail = { revision: number }
    reply.header('Pulumi-ESC-Revision', String(number)).header('ETag', etagOf(env, number))
    const warnings = result.diagnostics.filter((d) => d.severity === 'warning')
    return warnings.length ? { diagnostics: wireDiagnostics(warnings) } : {}
  })

  app.delete('/api/esc/environments/:org/:project/:env', async (req, reply) => {
    const { env } = await envFor(req, 'admin', 'env.delete')
    if (env.deletionProtected) {
      throw new HttpError(409, `environment ${env.org}/${env.project}/${env.name} is protected from deletion; turn deletion protection off first`)
    }
    await repo.deleteEnvironment(env.id)
    for (const [k, m] of sessions) if (m.envId === env.id) sessions.delete(k)
    auth.invalidate()
    return ctx.opts.sdkCompat === '0.14' ? reply.code(204).send() : reply.code(200).send({})
  })

  app.get('/api/esc/environments/:org/:project/:env/settings', async (req) => {
    const { env } = await envFor(req, 'reader', 'env.settings.read')
    return { deletionProtected: env.deletionProtected }
  })
  app.patch('/api/esc/environments/:org/:project/:env/settings', async (req, reply) => {
    const { env } = await envFor(req, 'admin', 'env.settings.update')
    const body = objectBody(req)
    if (body.deletionProtected !== undefined) {
      if (typeof body.deletionProtected !== 'boolean') throw new HttpError(400, 'deletionProtected must be true or false')
      await repo.setDeletionProtected(env.id, body.deletionProtected)
    }
    return reply.code(204).send()
  })

  // ---------------------------------------------------------------- clone
  app.post('/api/esc/environments/:org/:project/:env/clone', async (req, reply) => {
    const { env: src, authz, user } = await envFor(req, 'opener', 'env.clone')
    const body = objectBody(req)
    const project = body.project === undefined || body.project === '' ? src.project : checkName('project', body.project)
    const name = checkName('environment', body.name)
    req.audit!.detail = { to: `${src.org}/${project}/${name}` }
    const role = roleIn(authz, project)
    if (roleRank(role) < roleRank('editor')) {
      throw new HttpError(403, `forbidden: cloning into ${src.org}/${project} requires the editor role on that project; ${user.login} has ${role === 'none' ? 'no role' : 'the ' + role + ' role'}`)
    }
    let revisions: RevisionRecord[]
    if (body.preserveHistory === true) {
      revisions = []
      for (let before: number | undefined; ; ) {
        const page = await repo.listRevisions(src.id, { ...(before !== undefined ? { before } : {}), count: 500 })
        if (page.length === 0) break
        revisions.push(...page)
        before = page[page.length - 1]!.number
      }
    } else {
      const v = body.version === undefined ? undefined : String(body.version)
      revisions = [{ ...(await revisionFor(src, v)), number: 1 }]
      delete revisions[0]!.retracted
    }
    // Re-encrypt every revision under the clone's own data key.
    const core = await loadCore()
    const dk = await keys.create()
    const srcCipher = await keys.cipher(src)
    const dstId = randomUUID()
    const dstCipher = await keys.cipher({ ...src, id: dstId, project, name, dataKey: dk.wrapped, kekId: dk.kekId })
    const copied: RevisionRecord[] = []
    for (const r of revisions) {
      const plain = await core.decryptSecrets(r.yaml, srcCipher)
      const enc = await core.encryptSecrets(plain.text, dstCipher)
      if (hasErrors(plain.diagnostics) || hasErrors(enc.diagnostics)) throw new HttpError(500, `revision ${r.number} could not be re-encrypted for the clone`)
      copied.push({ ...r, yaml: enc.text })
    }
    const dst = await repo.cloneEnvironment(
      src,
      { id: dstId, project, name, dataKey: dk.wrapped, kekId: dk.kekId, creator: user },
      {
        revisions: copied,
        envTags: body.preserveEnvironmentTags === true,
        revisionTags: body.preserveRevisionTags === true && body.preserveHistory === true,
        access: body.preserveAccess === true,
      },
    )
    if (!dst) throw new HttpError(409, `environment ${src.org}/${project}/${name} already exists`)
    if (roleRank(roleIn(await auth.orgAuthz(src.org, user), project, name)) < roleRank('admin')) {
      await repo.setGrant({ org: src.org, project, env: name, subjectKind: 'user', subject: user.id, role: 'admin' })
    }
    auth.invalidate()
    return reply.code(204).send()
  })

  // ---------------------------------------------------------------- open sessions
  const sessionWriter = new GroupWriter<SessionRecord>((list) => repo.createSessions(list), { maxInFlight: repo.dialect === 'postgres' ? 2 : 1 })

  async function open(req: FastifyRequest, version: string | undefined) {
    const p = req.params as { org: string; project: string; env: string }
    const { env, authz, user, latest } = await envFor(req, 'opener', 'env.open', {
      ...(version ? { version } : {}),
      alsoLatestOf: evaluator.importHint(p.org, p.project, p.env),
    })
    const d = q(req, 'duration')
    const ms = d === undefined ? 3_600_000 : parseGoDuration(d)
    if (ms <= 0 || ms > MAX_SESSION_MS) throw new HttpError(400, `duration must be between 1ms and ${MAX_SESSION_MS / 3_600_000}h`)
    // `latest` needs no lookup (the environment row has it); other versions resolve and must be live.
    const revision = version === undefined ? env.latest : (await revisionFor(env, version)).number
    const r = await evaluator.open({
      org: env.org,
      authz,
      env,
      revision,
      source: async () => (await revisionFor(env, String(revision))).yaml,
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
    if (sessions.size > 20_000) {
      const now = Date.now()
      for (const [k, s] of sessions) if (s.expires < now) sessions.delete(k)
      if (sessions.size > 20_000) sessions.clear()
    }
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
      const role = roleIn(await auth.orgAuthz(p.org, user), p.project, p.env)
      if (roleRank(role) < roleRank('opener')) {
        throw new HttpError(403, `forbidden: ${ACTION_TEXT.opener} ${path} requires the opener role; ${user.login} has ${role === 'none' ? 'no role' : 'the ' + role + ' role'} there`)
      }
    } else {
      const found = await envFor(req, 'opener', 'env.read-open')
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

  // ---------------------------------------------------------------- revisions
  app.get('/api/esc/environments/:org/:project/:env/versions', async (req) => {
    const { env } = await envFor(req, 'reader', 'revision.list')
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
      ...(r.retracted ? { retracted: { replacement: r.retracted.replacement, at: r.retracted.at, byLogin: r.retracted.by, byName: r.retracted.by, reason: r.retracted.reason } } : {}),
    }))
  })

  app.post('/api/esc/environments/:org/:project/:env/versions/:version/retract', async (req, reply) => {
    const { version } = req.params as { version: string }
    const { env, user } = await envFor(req, 'editor', 'revision.retract', { version })
    const rev = await revisionFor(env, version)
    if (rev.number === env.latest) throw new HttpError(400, `revision ${rev.number} is the latest revision and cannot be retracted; update the environment first`)
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

  // ---------------------------------------------------------------- revision tags
  const revTagJson = (t: { name: string; revision: number; created: string; modified: string; editorLogin: string; editorName: string }) => ({
    name: t.name,
    revision: t.revision,
    created: t.created,
    modified: t.modified,
    editorLogin: t.editorLogin,
    editorName: t.editorName,
  })
  const latestTag = (env: EnvRecord, creator: RevisionRecord | undefined) => ({
    name: 'latest',
    revision: env.latest,
    created: env.created,
    modified: env.modified,
    editorLogin: creator?.creatorLogin ?? '',
    editorName: creator?.creatorName ?? '',
  })

  app.get('/api/esc/environments/:org/:project/:env/versions/tags', async (req) => {
    const { env } = await envFor(req, 'reader', 'revtag.list')
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
    if ((await resolveVersion(repo, env, String(r))) === undefined) throw new HttpError(404, `revision ${r} of ${env.org}/${env.project}/${env.name} not found (unknown or retracted)`)
    return r
  }

  app.post('/api/esc/environments/:org/:project/:env/versions/tags', async (req, reply) => {
    const body = objectBody(req)
    const { env, user } = await envFor(req, 'editor', 'revtag.create')
    const name = body.name
    if (typeof name !== 'string' || !TAG_RE.test(name) || /^[0-9]/.test(name)) {
      throw new HttpError(400, `invalid tag name ${JSON.stringify(name)}: letters, digits, '-', '_', '.', not starting with a digit`)
    }
    req.audit!.detail = { tag: name }
    if (name === 'latest') throw new HttpError(409, 'the tag "latest" is built in and always points at the newest revision')
    const revision = await revisionNumberFromBody(env, body)
    if (!(await repo.createRevisionTag(env.id, name, revision, user))) throw new HttpError(409, `tag "${name}" already exists`)
    return reply.code(204).send()
  })

  app.get('/api/esc/environments/:org/:project/:env/versions/tags/:tag', async (req) => {
    const { tag } = req.params as { tag: string }
    const { env } = await envFor(req, 'reader', 'revtag.read')
    req.audit!.detail = { tag }
    if (tag === 'latest') return latestTag(env, await repo.getRevision(env.id, env.latest))
    const t = await repo.getRevisionTag(env.id, tag)
    if (!t) throw new HttpError(404, `tag "${tag}" not found`)
    return revTagJson(t)
  })

  app.patch('/api/esc/environments/:org/:project/:env/versions/tags/:tag', async (req, reply) => {
    const { tag } = req.params as { tag: string }
    const body = objectBody(req)
    const { env, user } = await envFor(req, 'editor', 'revtag.update')
    req.audit!.detail = { tag }
    if (tag === 'latest') throw new HttpError(400, 'the tag "latest" cannot be moved; it always points at the newest revision')
    if (!(await repo.getRevisionTag(env.id, tag))) throw new HttpError(404, `tag "${tag}" not found`)
    const revision = await revisionNumberFromBody(env, body)
    if (!(await repo.updateRevisionTag(env.id, tag, revision, user))) throw new HttpError(404, `tag "${tag}" not found`)
    return reply.code(204).send()
  })

  app.delete('/api/esc/environments/:org/:project/:env/versions/tags/:tag', async (req, reply) => {
    const { tag } = req.params as { tag: string }
    const { env } = await envFor(req, 'editor', 'revtag.delete')
    req.audit!.detail = { tag }
    if (tag === 'latest') throw new HttpError(400, 'the tag "latest" is built in and cannot be deleted')
    if (!(await repo.deleteRevisionTag(env.id, tag))) throw new HttpError(404, `tag "${tag}" not found`)
    return reply.code(204).send()
  })

  // ---------------------------------------------------------------- environment tags
  const envTagJson = (t: { name: string; value: string; created: string; modified: string; editorLogin: string; editorName: string }) => ({
    name: t.name,
    value: t.value,
    created: t.created,
    modified: t.modified,
    editorLogin: t.editorLogin,
    editorName: t.editorName,
  })

  app.get('/api/esc/environments/:org/:project/:env/tags', async (req) => {
    const { env } = await envFor(req, 'reader', 'envtag.list')
    const after = q(req, 'after')
    const count = qInt(req, 'count', 100, 500) || 100
    const list = await repo.listEnvTags(env.id, { ...(after !== undefined && after !== '0' ? { after } : {}), count: count + 1 })
    const page = list.slice(0, count)
    const tags: Record<string, unknown> = {}
    for (const t of page) tags[t.name] = envTagJson(t)
    // The CLI stops paging only on nextToken "0".
    return { tags, nextToken: list.length > count ? page[page.length - 1]!.name : '0' }
  })

  const tagName = (v: unknown): string => {
    if (typeof v !== 'string' || v === '' || v.length > 255) throw new HttpError(400, `invalid tag name ${JSON.stringify(v)}: a non-empty string of at most 255 characters`)
    return v
  }
  const tagValue = (v: unknown): string => {
    if (typeof v !== 'string' || v.length > 4096) throw new HttpError(400, 'a tag value must be a string of at most 4096 characters')
    return v
  }

  app.post('/api/esc/environments/:org/:project/:env/tags', async (req) => {
    const body = objectBody(req)
    const { env, user } = await envFor(req, 'editor', 'envtag.create')
    const name = tagName(body.name)
    const value = tagValue(body.value)
    req.audit!.detail = { tag: name }
    if (!(await repo.createEnvTag(env.id, name, value, user))) throw new HttpError(409, `tag "${name}" already exists`)
    return envTagJson((await repo.getEnvTag(env.id, name))!)
  })

  app.get('/api/esc/environments/:org/:project/:env/tags/:name', async (req) => {
    const { name } = req.params as { name: string }
    const { env } = await envFor(req, 'reader', 'envtag.read')
    req.audit!.detail = { tag: name }
    const t = await repo.getEnvTag(env.id, name)
    if (!t) throw new HttpError(404, `tag "${name}" not found`)
    return envTagJson(t)
  })

  app.patch('/api/esc/environments/:org/:project/:env/tags/:name', async (req) => {
    const { name } = req.params as { name: string }
    const body = objectBody(req)
    const { env, user } = await envFor(req, 'editor', 'envtag.update')
    req.audit!.detail = { tag: name }
    const cur = await repo.getEnvTag(env.id, name)
    if (!cur) throw new HttpError(404, `tag "${name}" not found`)
    const currentTag = (body.currentTag ?? {}) as Record<string, unknown>
    const newTag = (body.newTag ?? {}) as Record<string, unknown>
    if (typeof currentTag.value === 'string' && currentTag.value !== '' && currentTag.value !== cur.value) {
      throw new HttpError(409, `tag "${name}" has changed: its current value is not the one you expected`)
    }
    const newName = newTag.name === undefined || newTag.name === '' ? name : tagName(newTag.name)
    const newValue = newTag.value === undefined || newTag.value === '' ? cur.value : tagValue(newTag.value)
    const r = await repo.updateEnvTag(env.id, name, newName, newValue, user)
    if (r === 'exists') throw new HttpError(409, `tag "${newName}" already exists`)
    if (!r) throw new HttpError(404, `tag "${name}" not found`)
    return envTagJson((await repo.getEnvTag(env.id, newName))!)
  })

  app.delete('/api/esc/environments/:org/:project/:env/tags/:name', async (req, reply) => {
    const { name } = req.params as { name: string }
    const { env } = await envFor(req, 'editor', 'envtag.delete')
    req.audit!.detail = { tag: name }
    if (!(await repo.deleteEnvTag(env.id, name))) throw new HttpError(404, `tag "${name}" not found`)
    return reply.code(204).send()
  })

  // ---------------------------------------------------------------- permissions (Envelope extension)
  app.get('/api/esc/environments/:org/:project/:env/permissions', async (req) => {
    const { env } = await envFor(req, 'admin', 'permission.list')
    return { permissions: await permissionsJson(ctx, env.org, env.project, env.name) }
  })
  app.put('/api/esc/environments/:org/:project/:env/permissions', async (req, reply) => {
    const body = objectBody(req)
    const { env } = await envFor(req, 'admin', 'permission.set')
    const g = await grantFromBody(ctx, env.org, body)
    req.audit!.detail = { [g.subjectKind]: g.name, role: g.role }
    if (g.role === 'none') await repo.removeGrant({ org: env.org, project: env.project, env: env.name, subjectKind: g.subjectKind, subject: g.subject })
    else await repo.setGrant({ org: env.org, project: env.project, env: env.name, subjectKind: g.subjectKind, subject: g.subject, role: g.role })
    auth.invalidate()
    return reply.code(204).send()
  })
}

export async function permissionsJson(ctx: Ctx, org: string, project: string, env?: string) {
  const grants = await ctx.repo.listGrants(org, project, env ?? '')
  const out: { user?: string; team?: string; role: Role }[] = []
  for (const g of grants) {
    if (g.subjectKind === 'team') out.push({ team: g.subject, role: g.role })
    else out.push({ user: (await ctx.repo.loginOf(g.subject)) ?? g.subject, role: g.role })
  }
  return out
}

/** `{user: login | team: name, role}` → a grant subject. */
export async function grantFromBody(ctx: Ctx, org: string, body: Record<string, unknown>) {
  const role = body.role
  if (typeof role !== 'string' || !['none', 'reader', 'opener', 'editor', 'admin'].includes(role)) {
    throw new HttpError(400, 'role must be one of none, reader, opener, editor, admin')
  }
  if (typeof body.user === 'string') {
    const u = await ctx.repo.getUserByLogin(body.user)
    if (!u) throw new HttpError(404, `user "${body.user}" not found`)
    return { subjectKind: 'user' as const, subject: u.id, name: u.login, role: role as Role }
  }
  if (typeof body.team === 'string') {
    const teams = await ctx.repo.listTeams(org)
    if (!teams.includes(body.team)) throw new HttpError(404, `team "${body.team}" not found in ${org}`)
    return { subjectKind: 'team' as const, subject: body.team, name: body.team, role: role as Role }
  }
  throw new HttpError(400, 'give either "user" (a login) or "team" (a team name)')
}
