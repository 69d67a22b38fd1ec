/**
 * Environments: list (all orgs or one, only what the caller may read, keyset paging with a continuation token),
 * create, read a definition (latest or a version), decrypt, update (PATCH: a new revision, with ETag check),
 * delete and clone. Status codes follow what the SDK insists on (see server/README.md).
 *
 * The update (PATCH) body is the save pipeline: encrypt the secrets with the environment's data key, check the
 * definition in context, append a revision by compare-and-swap (409 on a stale ETag). The create (POST) body
 * makes the data key and an empty first revision, and makes the creator admin of what they created.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { stringify as toYaml } from 'yaml'
import type { EnvRecord, RevisionRecord, User } from '../db/repository.ts'
import { roleRank } from '../db/repository.ts'
import type { OrgAuthz } from '../auth.ts'
import { roleIn } from '../auth.ts'
import type { Ctx, RouteModule } from '../http.ts'
import { objectBody, setAudit, who } from '../http.ts'
import { HttpError, hasErrors, loadCore, wireDiagnostics } from '../evaluator.ts'
import { checkName, contextFor, envFor, etagOf, normEtag, q, revisionFor, roleText, sendDefinition } from './common.ts'

/**
 * The creator administers what they created, unless they already do through the org or project: grants them
 * admin on the new environment; true when it did (cached authz must then be dropped).
 */
async function makeCreatorAdmin(ctx: Ctx, authz: OrgAuthz, env: Pick<EnvRecord, 'org' | 'project' | 'name'>, user: User): Promise<boolean> {
  if (roleRank(roleIn(authz, env.project, env.name)) >= roleRank('admin')) return false
  await ctx.repo.setGrant({ org: env.org, project: env.project, env: env.name, subjectKind: 'user', subject: user.id, role: 'admin' })
  return true
}

export const environmentRoutes: RouteModule = (app, ctx) => {
  const { repo, keys, auth, evaluator, sessions } = ctx

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
      throw new HttpError(
        403,
        `forbidden: creating environments in ${org}/${project} requires the editor role on the project; ${user.login} has ${roleText(role)}`,
      )
    }
    if (!authz.exists) throw new HttpError(404, `organization "${org}" not found`)
    const dk = await keys.create()
    const env = await repo.createEnvironment({ org, project, name, dataKey: dk.wrapped, kekId: dk.kekId, creator: user })
    if (!env) throw new HttpError(409, `environment ${org}/${project}/${name} already exists`)
    if (await makeCreatorAdmin(ctx, authz, env, user)) auth.invalidate()
    return ctx.opts.sdkCompat === '0.14' ? reply.code(204).send() : reply.code(200).send({})
  })

  // ---------------------------------------------------------------- definitions
  app.get('/api/esc/environments/:org/:project/:env', async (req, reply) => {
    const { env } = await envFor(ctx, req, 'reader', 'env.read')
    const rev = await revisionFor(ctx, env, undefined)
    return sendDefinition(reply, env, rev, rev.yaml)
  })

  app.get('/api/esc/environments/:org/:project/:env/versions/:version', async (req, reply) => {
    const { version } = req.params as { version: string }
    const { env } = await envFor(ctx, req, 'reader', 'env.read', { version })
    const rev = await revisionFor(ctx, env, version)
    return sendDefinition(reply, env, rev, rev.yaml)
  })

  async function decrypted(req: FastifyRequest, reply: FastifyReply, version: string | undefined) {
    const { env } = await envFor(ctx, req, 'opener', 'env.decrypt', version ? { version } : {})
    const rev = await revisionFor(ctx, env, version)
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
    const found = await envFor(ctx, req, 'editor', 'env.update')
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
    // the one save pipeline (shared/domain/save.ts): limits, parse + encrypt, check, ciphertext ownership
    const { yaml, warnings } = await evaluator.prepareSave({ authz, env, text, context: contextFor(env, user) })
    const conditional = req.headers.etag ?? req.headers['if-match']
    const expected = typeof conditional === 'string' && conditional !== '' ? normEtag(conditional) : undefined
    let number: number | undefined
    for (let attempt = 0; attempt < 10 && number === undefined; attempt++) {
      if (expected !== undefined && expected !== normEtag(etagOf(env, env.latest))) {
        throw new HttpError(
          409,
          `${env.org}/${env.project}/${env.name} was changed since your copy (ETag mismatch; now at revision ${env.latest}); reload and retry`,
        )
      }
      number = await repo.appendRevision(env.id, env.latest, yaml, user)
      if (number === undefined) {
        const fresh = await repo.getEnvironmentById(env.id)
        if (!fresh) throw new HttpError(404, `environment ${env.org}/${env.project}/${env.name} was deleted`)
        env = fresh
      }
    }
    if (number === undefined) throw new HttpError(409, 'too many concurrent updates; retry')
    req.audit!.detail = { revision: number }
    reply.header('Pulumi-ESC-Revision', String(number)).header('ETag', etagOf(env, number))
    return warnings.length ? { diagnostics: wireDiagnostics(warnings) } : {}
  })

  app.delete('/api/esc/environments/:org/:project/:env', async (req, reply) => {
    const { env } = await envFor(ctx, req, 'admin', 'env.delete')
    if (env.deletionProtected) {
      throw new HttpError(409, `environment ${env.org}/${env.project}/${env.name} is protected from deletion; turn deletion protection off first`)
    }
    await repo.deleteEnvironment(env.id)
    sessions.forgetEnvironment(env.id)
    auth.invalidate()
    return ctx.opts.sdkCompat === '0.14' ? reply.code(204).send() : reply.code(200).send({})
  })

  // ---------------------------------------------------------------- clone
  app.post('/api/esc/environments/:org/:project/:env/clone', async (req, reply) => {
    const { env: src, authz, user } = await envFor(ctx, req, 'opener', 'env.clone')
    const body = objectBody(req)
    const project = body.project === undefined || body.project === '' ? src.project : checkName('project', body.project)
    const name = checkName('environment', body.name)
    req.audit!.detail = { to: `${src.org}/${project}/${name}` }
    const role = roleIn(authz, project)
    if (roleRank(role) < roleRank('editor')) {
      throw new HttpError(403, `forbidden: cloning into ${src.org}/${project} requires the editor role on that project; ${user.login} has ${roleText(role)}`)
    }
    let revisions: RevisionRecord[]
    if (body.preserveHistory === true) {
      revisions = []
      for (let before: number | undefined; ;) {
        const page = await repo.listRevisions(src.id, { ...(before !== undefined ? { before } : {}), count: 500 })
        if (page.length === 0) break
        revisions.push(...page)
        before = page[page.length - 1]!.number
      }
    } else {
      const v = body.version === undefined ? undefined : String(body.version)
      revisions = [{ ...(await revisionFor(ctx, src, v)), number: 1 }]
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
    await makeCreatorAdmin(ctx, await auth.orgAuthz(src.org, user), dst, user)
    auth.invalidate()
    return reply.code(204).send()
  })
}
