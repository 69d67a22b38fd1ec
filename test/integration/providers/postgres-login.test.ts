/**
 * postgres-login against the real PostgreSQL: a created login works before its TTL and is refused after it
 * (PostgreSQL checks VALID UNTIL at login), expired logins are dropped by later opens and by the cleanup
 * function, grants are applied, and failures are clear and free of secrets.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cleanupExpiredLogins, createProviderRegistry, ProviderError } from '../../../electron/providers/index.ts'
import type { JsonValue, Provider } from '../../../shared/esc/host.ts'
import { PG_URL, query, skipNoPg, sleep, unwrap } from './helpers.ts'

const PREFIX = 'envtest_login_'
const ctx = { environment: 'test/postgres-login' }

async function rolesWithPrefix(): Promise<string[]> {
  const rows = await query(PG_URL as string, `SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)`, [PREFIX])
  return rows.map((r) => r.rolname as string)
}

describe('postgres-login provider', { skip: skipNoPg }, () => {
  let provider: Provider
  before(async () => {
    provider = createProviderRegistry({ pluginsPath: [] }).provider('postgres-login') as Provider
    // a schema of its own: `privileges` grants on ALL tables of the schemas, which must not touch other tests' tables
    await query(
      PG_URL as string,
      `DROP SCHEMA IF EXISTS envtest_login CASCADE; CREATE SCHEMA envtest_login; CREATE TABLE envtest_login.data (n int); INSERT INTO envtest_login.data VALUES (42)`,
    )
    await query(
      PG_URL as string,
      `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'envtest_login_reader') THEN CREATE ROLE envtest_login_reader NOLOGIN; END IF; END $$`,
    )
    await query(PG_URL as string, `GRANT USAGE ON SCHEMA envtest_login TO envtest_login_reader; GRANT SELECT ON envtest_login.data TO envtest_login_reader`)
  })
  after(async () => {
    await cleanupExpiredLogins(PG_URL as string, { prefix: PREFIX, now: new Date(Date.now() + 48 * 3_600_000) })
    await query(PG_URL as string, `DROP SCHEMA IF EXISTS envtest_login CASCADE; DROP ROLE IF EXISTS envtest_login_reader`)
  })

  it('creates a login that works before its TTL and is refused after it', async () => {
    const out = await provider.open(
      { connection: PG_URL as string, grant: { privileges: 'readonly', schemas: ['envtest_login'] }, ttl: '2s', prefix: PREFIX },
      ctx,
    )
    const { json, secrets } = unwrap(out)
    const c = json as { [k: string]: JsonValue }
    assert.deepEqual(secrets.sort(), ['password', 'url'])
    assert.match(c.username as string, /^envtest_login_[a-z0-9]+_[0-9a-f]{10}$/)
    assert.equal(c.host, '127.0.0.1')
    assert.equal(c.port, 5432)
    assert.equal(c.database, 'envelope_test')
    const expiresAt = Date.parse(c.expiresAt as string)
    assert.ok(expiresAt > Date.now() && expiresAt <= Date.now() + 2000)

    // the URL and the separate fields both log in, and the grant lets it read
    assert.deepEqual(await query(c.url as string, 'SELECT n FROM envtest_login.data'), [{ n: 42 }])
    assert.deepEqual(await query(`postgres://${c.username as string}:${c.password as string}@127.0.0.1:5432/envelope_test`, 'SELECT current_user AS u'), [
      { u: c.username },
    ])
    // readonly: no writes
    await assert.rejects(query(c.url as string, 'INSERT INTO envtest_login.data VALUES (1)'), { code: '42501' })

    await sleep(expiresAt - Date.now() + 1000)
    await assert.rejects(query(c.url as string, 'SELECT 1'), (err: Error & { code?: string }) => {
      assert.equal(err.code, '28P01') // password authentication failed: the role's VALID UNTIL has passed
      return true
    })
  })

  it('grants membership of an existing role', async () => {
    const out = await provider.open({ connection: PG_URL as string, grant: { role: 'envtest_login_reader' }, ttl: '1m', prefix: PREFIX }, ctx)
    const c = unwrap(out).json as { [k: string]: string }
    assert.deepEqual(await query(c.url as string, 'SELECT n FROM envtest_login.data'), [{ n: 42 }])
  })

  it('serves concurrent opens (ten at once) with distinct working logins', async () => {
    const outs = await Promise.all(
      Array.from({ length: 10 }, () =>
        provider.open({ connection: PG_URL as string, grant: { privileges: 'readonly', schemas: ['envtest_login'] }, ttl: '1m', prefix: PREFIX }, ctx),
      ),
    )
    const creds = outs.map((o) => unwrap(o).json as { [k: string]: string })
    assert.equal(new Set(creds.map((c) => c.username)).size, 10)
    for (const c of creds) assert.deepEqual(await query(c.url as string, 'SELECT n FROM envtest_login.data'), [{ n: 42 }])
  })

  it('drops the expired logins it created on a later open, and leaves live ones alone', async () => {
    const first = unwrap(
      await provider.open({ connection: PG_URL as string, grant: { privileges: 'readonly', schemas: ['envtest_login'] }, ttl: '1s', prefix: PREFIX }, ctx),
    ).json as { [k: string]: string }
    const live = unwrap(
      await provider.open({ connection: PG_URL as string, grant: { privileges: 'readonly', schemas: ['envtest_login'] }, ttl: '10m', prefix: PREFIX }, ctx),
    ).json as { [k: string]: string }
    assert.ok((await rolesWithPrefix()).includes(first.username as string))
    await sleep(1500)
    const later = unwrap(
      await provider.open({ connection: PG_URL as string, grant: { privileges: 'readonly', schemas: ['envtest_login'] }, ttl: '10m', prefix: PREFIX }, ctx),
    ).json as { [k: string]: string }
    const roles = await rolesWithPrefix()
    assert.ok(!roles.includes(first.username as string), 'the expired login was dropped')
    assert.ok(roles.includes(live.username as string) && roles.includes(later.username as string))
    // a role of the same prefix that postgres-login did not create is never dropped
    await query(PG_URL as string, `DROP ROLE IF EXISTS envtest_login_foreign; CREATE ROLE envtest_login_foreign LOGIN VALID UNTIL '2000-01-01'`)
    const { dropped } = await cleanupExpiredLogins(PG_URL as string, { prefix: PREFIX, now: new Date(Date.now() + 3_600_000) })
    assert.ok(dropped.includes(live.username as string) && dropped.includes(later.username as string))
    assert.ok(!dropped.includes('envtest_login_foreign'))
    assert.ok((await rolesWithPrefix()).includes('envtest_login_foreign'))
    await query(PG_URL as string, `DROP ROLE envtest_login_foreign`)
  })

  it('cleans up a login that owns objects', async () => {
    const c = unwrap(
      await provider.open({ connection: PG_URL as string, grant: { privileges: 'all', schemas: ['envtest_login'] }, ttl: '1s', prefix: PREFIX }, ctx),
    ).json as { [k: string]: string }
    await query(PG_URL as string, `GRANT CREATE ON SCHEMA envtest_login TO ${c.username as string}`)
    await query(c.url as string, 'CREATE TABLE envtest_login.owned (x int)')
    await sleep(1500)
    const { dropped, failed } = await cleanupExpiredLogins(PG_URL as string, { prefix: PREFIX })
    assert.deepEqual(failed, [])
    assert.ok(dropped.includes(c.username as string))
    const owner = await query(PG_URL as string, `SELECT tableowner FROM pg_tables WHERE schemaname = 'envtest_login' AND tablename = 'owned'`)
    assert.deepEqual(owner, [{ tableowner: 'envelope' }])
    await query(PG_URL as string, 'DROP TABLE envtest_login.owned')
  })

  it('fails clearly without echoing the admin password', async () => {
    const bad = (PG_URL as string).replace('envelope:envelope@', 'envelope:Wr0ngSecretPw@')
    await assert.rejects(provider.open({ connection: bad, grant: { privileges: 'readonly' }, ttl: '1m' }, ctx), (err: Error) => {
      assert.ok(err instanceof ProviderError)
      assert.match(err.message, /^postgres-login: cannot connect to 127\.0\.0\.1:5432\/envelope_test as admin: password authentication failed/)
      assert.doesNotMatch(err.message, /Wr0ngSecretPw/)
      return true
    })
  })

  it('rejects bad inputs with the field named, and leaves no role behind when a grant fails', async () => {
    const cases: [JsonValue, RegExp][] = [
      [{ grant: { privileges: 'readonly' } }, /connection is required/],
      [{ connection: 'mysql://x@y/z', grant: { privileges: 'readonly' } }, /must start with postgres:\/\//],
      [{ connection: PG_URL as string, grant: { privileges: 'readonly' }, ttl: 'soon' }, /ttl "soon" is not a duration/],
      [{ connection: PG_URL as string, grant: { privileges: 'readonly' }, ttl: '48h' }, /ttl must be at most/],
      [{ connection: PG_URL as string, grant: { privileges: 'superpowers' } }, /grant\.privileges "superpowers" is not a preset/],
      [{ connection: PG_URL as string, grant: { privileges: ['SELECT', 'DROP'] } }, /"DROP" is not a table privilege/],
      [{ connection: PG_URL as string, grant: {} }, /grant needs a role/],
      [{ connection: PG_URL as string, grant: { roel: 'x' } }, /grant\.roel is not a known grant field/],
    ]
    for (const [inputs, re] of cases) await assert.rejects(provider.open(inputs, ctx), re)
    const before = await rolesWithPrefix()
    await assert.rejects(
      provider.open({ connection: PG_URL as string, grant: { role: 'envtest_no_such_role' }, ttl: '1m', prefix: PREFIX }, ctx),
      /creating a login in 127\.0\.0\.1:5432\/envelope_test failed: role "envtest_no_such_role" does not exist/,
    )
    assert.deepEqual((await rolesWithPrefix()).sort(), before.sort())
  })
})
