/**
 * The server's save pipeline (Evaluator.prepareSave over shared/domain/save.ts), called directly until the
 * PATCH route is wired to it: plaintext secrets are sealed for the environment (v3, owner = its id), errors
 * are a 400 with diagnostics, a missing role on an import is a 403, and the ciphertext ownership check keeps a
 * same-organization payload (used only with the role there) but refuses one from another organization.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BACKENDS, startServer } from './helpers.ts'
import { Evaluator } from '../../server/evaluator.ts'
import type { HttpError } from '../../server/evaluator.ts'
import { payloadEnvironmentId } from '../../server/keys.ts'
import type { OrgAuthz } from '../../server/auth.ts'
import type { EnvRecord, User } from '../../server/db/repository.ts'
import { decodeEnvelope, encodeEnvelope } from '../../shared/esc/envelope.ts'

const admin = (org: string): OrgAuthz => ({ org, exists: true, membership: 'admin', defaultRole: 'none', grants: [], siteAdmin: false })
const USER: User = { id: 'u1', login: 'alice', name: 'Alice', email: 'a@example.com', siteAdmin: false }
const ctx = { pulumi: { user: { id: 'alice' } } }

for (const backend of BACKENDS) {
  describe(`server save pipeline (${backend})`, () => {
    it('seals, validates, checks roles and ciphertext ownership', async () => {
      const s = await startServer(backend, { org: 'acme' })
      try {
        await s.repo.createOrg('other')
        const make = async (org: string, project: string, name: string): Promise<EnvRecord> => {
          const dk = await s.keys.create()
          return (await s.repo.createEnvironment({ org, project, name, dataKey: dk.wrapped, kekId: dk.kekId, creator: USER }))!
        }
        const a = await make('acme', 'vault', 'a')
        const b = await make('acme', 'apps', 'b')
        const x = await make('other', 'vault', 'x')
        const ev = new Evaluator(s.repo, s.keys)

        const saved = await ev.prepareSave({ authz: admin('acme'), env: a, text: 'values:\n  pw:\n    fn::secret: hunter2\n', context: ctx })
        assert.ok(!saved.yaml.includes('hunter2'))
        const payload = decodeEnvelope(/ciphertext: (\S+)/.exec(saved.yaml)![1]!)
        assert.equal(payload[0], 3, 'the one payload format')
        assert.equal(payloadEnvironmentId(payload), a.id)
        // the same ciphertext: kept in a, kept in b (same organization: using it needs the opener role on a)
        assert.equal((await ev.prepareSave({ authz: admin('acme'), env: a, text: saved.yaml, context: ctx })).yaml, saved.yaml)
        assert.equal((await ev.prepareSave({ authz: admin('acme'), env: b, text: saved.yaml, context: ctx })).yaml, saved.yaml)
        // ... refused in another organization, at its position
        await assert.rejects(ev.prepareSave({ authz: admin('other'), env: x, text: saved.yaml, context: ctx }), (err: HttpError) => {
          assert.equal(err.status, 400)
          const d = (err.extra!.diagnostics as { summary: string; path: string }[])[0]!
          assert.match(d.summary, /outside this organization/)
          assert.equal(d.path, 'values.pw')
          return true
        })
        // errors are a 400 with diagnostics; an import without the reader role is a 403
        await assert.rejects(
          ev.prepareSave({ authz: admin('acme'), env: a, text: 'values:\n  a: ${nope}\n', context: ctx }),
          (err: HttpError) => err.status === 400 && Array.isArray(err.extra?.diagnostics),
        )
        const bob: OrgAuthz = {
          org: 'acme',
          exists: true,
          membership: 'member',
          defaultRole: 'none',
          grants: [{ org: 'acme', project: 'apps', env: '', subjectKind: 'user', subject: 'u2', role: 'editor' }],
          siteAdmin: false,
        }
        await assert.rejects(
          ev.prepareSave({ authz: bob, env: b, text: 'imports:\n  - vault/a\nvalues:\n  c: 1\n', context: ctx }),
          (err: HttpError) => err.status === 403,
        )
      } finally {
        await s.close()
      }
    })

    it('refuses what the environment cannot open (a corrupted ciphertext of its own) and aliases into a secret (issue 12 rule 7)', async () => {
      const s = await startServer(backend, { org: 'acme' })
      try {
        const dk = await s.keys.create()
        const a = (await s.repo.createEnvironment({ org: 'acme', project: 'vault', name: 'a', dataKey: dk.wrapped, kekId: dk.kekId, creator: USER }))!
        const ev = new Evaluator(s.repo, s.keys)
        const saved = await ev.prepareSave({ authz: admin('acme'), env: a, text: 'values:\n  pw:\n    fn::secret: hunter2\n', context: ctx })
        const ct = /ciphertext: (\S+)/.exec(saved.yaml)![1]!
        const payload = decodeEnvelope(ct)
        payload[payload.length - 1]! ^= 0x80 // the tag: same owner, same key, does not authenticate
        const corrupted = saved.yaml.replace(ct, encodeEnvelope(payload))
        await assert.rejects(ev.prepareSave({ authz: admin('acme'), env: a, text: corrupted, context: ctx }), (err: HttpError) => {
          assert.equal(err.status, 400)
          const d = (err.extra!.diagnostics as { summary: string; path: string }[])[0]!
          assert.match(d.summary, /invalid ciphertext: .*cannot open it/)
          assert.equal(d.path, 'values.pw')
          return true
        })
        // ... and a corrupted payload of another environment of the organization (accepted there when intact)
        const bdk = await s.keys.create()
        const b = (await s.repo.createEnvironment({ org: 'acme', project: 'apps', name: 'b', dataKey: bdk.wrapped, kekId: bdk.kekId, creator: USER }))!
        assert.equal((await ev.prepareSave({ authz: admin('acme'), env: b, text: saved.yaml, context: ctx })).yaml, saved.yaml)
        await assert.rejects(ev.prepareSave({ authz: admin('acme'), env: b, text: corrupted, context: ctx }), (err: HttpError) => {
          assert.equal(err.status, 400)
          assert.match((err.extra!.diagnostics as { summary: string }[])[0]!.summary, /vault\/a does not authenticate/)
          return true
        })
        await assert.rejects(
          ev.prepareSave({ authz: admin('acme'), env: a, text: 'values:\n  a: {fn::secret: &s x}\n  b: *s\n', context: ctx }),
          (err: HttpError) =>
            err.status === 400 && (err.extra!.diagnostics as { summary: string }[]).some((d) => /YAML alias \*s refers to part of a secret/.test(d.summary)),
        )
      } finally {
        await s.close()
      }
    })
  })
}
