/**
 * Drives the server with the unmodified npm client @pulumi/esc-sdk 0.12.4 (an independent implementation of the
 * wire protocol), on SQLite and on PostgreSQL. Follows the SDK's own integration scenario against Pulumi Cloud
 * (esc-api.md §2 "Reference scenario") plus paging, ETag conflicts, and secrets-at-rest checks.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { Configuration, EscApi } from '@pulumi/esc-sdk'
import { BACKENDS, startServer } from './helpers.ts'
import type { TestServer } from './helpers.ts'

const ORG = 'acme'
const SECRET = "shh! don't tell"

function client(s: TestServer, token: string): EscApi {
  const c = new EscApi(new Configuration({ accessToken: token }))
  c.config.basePath = `${s.url}/api/esc` // the SDK drops the port (esc-api.md §0)
  return c
}

const statusOf = async (p: Promise<unknown>): Promise<number> => {
  try {
    await p
    return 200
  } catch (err) {
    const e = err as { response?: { status: number } }
    if (!e.response) throw err
    return e.response.status
  }
}

for (const backend of BACKENDS) {
  describe(`@pulumi/esc-sdk against the server (${backend})`, () => {
    let s: TestServer
    let esc: EscApi
    before(async () => {
      s = await startServer(backend, { org: ORG, pageSize: 2 })
      esc = client(s, await s.user('alice', { org: ORG, orgRole: 'admin' }))
    })
    after(() => s.close())

    it('runs the SDK reference scenario: create, clone, update, read, decrypt, open, revisions, tags, delete', async () => {
      await esc.createEnvironment(ORG, 'project', 'base')
      await esc.updateEnvironmentYaml(ORG, 'project', 'base', 'values:\n  base: from-base\n')

      await esc.createEnvironment(ORG, 'project', 'dev')
      await esc.cloneEnvironment(ORG, 'project', 'dev', 'project', 'dev-clone')
      const orig = await esc.getEnvironment(ORG, 'project', 'dev')
      const clone = await esc.getEnvironment(ORG, 'project', 'dev-clone')
      assert.equal(orig?.yaml, '')
      assert.equal(clone?.yaml, '')

      const empty = await esc.openAndReadEnvironment(ORG, 'project', 'dev')
      assert.deepEqual(empty?.environment, {})
      assert.deepEqual(empty?.values, {})

      const definition = {
        imports: ['project/base'],
        values: {
          foo: 'bar',
          my_secret: { 'fn::secret': SECRET },
          my_array: [1, 2, 3],
          pulumiConfig: { foo: '${foo}' },
          environmentVariables: { FOO: '${foo}' },
        },
      }
      const upd = await esc.updateEnvironment(ORG, 'project', 'dev', definition)
      assert.equal(upd?.diagnostics, undefined)

      const stored = await esc.getEnvironment(ORG, 'project', 'dev')
      assert.ok(stored?.yaml.includes('my_secret'))
      assert.ok(stored?.yaml.includes('ciphertext'), 'GET returns the secret as ciphertext')
      assert.ok(!stored?.yaml.includes(SECRET), 'GET never shows the plaintext secret')

      const dec = await esc.decryptEnvironment(ORG, 'project', 'dev')
      assert.ok(dec?.yaml.includes(SECRET), 'decrypt shows the plaintext secret')
      assert.ok(!dec?.yaml.includes('ciphertext'))

      const opened = await esc.openAndReadEnvironment(ORG, 'project', 'dev')
      assert.deepEqual(opened?.values, {
        base: 'from-base',
        foo: 'bar',
        my_secret: SECRET,
        my_array: [1, 2, 3],
        pulumiConfig: { foo: 'bar' },
        environmentVariables: { FOO: 'bar' },
      })
      const props = (opened?.environment as { properties: Record<string, { secret?: boolean }> }).properties
      assert.equal(props.my_secret?.secret, true, 'the secret flag is on the wire')

      const session = await esc.openEnvironment(ORG, 'project', 'dev')
      const prop = await esc.readOpenEnvironmentProperty(ORG, 'project', 'dev', session!.id, 'pulumiConfig.foo')
      assert.equal(prop?.value, 'bar')
      const envVar = await esc.readOpenEnvironmentProperty(ORG, 'project', 'dev', session!.id, 'environmentVariables["FOO"]')
      assert.equal(envVar?.value, 'bar')

      const v2 = await esc.getEnvironmentAtVersion(ORG, 'project', 'dev', '2')
      assert.deepEqual((v2?.definition as { values: { foo: string } }).values.foo, 'bar')

      await esc.updateEnvironmentYaml(ORG, 'project', 'dev', 'imports:\n  - project/base\nvalues:\n  foo: baz\n')
      const revisions = await esc.listEnvironmentRevisions(ORG, 'project', 'dev')
      assert.deepEqual(
        revisions?.map((r) => r.number),
        [3, 2, 1],
        'newest first',
      )
      assert.deepEqual(revisions?.[0]?.tags, ['latest'])
      // CLI paging: before = last number until an empty page
      assert.deepEqual(
        (await esc.listEnvironmentRevisions(ORG, 'project', 'dev', 3, 1))?.map((r) => r.number),
        [2],
      )
      assert.deepEqual(await esc.listEnvironmentRevisions(ORG, 'project', 'dev', 1, 10), [])

      await esc.createEnvironmentRevisionTag(ORG, 'project', 'dev', 'testTag', 2)
      const atTag = await esc.openAndReadEnvironmentAtVersion(ORG, 'project', 'dev', 'testTag')
      assert.equal(atTag?.values?.foo, 'bar')
      assert.equal(atTag?.values?.my_secret, SECRET)
      const tags = await esc.listEnvironmentRevisionTags(ORG, 'project', 'dev')
      assert.deepEqual(
        tags?.tags?.map((t) => t.name),
        ['latest', 'testTag'],
      )
      assert.deepEqual((await esc.listEnvironmentRevisionTags(ORG, 'project', 'dev', 'testTag'))?.tags, [], 'after= is honoured')
      await esc.updateEnvironmentRevisionTag(ORG, 'project', 'dev', 'testTag', 3)
      assert.equal((await esc.getEnvironmentRevisionTag(ORG, 'project', 'dev', 'testTag'))?.revision, 3)
      await esc.deleteEnvironmentRevisionTag(ORG, 'project', 'dev', 'testTag')
      assert.deepEqual(
        (await esc.listEnvironmentRevisionTags(ORG, 'project', 'dev'))?.tags?.map((t) => t.name),
        ['latest'],
      )

      await esc.createEnvironmentTag(ORG, 'project', 'dev', 'owner', 'team-a')
      const listed = await esc.listEnvironmentTags(ORG, 'project', 'dev')
      assert.deepEqual(Object.keys(listed?.tags ?? {}), ['owner'])
      assert.equal(listed?.nextToken, '0')
      await esc.updateEnvironmentTag(ORG, 'project', 'dev', 'owner', 'team-a', 'team', 'team-b')
      assert.equal(await statusOf(esc.getEnvironmentTag(ORG, 'project', 'dev', 'owner')), 404, 'renamed away')
      assert.equal((await esc.getEnvironmentTag(ORG, 'project', 'dev', 'team'))?.value, 'team-b')
      await esc.deleteEnvironmentTag(ORG, 'project', 'dev', 'team')
      assert.deepEqual((await esc.listEnvironmentTags(ORG, 'project', 'dev'))?.tags, {})

      const bad = await esc.checkEnvironmentYaml(ORG, 'values:\n  a: ${bad_ref}\n')
      assert.equal(bad?.diagnostics?.length, 1)
      assert.equal(bad?.diagnostics?.[0]?.summary, 'unknown property "bad_ref"')
      const good = await esc.checkEnvironmentYaml(ORG, 'values:\n  a: 1\n  b: ${a}\n')
      assert.equal(good?.diagnostics, undefined)

      await esc.deleteEnvironment(ORG, 'project', 'dev')
      assert.equal(await statusOf(esc.getEnvironment(ORG, 'project', 'dev')), 404)
    })

    it('keeps secrets encrypted at rest and re-encrypts them for clones', async () => {
      await esc.createEnvironment(ORG, 'rest', 'src')
      await esc.updateEnvironmentYaml(ORG, 'rest', 'src', `values:\n  note: visible-marker-123\n  pw:\n    fn::secret: ${JSON.stringify(SECRET)}\n`)
      await esc.cloneEnvironment(ORG, 'rest', 'src', 'rest', 'copy', { preserveHistory: true })
      for (const name of ['src', 'copy']) {
        const env = await s.repo.getEnvironment(ORG, 'rest', name)
        const rev = await s.repo.getRevision(env!.id, 2)
        assert.ok(rev && !rev.yaml.includes(SECRET), `${name}: stored YAML holds no plaintext`)
        assert.ok(rev.yaml.includes('ciphertext'))
      }
      const a = await s.repo.getEnvironment(ORG, 'rest', 'src')
      const b = await s.repo.getEnvironment(ORG, 'rest', 'copy')
      assert.notEqual(a!.dataKey, b!.dataKey, 'each environment has its own data key')
      assert.notEqual((await s.repo.getRevision(a!.id, 2))!.yaml, (await s.repo.getRevision(b!.id, 2))!.yaml)
      assert.equal((await esc.openAndReadEnvironment(ORG, 'rest', 'copy'))?.values?.pw, SECRET)
      assert.deepEqual(
        (await esc.listEnvironmentRevisions(ORG, 'rest', 'copy'))?.map((r) => r.number),
        [2, 1],
      )
      if (backend === 'sqlite') {
        // the raw database files (after definitions, opens and audit records) hold no plaintext secret
        const file = s.dbUrl.slice('sqlite:'.length)
        const raw = Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)))
        assert.ok(raw.includes(Buffer.from('visible-marker-123')), 'the files hold the definitions (plain values are readable)')
        assert.ok(!raw.includes(Buffer.from(SECRET)), 'no plaintext secret in the database files')
      }
    })

    it('answers a stale ETag with 409 and reports the new revision in Pulumi-ESC-Revision', async () => {
      await esc.createEnvironment(ORG, 'cc', 'env')
      const head = await esc.rawApi.getEnvironment(ORG, 'cc', 'env')
      const etag = head.headers.etag as string
      assert.equal(head.headers['pulumi-esc-revision'], '1')
      const ok = await esc.rawApi.updateEnvironmentYaml(ORG, 'cc', 'env', 'values:\n  a: 1\n', { headers: { ETag: etag } })
      assert.equal(ok.status, 200)
      assert.equal(ok.headers['pulumi-esc-revision'], '2')
      const stale = await statusOf(esc.rawApi.updateEnvironmentYaml(ORG, 'cc', 'env', 'values:\n  a: 2\n', { headers: { ETag: etag } }))
      assert.equal(stale, 409)
      assert.equal((await esc.getEnvironment(ORG, 'cc', 'env'))?.definition?.values?.a, 1, 'the stale save changed nothing')
    })

    it('rejects a definition with errors (400 with diagnostics) and keeps the last revision', async () => {
      await esc.createEnvironment(ORG, 'cc', 'broken')
      const r = await esc.rawApi
        .updateEnvironmentYaml(ORG, 'cc', 'broken', 'values:\n  a: ${nope}\n')
        .catch((e: { response: { status: number; data: unknown } }) => e.response)
      assert.equal(r.status, 400)
      const data = r.data as { code: number; diagnostics: { summary: string }[] }
      assert.equal(data.code, 400)
      assert.equal(data.diagnostics[0]?.summary, 'unknown property "nope"')
      assert.deepEqual(
        (await esc.listEnvironmentRevisions(ORG, 'cc', 'broken'))?.map((x) => x.number),
        [1],
      )
    })

    it('pages the environment list with continuation tokens until nextToken is empty', async () => {
      for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) await esc.createEnvironment(ORG, 'paging', n)
      const seen: string[] = []
      let token: string | undefined
      let pages = 0
      do {
        const page = await esc.listEnvironments(ORG, token)
        seen.push(...(page?.environments ?? []).map((e) => `${e.project}/${e.name}`))
        token = page?.nextToken
        pages++
      } while (token && pages < 50)
      assert.ok(pages > 1, 'more than one page with pageSize 2')
      for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) assert.ok(seen.includes(`paging/${n}`))
      assert.equal(new Set(seen).size, seen.length, 'no duplicates across pages')
    })

    it('treats a retracted revision as gone and moves its tags to the replacement', async () => {
      await esc.createEnvironment(ORG, 'rt', 'env')
      await esc.updateEnvironmentYaml(ORG, 'rt', 'env', 'values:\n  v: 2\n')
      await esc.updateEnvironmentYaml(ORG, 'rt', 'env', 'values:\n  v: 3\n')
      await esc.createEnvironmentRevisionTag(ORG, 'rt', 'env', 'stable', 2)
      const r = await s.call(esc.config.accessToken as string, 'POST', `/api/esc/environments/${ORG}/rt/env/versions/2/retract`, { reason: 'leaked' })
      assert.equal(r.status, 204)
      assert.equal(await statusOf(esc.getEnvironmentAtVersion(ORG, 'rt', 'env', '2')), 404)
      assert.equal((await esc.getEnvironmentRevisionTag(ORG, 'rt', 'env', 'stable'))?.revision, 1)
      const revs = await esc.listEnvironmentRevisions(ORG, 'rt', 'env')
      assert.equal((revs?.find((x) => x.number === 2) as { retracted?: { replacement: number } })?.retracted?.replacement, 1)
      const latest = await s.call(esc.config.accessToken as string, 'POST', `/api/esc/environments/${ORG}/rt/env/versions/3/retract`, {})
      assert.equal(latest.status, 400)
    })
  })
}
