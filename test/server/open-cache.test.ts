/**
 * The cache of evaluated opens must never serve stale or unauthorised values: an import's update, its deletion
 * and re-creation, a revoked role on an import, and dynamic (`fn::open`) documents all force a fresh evaluation.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BACKENDS, startServer } from './helpers.ts'

const ORG = 'acme'
const E = (id: string) => `/api/esc/environments/${ORG}/${id}`

for (const backend of BACKENDS) {
  describe(`open cache (${backend})`, () => {
    it('re-evaluates when an import changes, is recreated, or becomes forbidden; caches otherwise', async () => {
      const s = await startServer(backend, { org: ORG, authCacheMs: 0 })
      try {
        const a = s.adminToken
        const openValue = async (tok: string) => {
          const o = await s.call(tok, 'POST', `${E('apps/web')}/open`)
          if (o.status !== 200) return { status: o.status, value: undefined, cached: undefined }
          const r = await s.call(tok, 'GET', `${E('apps/web')}/open//${(o.body as { id: string }).id}?property=url`)
          const audit = await s.repo.queryAudit({ org: ORG, limit: 100_000 })
          const last = audit.filter((x) => x.action === 'env.open').pop()
          return { status: 200, value: (r.body as { value: string }).value, cached: last?.detail?.cached }
        }
        for (const id of ['infra/base', 'apps/web'])
          await s.call(a, 'POST', `/api/esc/environments/${ORG}`, { project: id.split('/')[0], name: id.split('/')[1] })
        assert.equal((await s.call(a, 'PATCH', E('infra/base'), 'values:\n  host: one.example.com\n')).status, 200)
        assert.equal((await s.call(a, 'PATCH', E('apps/web'), 'imports:\n  - infra/base\nvalues:\n  url: https://${host}/\n')).status, 200)
        assert.deepEqual(await openValue(a), { status: 200, value: 'https://one.example.com/', cached: false })
        assert.deepEqual(await openValue(a), { status: 200, value: 'https://one.example.com/', cached: true })

        await s.call(a, 'PATCH', E('infra/base'), 'values:\n  host: two.example.com\n')
        assert.deepEqual(await openValue(a), { status: 200, value: 'https://two.example.com/', cached: false })

        await s.call(a, 'DELETE', E('infra/base'))
        const gone = await s.call(a, 'POST', `${E('apps/web')}/open`)
        assert.equal(gone.status, 400, 'a deleted import is an evaluation error, not a cached value')
        await s.call(a, 'POST', `/api/esc/environments/${ORG}`, { project: 'infra', name: 'base' })
        await s.call(a, 'PATCH', E('infra/base'), 'values:\n  host: three.example.com\n')
        assert.deepEqual(await openValue(a), { status: 200, value: 'https://three.example.com/', cached: false })

        // a user who may open apps but not infra: denied, even though the admin's open is cached
        const bob = await s.user('bob', { org: ORG })
        await s.call(a, 'PUT', `/api/orgs/${ORG}/projects/apps/permissions`, { user: 'bob', role: 'opener' })
        const denied = await s.call(bob, 'POST', `${E('apps/web')}/open`)
        assert.equal(denied.status, 403)
        assert.match(
          (denied.body as { message: string }).message,
          /^forbidden: opening apps\/web uses infra\/base \(imports or secrets\), which requires the opener role/,
        )
        await s.call(a, 'PUT', `/api/orgs/${ORG}/projects/infra/permissions`, { user: 'bob', role: 'opener' })
        assert.equal((await openValue(bob)).value, 'https://three.example.com/')
        await s.call(a, 'PUT', `/api/orgs/${ORG}/projects/infra/permissions`, { user: 'bob', role: 'reader' })
        assert.equal((await s.call(bob, 'POST', `${E('apps/web')}/open`)).status, 403, 'a cached open re-checks roles on imports')
      } finally {
        await s.close()
      }
    })

    it('lets `esc env get` check a stored definition, and never decrypts a copied ciphertext without the role', async () => {
      const s = await startServer(backend, { org: ORG, authCacheMs: 0 })
      try {
        const a = s.adminToken
        const SECRET = 'copied-secret-31337'
        for (const id of ['vault/a', 'apps/b']) await s.call(a, 'POST', `/api/esc/environments/${ORG}`, { project: id.split('/')[0], name: id.split('/')[1] })
        assert.equal((await s.call(a, 'PATCH', E('vault/a'), `values:\n  pw:\n    fn::secret: ${SECRET}\n`)).status, 200)
        const stored = (await s.call(a, 'GET', E('vault/a'))).text
        assert.ok(stored.includes('ciphertext') && !stored.includes(SECRET))
        // the CLI posts the stored (ciphertext) definition to check: no error, the secret stays hidden
        const checked = await s.call(a, 'POST', `/api/esc/environments/${ORG}/yaml/check?showSecrets=false`, stored)
        assert.equal(checked.status, 200, checked.text)
        assert.ok(!checked.text.includes(SECRET))
        assert.equal((checked.body as { properties: { pw: { secret: boolean } } }).properties.pw.secret, true)
        // with --show-secrets it reads /decrypt first, then checks the plaintext
        const plain = (await s.call(a, 'GET', `${E('vault/a')}/decrypt`)).text
        const shown = await s.call(a, 'POST', `/api/esc/environments/${ORG}/yaml/check?showSecrets=true`, plain)
        assert.equal((shown.body as { properties: { pw: { value: string } } }).properties.pw.value, SECRET)

        const eve = await s.user('eve', { org: ORG })
        await s.call(a, 'PUT', `/api/orgs/${ORG}/projects/apps/permissions`, { user: 'eve', role: 'editor' })
        const eveCheck = await s.call(eve, 'POST', `/api/esc/environments/${ORG}/yaml/check?showSecrets=true`, stored)
        assert.ok(!eveCheck.text.includes(SECRET))
        // eve pastes vault/a's ciphertext into her own environment: saving it is harmless, using it is refused
        assert.equal((await s.call(eve, 'PATCH', E('apps/b'), stored)).status, 200)
        const denied = await s.call(eve, 'POST', `${E('apps/b')}/open`)
        assert.equal(denied.status, 403, denied.text)
        assert.match((denied.body as { message: string }).message, /uses vault\/a \(imports or secrets\), which requires the opener role/)
        assert.ok(!denied.text.includes(SECRET))
        const dec = await s.call(eve, 'GET', `${E('apps/b')}/decrypt`)
        assert.equal(dec.status, 500, 'decrypt refuses a ciphertext of another environment')
        assert.ok(!dec.text.includes(SECRET))
        // an admin open is cached; eve still cannot ride on it
        const o = await s.call(a, 'POST', `${E('apps/b')}/open`)
        assert.equal(o.status, 200, o.text)
        assert.equal((await s.call(eve, 'POST', `${E('apps/b')}/open`)).status, 403)
        // with opener on vault eve may; her own cached open is re-checked when the role goes away
        await s.call(a, 'PUT', `/api/orgs/${ORG}/projects/vault/permissions`, { user: 'eve', role: 'opener' })
        assert.equal((await s.call(eve, 'POST', `${E('apps/b')}/open`)).status, 200)
        assert.equal((await s.call(eve, 'POST', `${E('apps/b')}/open`)).status, 200)
        await s.call(a, 'PUT', `/api/orgs/${ORG}/projects/vault/permissions`, { user: 'eve', role: 'reader' })
        assert.equal((await s.call(eve, 'POST', `${E('apps/b')}/open`)).status, 403)
      } finally {
        await s.close()
      }
    })

    it('saves and checks definitions with fn::open, but does not run providers on the server', async () => {
      const s = await startServer(backend, { org: ORG })
      try {
        const a = s.adminToken
        const def = 'values:\n  plain: 1\n  creds:\n    fn::open::aws-login:\n      static:\n        accessKeyId: x\n'
        await s.call(a, 'POST', `/api/esc/environments/${ORG}`, { project: 'p', name: 'dyn' })
        assert.equal((await s.call(a, 'PATCH', E('p/dyn'), def)).status, 200)
        const check = await s.call(a, 'POST', `/api/esc/environments/${ORG}/yaml/check`, def)
        assert.equal(check.status, 200)
        assert.equal((check.body as { properties: { creds: { unknown: boolean } } }).properties.creds.unknown, true)
        const open = await s.call(a, 'POST', `${E('p/dyn')}/open`)
        assert.equal(open.status, 400)
        assert.match((open.body as { diagnostics: { summary: string }[] }).diagnostics[0]!.summary, /fn::open::aws-login is not run by the team server/)
      } finally {
        await s.close()
      }
    })
  })
}
