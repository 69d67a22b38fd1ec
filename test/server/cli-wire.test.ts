/**
 * Wire details the Go `esc` CLI depends on (esc-api.md §0, §1, §6), sent as the CLI sends them: identity
 * routes, the all-org list, YAML bodies labelled application/json, empty query values, Go durations, paging
 * loops that must end, Pulumi-ESC-Revision headers, check's 400 body.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { BACKENDS, startServer } from './helpers.ts'
import type { TestServer } from './helpers.ts'

const CLI = { accept: 'application/vnd.pulumi+8', 'user-agent': 'esc-sdk/1 (v0.10.0; linux)' }

for (const backend of BACKENDS) {
  describe(`esc CLI wire details (${backend})`, () => {
    let s: TestServer
    let t: string
    before(async () => {
      s = await startServer(backend, { org: 'acme', pageSize: 2 })
      const r = await s.call(s.adminToken, 'POST', '/api/orgs', { name: 'other-org' })
      assert.equal(r.status, 201)
      t = await s.user('carol', { org: 'acme', orgRole: 'admin' })
      await s.call(s.adminToken, 'PUT', '/api/orgs/other-org/members/carol', { role: 'admin' })
    })
    after(() => s.close())

    it('serves /api/user and the default org the way the login manager reads them', async () => {
      const me = await s.call(t, 'GET', '/api/user', undefined, CLI)
      const u = me.body as { githubLogin: string; organizations: { githubLogin: string }[] }
      assert.equal(u.githubLogin, 'carol')
      assert.deepEqual(u.organizations.map((o) => o.githubLogin).sort(), ['acme', 'other-org'])
      assert.equal(((await s.call(t, 'GET', '/api/user/organizations/default')).body as { gitHubLogin: string }).gitHubLogin, 'acme')
      const loner = await s.user('loner')
      assert.equal((await s.call(loner, 'GET', '/api/user/organizations/default')).status, 404)
      const bad = await s.call('wrong', 'GET', '/api/user')
      assert.equal(bad.status, 401)
      assert.match(bad.headers.get('x-pulumi-request-id') ?? '', /^[0-9a-f-]{36}$/, 'request id for support')
    })

    it('lists environments of every org, paging until nextToken is empty', async () => {
      for (const [org, p, n] of [
        ['acme', 'a', 'one'],
        ['acme', 'a', 'two'],
        ['acme', 'b', 'three'],
        ['other-org', 'a', 'four'],
      ]) {
        assert.equal((await s.call(t, 'POST', `/api/esc/environments/${org}`, { project: p, name: n })).status, 200)
      }
      const seen: string[] = []
      let token = ''
      for (let i = 0; i < 20; i++) {
        const r = await s.call(t, 'GET', `/api/esc/environments${token ? `?continuationToken=${token}` : ''}`, undefined, CLI)
        const body = r.body as { environments: { organization: string; project: string; name: string; created: string }[]; nextToken: string }
        for (const e of body.environments) {
          seen.push(`${e.organization}/${e.project}/${e.name}`)
          assert.ok(!Number.isNaN(Date.parse(e.created)), 'RFC 3339 times')
        }
        if (!body.nextToken) break
        token = body.nextToken
      }
      assert.deepEqual(seen, ['acme/a/one', 'acme/a/two', 'acme/b/three', 'other-org/a/four'])
      assert.equal((await s.call(t, 'GET', '/api/esc/environments/nope-org')).status, 404)
    })

    it('takes YAML labelled application/json, answers with Pulumi-ESC-Revision, and pages revisions to an empty page', async () => {
      const E = '/api/esc/environments/acme/a/one'
      for (let i = 1; i <= 3; i++) {
        const r = await s.call(t, 'PATCH', E, `values:\n  n: ${i}\n`, { 'content-type': 'application/json', ...CLI })
        assert.equal(r.status, 200, r.text)
        assert.equal(r.headers.get('pulumi-esc-revision'), String(i + 1))
      }
      for (const path of [E, `${E}/versions/2`, `${E}/decrypt`, `${E}/versions/latest/decrypt`]) {
        const r = await s.call(t, 'GET', path, undefined, CLI)
        assert.equal(r.status, 200)
        assert.match(r.headers.get('pulumi-esc-revision') ?? '', /^[0-9]+$/)
        assert.ok(r.headers.get('etag'))
      }
      const numbers: number[] = []
      let before = 0
      for (let i = 0; i < 10; i++) {
        const page = (await s.call(t, 'GET', `${E}/versions?before=${before}&count=2`, undefined, CLI)).body as { number: number }[]
        if (page.length === 0) break
        numbers.push(...page.map((p) => p.number))
        before = page[page.length - 1]!.number
      }
      assert.deepEqual(numbers, [4, 3, 2, 1])
      const one = (await s.call(t, 'GET', `${E}/versions?before=3&count=1`)).body as { number: number }[]
      assert.deepEqual(
        one.map((x) => x.number),
        [2],
        '`env version <env>@2` asks before=N+1&count=1',
      )
      const tags: string[] = []
      let after = ''
      for (let i = 0; i < 10; i++) {
        const page = (await s.call(t, 'GET', `${E}/versions/tags?after=${after}&count=500`)).body as { tags: { name: string }[] }
        if (page.tags.length === 0) break
        tags.push(...page.tags.map((x) => x.name))
        after = page.tags[page.tags.length - 1]!.name
      }
      assert.deepEqual(tags, ['latest'])
      const envTags = (await s.call(t, 'GET', `${E}/tags?after=&count=100`)).body as { nextToken: string }
      assert.equal(envTags.nextToken, '0')
    })

    it('opens with Go durations and reports bad ones; check answers 400 with code and diagnostics', async () => {
      const E = '/api/esc/environments/acme/a/two'
      await s.call(t, 'PATCH', E, 'values:\n  environmentVariables:\n    FOO: bar\n')
      for (const d of ['2h0m0s', '300ms', '1.5h', '2h45m']) assert.equal((await s.call(t, 'POST', `${E}/open?duration=${d}`, undefined, CLI)).status, 200, d)
      const bad = await s.call(t, 'POST', `${E}/open?duration=forever`)
      assert.equal(bad.status, 400)
      assert.match((bad.body as { message: string }).message, /invalid duration "forever"/)
      const o = await s.call(t, 'POST', `${E}/open?duration=2h0m0s`)
      const env = (await s.call(t, 'GET', `${E}/open/${(o.body as { id: string }).id}`)).body as {
        properties: { environmentVariables: { value: { FOO: { value: string; trace: unknown } } } }
      }
      assert.equal(env.properties.environmentVariables.value.FOO.value, 'bar', 'nested Values all the way down')
      const check = await s.call(t, 'POST', '/api/esc/environments/acme/yaml/check?showSecrets=false', 'values:\n  a: ${nope}\n', {
        'content-type': 'application/json',
      })
      assert.equal(check.status, 400)
      const body = check.body as { code: number; diagnostics: { summary: string; severity: string }[] }
      assert.equal(body.code, 400)
      assert.equal(body.diagnostics[0]?.summary, 'unknown property "nope"')
      assert.equal((await s.call(t, 'HEAD', '/api/esc/environments/acme/a/missing')).status, 404)
      const del = await s.call(t, 'PATCH', '/api/esc/environments/acme/a/two/settings', { deletionProtected: true })
      assert.equal(del.status, 204)
      const refused = await s.call(t, 'DELETE', E)
      assert.equal(refused.status, 409)
      assert.match((refused.body as { message: string }).message, /protect/)
    })
  })
}
