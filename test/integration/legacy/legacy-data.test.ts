/**
 * Existing data keeps working (issue 11): a local store, a key export, a team-server database (SQLite, and the
 * same data on PostgreSQL as a pg_dump when ENVELOPE_TEST_PG_URL is set) and a store synced with that server,
 * all made at e52f4bb by test/fixtures/legacy/make.ts, open and sync with the current code and show exactly
 * what that code showed (test/fixtures/legacy/expected/*.json), and accept new writes.
 *
 * Every test works on a COPY in a temp folder (opening may migrate a file; the committed fixtures must stay
 * as the old code wrote them, which the last test checks). Through the real faces only: the `envelope` CLI as
 * child processes and `node server/main.ts` over HTTP. The sync part keeps its token in the OS keychain: run
 * under test/with-keyring.sh.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { envelope, tempDir } from '../cli/helpers.ts'
import {
  EXPORT_PASSPHRASE,
  FIXTURE_PORT,
  ORG,
  PG_SCHEMA,
  TOKENS_FILE,
  http,
  recordLocal,
  recordServer,
  run,
  startServer,
  stopServer,
  type LocalRecord,
  type ServerRecord,
  type Tokens,
} from '../../fixtures/legacy/record.ts'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'legacy')
const expected = <T>(name: string) => JSON.parse(readFileSync(join(FIXTURES, 'expected', `${name}.json`), 'utf8')) as T
const tokens = JSON.parse(readFileSync(join(FIXTURES, TOKENS_FILE), 'utf8')) as Tokens
const PG_URL = process.env.ENVELOPE_TEST_PG_URL

/** sha256 of every committed fixture file, to prove none is opened (and migrated) in place */
function fixtureHashes(): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f)
      if (statSync(p).isDirectory()) walk(p)
      else out[p.slice(FIXTURES.length + 1)] = createHash('sha256').update(readFileSync(p)).digest('hex')
    }
  }
  walk(FIXTURES)
  return out
}

/** Copies fixture parts (files or folders) into a fresh temp folder; key files owner-only, as the old code made them. */
function copyFixture(parts: string[]): string {
  const dir = tempDir('envelope-legacy-')
  for (const p of parts) cpSync(join(FIXTURES, p), join(dir, p), { recursive: true })
  for (const p of ['local.key', 'synced.key', 'server/kek', 'server-pg/kek', 'key-export.txt']) if (existsSync(join(dir, p))) chmodSync(join(dir, p), 0o600)
  return dir
}

/** The recorded audit records are still there, unchanged, as the oldest ones (newest-first lists). */
function assertAuditKept(now: { id: number }[], recorded: { id: number }[]) {
  assert.ok(recorded.length > 0)
  assert.deepEqual(now.slice(now.length - recorded.length), recorded)
}

/** Everything but the audit log is exactly as recorded. */
function assertSameAsRecorded(actual: LocalRecord, recorded: LocalRecord) {
  const { audit: a, ...rest } = actual
  const { audit: r, ...restRecorded } = recorded
  assert.deepEqual(rest, restRecorded)
  assertAuditKept(a, r)
}

/** The bytes of a SQLite database with its WAL: where a plaintext secret must never be. */
function dbBytes(file: string): string {
  return [file, `${file}-wal`]
    .filter(existsSync)
    .map((f) => readFileSync(f).toString('latin1'))
    .join('')
}

const hashesBefore = fixtureHashes()

describe('legacy data made at e52f4bb', () => {
  const dirs: string[] = []
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('a local store opens: every environment at every revision, tags, history, retraction, audit and settings as recorded; new saves and secrets work', async () => {
    const dir = copyFixture(['local', 'local.key'])
    dirs.push(dir)
    const env = { ENVELOPE_DATA_DIR: join(dir, 'local'), ENVELOPE_KEY_FILE: join(dir, 'local.key') }
    const recorded = expected<LocalRecord>('local')
    assertSameAsRecorded(await recordLocal(env), recorded)
    const key = JSON.parse(await run(['key', 'status', '-o', 'json'], env)) as { backend: string; available: boolean; keyId: string }
    assert.equal(key.backend, 'keyfile')
    assert.equal(key.available, true)

    // a new revision with a new secret, on an environment with history, imports and a retracted revision
    await run(['env', 'set', 'app/dev', 'afterUpgrade', 'fresh-secret-after-upgrade-9f3', '--secret', '-m', 'after the upgrade'], env)
    const latest = recorded.perEnvironment['app/dev']!.history as { number: number }[]
    const n = Math.max(...latest.map((h) => h.number)) + 1
    const def = await run(['env', 'get', `app/dev@${n}`, '--definition', '--show-secrets'], env)
    assert.match(def, /afterUpgrade:\n {4}fn::secret: fresh-secret-after-upgrade-9f3\n/)
    const values = JSON.parse(await run(['open', 'app/dev', '-f', 'json'], env)) as Record<string, unknown>
    assert.equal(values.afterUpgrade, 'fresh-secret-after-upgrade-9f3')
    assert.equal(values.dbPassword, 'pä$$wörd "quoted" \'single\'', 'the imported secret of the old revision still opens')
    const history = JSON.parse(await run(['env', 'version', 'history', 'app/dev', '-o', 'json'], env)) as { number: number; message?: string }[]
    assert.equal(history[0]!.number, n)
    assert.equal(history[0]!.message, 'after the upgrade')
    const older = (recorded.perEnvironment['app/dev']!.history as { tags: string[] }[]).map((h) => ({ ...h, tags: h.tags.filter((t) => t !== 'latest') }))
    assert.deepEqual(history.slice(1), older, 'the older revisions are untouched (only `latest` moved)')
    // a new environment, a new tag
    await run(['env', 'init', 'infra/new', '-f', '-'], env, 'values:\n  k:\n    fn::secret: brand-new-secret-77\n')
    assert.equal((JSON.parse(await run(['open', 'infra/new', '-f', 'json'], env)) as { k: string }).k, 'brand-new-secret-77')
    await run(['env', 'version', 'tag', 'app/base@after'], env)
    assert.match(await run(['env', 'version', 'tag', 'ls', 'app/base'], env), /^after\t3$/m)
    for (const secret of ['fresh-secret-after-upgrade-9f3', 'brand-new-secret-77', 'sk-live-1234567890abcdef', 'ключ-秘密-🔑']) {
      assert.ok(!dbBytes(join(dir, 'local', 'envelope.db')).includes(Buffer.from(secret).toString('latin1')), `no plaintext "${secret}" on disk`)
    }
    // the audit kept the old records and added the new save
    const audit = JSON.parse(await run(['audit', '-o', 'json', '-n', '100000'], env)) as { id: number; action: string; target: string }[]
    assertAuditKept(audit, recorded.audit)
    assert.ok(
      audit.some((a) => a.action === 'update' && a.target === 'app/dev'),
      JSON.stringify(audit.slice(0, 5)),
    )
  })

  it('the key export imports (with its passphrase) into a copy of the store that lacks its key, whose secrets then read as recorded', async () => {
    const dir = copyFixture(['local', 'key-export.txt'])
    dirs.push(dir)
    const env = { ENVELOPE_DATA_DIR: join(dir, 'local'), ENVELOPE_KEY_FILE: join(dir, 'imported.key') }
    const recorded = expected<LocalRecord>('local')
    const before = await envelope(['env', 'get', 'app/base', '--definition', '--show-secrets'], { env })
    assert.equal(before.code, 1, 'without its key the store does not open')
    const wrong = await envelope(['key', 'import', join(dir, 'key-export.txt')], { env: { ...env, ENVELOPE_EXPORT_PASSPHRASE: 'not the passphrase' } })
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /wrong passphrase/)
    assert.ok(!existsSync(env.ENVELOPE_KEY_FILE), 'a refused import writes no key file')
    assert.match(await run(['key', 'import', join(dir, 'key-export.txt')], { ...env, ENVELOPE_EXPORT_PASSPHRASE: EXPORT_PASSPHRASE }), /^Key \S+ imported\.$/m)
    for (const [id, e] of Object.entries(recorded.perEnvironment)) {
      for (const [n, r] of Object.entries(e.revisions)) {
        if ('retracted' in r) continue
        assert.equal(await run(['env', 'get', `${id}@${n}`, '--definition', '--show-secrets'], env), r.definition, `${id}@${n}`)
      }
    }
    assert.deepEqual(
      JSON.parse(await run(['open', 'infra/db', '-f', 'json'], env)),
      (recorded.perEnvironment['infra/db']!.revisions['2'] as { values: unknown }).values,
    )

    // a fresh, empty store adopts the exported key
    const fresh = { ENVELOPE_DATA_DIR: join(dir, 'fresh'), ENVELOPE_KEY_FILE: join(dir, 'fresh.key') }
    const imported = await run(['key', 'import', join(dir, 'key-export.txt')], { ...fresh, ENVELOPE_EXPORT_PASSPHRASE: EXPORT_PASSPHRASE })
    assert.equal(
      imported,
      await run(['key', 'import', join(dir, 'key-export.txt')], {
        ...env,
        ENVELOPE_KEY_FILE: join(dir, 'again.key'),
        ENVELOPE_EXPORT_PASSPHRASE: EXPORT_PASSPHRASE,
      }),
    )
    assert.deepEqual(readFileSync(fresh.ENVELOPE_KEY_FILE), readFileSync(env.ENVELOPE_KEY_FILE))
    await run(['env', 'init', 'p/e', '-f', '-'], fresh, 'values:\n  s:\n    fn::secret: on-the-second-machine\n')
    assert.equal((JSON.parse(await run(['open', 'p/e', '-f', 'json'], fresh)) as { s: string }).s, 'on-the-second-machine')
  })

  /** The server fixtures: the SQLite file, and the same data on PostgreSQL as a pg_dump (when ENVELOPE_TEST_PG_URL is set). */
  const backends: {
    name: string
    skip?: string
    expected: string
    tokens: Tokens
    start(): Promise<{ db: string; kek: string; extra: string[]; dump(): string; drop?(): Promise<void> }>
  }[] = [
    {
      name: 'SQLite',
      expected: 'server',
      tokens,
      async start() {
        const dir = copyFixture(['server'])
        dirs.push(dir)
        const file = join(dir, 'server', 'server.sqlite')
        return { db: `sqlite:${file}`, kek: join(dir, 'server', 'kek'), extra: [], dump: () => dbBytes(file) }
      },
    },
    {
      name: 'PostgreSQL (pg_dump)',
      ...(PG_URL ? {} : { skip: 'ENVELOPE_TEST_PG_URL is not set (export ENVELOPE_TEST_PG_URL=$(bash test/pg.sh))' }),
      expected: 'server-pg',
      tokens: JSON.parse(readFileSync(join(FIXTURES, 'server-pg', 'tokens.json'), 'utf8')) as Tokens,
      async start() {
        const dir = copyFixture(['server-pg'])
        dirs.push(dir)
        // restored under a schema of its own (the dump names PG_SCHEMA everywhere)
        const schema = `t_legacy_${randomBytes(5).toString('hex')}`
        writeFileSync(join(dir, 'restore.sql'), readFileSync(join(dir, 'server-pg', 'dump.sql'), 'utf8').replaceAll(PG_SCHEMA, schema))
        const psql = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--dbname', PG_URL!, '--file', join(dir, 'restore.sql')], { encoding: 'utf8' })
        assert.equal(psql.status, 0, psql.stderr)
        return {
          db: PG_URL!,
          kek: join(dir, 'server-pg', 'kek'),
          extra: ['--pg-schema', schema],
          dump: () => spawnSync('pg_dump', ['--schema', schema, '--dbname', PG_URL!], { encoding: 'utf8' }).stdout,
          async drop() {
            const c = new pg.Client({ connectionString: PG_URL })
            await c.connect()
            await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
            await c.end()
          },
        }
      },
    },
  ]

  for (const backend of backends) {
    describe(`the team server database: ${backend.name}`, { ...(backend.skip ? { skip: backend.skip } : {}) }, () => {
      const t = backend.tokens
      let db: Awaited<ReturnType<typeof backend.start>> | undefined
      let server: Awaited<ReturnType<typeof startServer>> | undefined
      before(async () => {
        db = await backend.start()
        server = await startServer(db.db, db.kek, 0, db.extra)
      })
      after(async () => {
        if (server) await stopServer(server.proc)
        await db?.drop?.()
      })

      it('with the recorded tokens: identities, visibility, grants, every revision decrypted and opened as recorded', async () => {
        const recorded = expected<ServerRecord>(backend.expected)
        const actual = await recordServer(server!.url, t)
        const { audit, session, ...rest } = actual
        const { audit: recordedAudit, session: recordedSession, ...recordedRest } = recorded
        assert.deepEqual(rest, recordedRest)
        assert.ok(recordedAudit.length > 0)
        assert.deepEqual(audit.slice(0, recordedAudit.length), recordedAudit, 'the audit log keeps its records')
        // carol's open session: its sealed result reads back until it expires (168 h after the fixture was made)
        if (Date.now() < Date.parse(t.sessionExpires!) - 60_000) assert.deepEqual(session, recordedSession)
        else assert.equal(session.status, 404)
        assert.equal((await http(server!.url, 'esc_not-a-token-at-all', 'GET', '/api/user')).status, 401)
      })

      it('a PATCH with a new secret works; roles still hold', async () => {
        const recorded = expected<ServerRecord>(backend.expected)
        const base = `/api/esc/environments/${ORG}/app/base`
        const latest = recorded.perEnvironment['app/base']!.revisions['3']!.decrypted as string
        const next = `${latest}  added:\n    fn::secret: server-secret-after-upgrade-51\n`
        const patched = await http(server!.url, t.alice!, 'PATCH', base, next)
        assert.equal(patched.status, 200, JSON.stringify(patched.body))
        assert.equal((await http(server!.url, t.alice!, 'GET', `${base}/versions/4/decrypt`)).body, next)
        const opened = (await http(server!.url, t.alice!, 'POST', `${base}/open`)).body as { id: string }
        const values = (await http(server!.url, t.alice!, 'GET', `${base}/open/${opened.id}`)).body as { properties: Record<string, { value: unknown }> }
        assert.equal(values.properties.added!.value, 'server-secret-after-upgrade-51')
        assert.equal(values.properties.apiKey!.value, 'srv-key-0002')
        // bob reads through his team (ciphertext only), may not decrypt nor write; carol may not see infra/db
        const read = await http(server!.url, t.bob!, 'GET', base)
        assert.equal(read.status, 200)
        assert.ok(!String(read.body).includes('server-secret-after-upgrade-51'))
        assert.equal((await http(server!.url, t.bob!, 'GET', `${base}/decrypt`)).status, 403)
        assert.equal((await http(server!.url, t.bob!, 'PATCH', base, next)).status, 403)
        assert.equal((await http(server!.url, t.carol!, 'GET', `/api/esc/environments/${ORG}/infra/db`)).status, 403)
        const stored = db!.dump()
        assert.ok(stored.length > 0)
        for (const secret of ['server-secret-after-upgrade-51', 'srv-key-0002']) assert.ok(!stored.includes(secret), `no plaintext "${secret}" in the database`)
      })
    })
  }

  describe('a store synced with that server', () => {
    let dir = ''
    let server: Awaited<ReturnType<typeof startServer>> | undefined
    let env: Record<string, string> = {}
    before(async () => {
      dir = copyFixture(['server', 'synced', 'synced.key'])
      dirs.push(dir)
      env = { ENVELOPE_DATA_DIR: join(dir, 'synced'), ENVELOPE_KEY_FILE: join(dir, 'synced.key') }
      // the sync state names the server's URL, so the server listens where it did when the fixture was made
      server = await startServer('sqlite:' + join(dir, 'server', 'server.sqlite'), join(dir, 'server', 'kek'), FIXTURE_PORT).catch((err: Error) => {
        throw new Error(`cannot start the fixture server on port ${FIXTURE_PORT} (is the port taken?): ${err.message}`)
      })
    })
    after(async () => {
      if (dir) await envelope(['sync', 'logout'], { env }) // removes the keychain item of this temp folder
      if (server) await stopServer(server.proc)
    })

    it('logs in again (the token was in the old keychain), is in sync, shows its history as recorded; an edit pushes and a server edit pulls', async () => {
      const recorded = expected<LocalRecord>('synced')
      const url = `http://127.0.0.1:${FIXTURE_PORT}`
      assert.equal(server!.url, url)
      const stateBefore = readFileSync(join(dir, 'synced', 'sync.json'), 'utf8')
      assert.match(await run(['sync', 'login', url, '--token', tokens.alice!], env), /as alice \(organization acme\)/)
      assert.ok(!readFileSync(join(dir, 'synced', 'sync.json'), 'utf8').includes(tokens.alice!), 'no token on disk')
      assert.deepEqual(
        JSON.parse(readFileSync(join(dir, 'synced', 'sync.json'), 'utf8')),
        JSON.parse(stateBefore),
        'logging in to the same server and org keeps the sync state',
      )
      assertSameAsRecorded(await recordLocal(env, { sync: true }), recorded)
      const status = (recorded.sync as { environments: { state: string }[] }).environments
      assert.ok(status.length >= 3 && status.every((s) => s.state === 'in-sync'), JSON.stringify(status))

      // a local edit pushes
      await run(['env', 'set', 'sync/notes', 'note', 'edited after the upgrade', '-m', 'notes: after the upgrade'], env)
      assert.match(await run(['sync', 'push'], env), /sync\/notes\s+.*pushed/)
      const remote = await http(url, tokens.alice!, 'GET', `/api/esc/environments/${ORG}/sync/notes/decrypt`)
      assert.equal(remote.body, await run(['env', 'get', 'sync/notes', '--definition', '--show-secrets'], env))
      assert.match(String(remote.body), /note: edited after the upgrade/)

      // a server edit pulls
      const dev = `/api/esc/environments/${ORG}/app/dev`
      const text = `${(await http(url, tokens.alice!, 'GET', `${dev}/decrypt`)).body as string}  fromServer:\n    fn::secret: pulled-after-upgrade-23\n`
      assert.equal((await http(url, tokens.alice!, 'PATCH', dev, text)).status, 200)
      assert.match(await run(['sync', 'pull'], env), /app\/dev\s+.*pulled/)
      assert.equal(await run(['env', 'get', 'app/dev', '--definition', '--show-secrets'], env), text)
      assert.equal((JSON.parse(await run(['open', 'app/dev', '-f', 'json'], env)) as { fromServer: string }).fromServer, 'pulled-after-upgrade-23')
      const final = JSON.parse(await run(['sync', 'status', '-o', 'json'], env)) as { environments: { environment: string; state: string }[] }
      assert.ok(
        final.environments.every((s) => s.state === 'in-sync'),
        JSON.stringify(final),
      )
    })
  })

  it('left the committed fixtures as the old code wrote them', () => {
    assert.deepEqual(fixtureHashes(), hashesBefore)
  })
})
