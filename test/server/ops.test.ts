/**
 * Operations: the real `node server/main.ts` process (bootstrap admin, listen, SIGTERM), rate limiting of
 * failed authentication, body limits, logs without secrets or tokens, KEK rotation without downtime, an external
 * KMS command, and several stateless server processes sharing one database.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { BACKENDS, startServer } from './helpers.ts'
import { LocalKek, CommandKek, DataKeys, KeyRing } from '../../server/keys.ts'

const ROOT = new URL('../../', import.meta.url).pathname
const MAIN = join(ROOT, 'server/main.ts')
const SECRET = 'ops-secret-value-9000'
const ORG = 'acme'

describe('server process (node server/main.ts)', () => {
  it('bootstraps an admin token once, serves with it, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'envelope-main-'))
    try {
      const kekFile = join(dir, 'kek')
      const gen = spawnSync(process.execPath, [MAIN, '--generate-kek', kekFile], { encoding: 'utf8' })
      assert.equal(gen.status, 0, gen.stderr)
      const args = ['--db', `sqlite:${join(dir, 'db.sqlite')}`, '--kek-file', kekFile]
      const boot = spawnSync(process.execPath, [MAIN, '--bootstrap-admin', 'boss', '--org', ORG, ...args], { encoding: 'utf8' })
      assert.equal(boot.status, 0, boot.stderr)
      const token = boot.stdout.trim()
      assert.match(token, /^esc_[A-Za-z0-9_-]{40,}$/)
      for (const f of ['db.sqlite', 'db.sqlite-wal']) {
        if (existsSync(join(dir, f))) assert.ok(!readFileSync(join(dir, f)).includes(Buffer.from(token)), `only the hash of the token is stored (${f})`)
      }

      const child = spawn(process.execPath, [MAIN, '--port', '0', '--log-level', 'info', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /listening on (http:\/\/\S+)/.exec(out)
          if (m) resolve(m[1]!)
        })
        child.on('exit', (code) => reject(new Error(`server exited early (${code}): ${out}`)))
      })
      const me = await fetch(`${url}/api/user`, { headers: { authorization: `token ${token}` } })
      assert.equal(me.status, 200)
      const body = (await me.json()) as { githubLogin: string; organizations: { githubLogin: string }[] }
      assert.equal(body.githubLogin, 'boss')
      assert.deepEqual(
        body.organizations.map((o) => o.githubLogin),
        [ORG],
      )
      const denied = await fetch(`${url}/api/user`, { headers: { authorization: 'token wrong' } })
      assert.equal(denied.status, 401)
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
      child.kill('SIGTERM')
      assert.equal(await exited, 0)
      assert.ok(!out.includes(token), 'the token never appears in the logs')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('bootstraps from ENVELOPE_BOOTSTRAP_TOKEN with the KEK from ENVELOPE_KEK (container style)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'envelope-main-'))
    const token = 'esc_' + randomBytes(24).toString('base64url')
    const child = spawn(process.execPath, [MAIN, '--port', '0', '--log-level', 'silent'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        ENVELOPE_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
        ENVELOPE_KEK: randomBytes(32).toString('base64'),
        ENVELOPE_BOOTSTRAP_TOKEN: token,
      },
    })
    try {
      let out = ''
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /listening on (http:\/\/\S+)/.exec(out)
          if (m) resolve(m[1]!)
        })
        child.on('exit', (code) => reject(new Error(`server exited early (${code})`)))
      })
      const me = await fetch(`${url}/api/user`, { headers: { authorization: `token ${token}` } })
      assert.equal(me.status, 200)
      assert.equal(((await me.json()) as { githubLogin: string; siteAdmin: boolean }).siteAdmin, true)
      const org = await fetch(`${url}/api/orgs`, { method: 'POST', headers: { authorization: `token ${token}` }, body: JSON.stringify({ name: 'acme' }) })
      assert.equal(org.status, 201)
    } finally {
      const exited = new Promise((r) => child.on('exit', r))
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses to start without a key-encryption key, saying how to provide one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'envelope-main-'))
    try {
      const r = spawnSync(process.execPath, [MAIN, '--db', `sqlite:${join(dir, 'db.sqlite')}`], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })
      assert.equal(r.status, 2)
      assert.match(r.stderr, /no key-encryption key configured: pass --kek-file/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

for (const backend of BACKENDS) {
  describe(`server operations (${backend})`, () => {
    it('rate-limits failed authentication per client address (429 with Retry-After)', async () => {
      const s = await startServer(backend, { failedAuthLimit: 3, failedAuthWindowMs: 60_000 })
      try {
        for (let i = 0; i < 3; i++) assert.equal((await s.call('bad-token', 'GET', '/api/user')).status, 401)
        const blocked = await s.call('bad-token', 'GET', '/api/user')
        assert.equal(blocked.status, 429)
        assert.ok(Number(blocked.headers.get('retry-after')) > 0)
        assert.equal((await s.call(s.adminToken, 'GET', '/api/user')).status, 429, 'the address is blocked, even with a valid token')
        const audit = await s.repo.queryAudit({ limit: 100 })
        assert.equal(audit.filter((a) => a.status === 429).length, 2, 'blocked attempts are audited')
      } finally {
        await s.close()
      }
    })

    it('limits body size (413) and keeps the environment unchanged', async () => {
      const s = await startServer(backend, { org: ORG, bodyLimit: 4096 })
      try {
        const t = s.adminToken
        assert.equal((await s.call(t, 'POST', `/api/esc/environments/${ORG}`, { project: 'p', name: 'e' })).status, 200)
        const big = `values:\n  blob: "${'x'.repeat(10_000)}"\n`
        const r = await s.call(t, 'PATCH', `/api/esc/environments/${ORG}/p/e`, big)
        assert.equal(r.status, 413)
        assert.match((r.body as { message: string }).message, /larger than the limit of 4096 bytes/)
        const revs = await s.call(t, 'GET', `/api/esc/environments/${ORG}/p/e/versions`)
        assert.deepEqual(
          (revs.body as { number: number }[]).map((x) => x.number),
          [1],
        )
      } finally {
        await s.close()
      }
    })

    it('writes structured logs with no secret values and no tokens', async () => {
      const lines: string[] = []
      const s = await startServer(backend, { org: ORG, logLevel: 'debug', logStream: { write: (l: string) => void lines.push(l) } })
      try {
        const t = s.adminToken
        await s.call(t, 'POST', `/api/esc/environments/${ORG}`, { project: 'p', name: 'e' })
        assert.equal((await s.call(t, 'PATCH', `/api/esc/environments/${ORG}/p/e`, `values:\n  pw:\n    fn::secret: ${SECRET}\n`)).status, 200)
        const open = await s.call(t, 'POST', `/api/esc/environments/${ORG}/p/e/open`)
        const read = await s.call(t, 'GET', `/api/esc/environments/${ORG}/p/e/open/${(open.body as { id: string }).id}`)
        assert.ok(read.text.includes(SECRET))
        await s.call(t, 'GET', `/api/esc/environments/${ORG}/p/e/decrypt`)
        await s.call(t, 'PATCH', `/api/esc/environments/${ORG}/p/e`, `values:\n  pw: \${nope} ${SECRET}\n`)
        assert.ok(lines.length > 5)
        for (const l of lines) JSON.parse(l)
        const all = lines.join('')
        assert.ok(all.includes('"url":"/api/esc/environments/acme/p/e/open"'), 'requests are logged')
        assert.ok(!all.includes(SECRET), 'no secret value in the logs')
        assert.ok(!all.includes(t), 'no token in the logs')
      } finally {
        await s.close()
      }
    })

    it('rotates the KEK without downtime: old and new KEK both readable, then re-wrap, then old KEK retired', async () => {
      const oldKek = new LocalKek(randomBytes(32))
      const newKek = new LocalKek(randomBytes(32))
      const a = await startServer(backend, { org: ORG, kek: oldKek })
      const others: { close(): Promise<void> }[] = []
      try {
        const t = a.adminToken
        const envs = ['one', 'two', 'three']
        for (const e of envs) {
          await a.call(t, 'POST', `/api/esc/environments/${ORG}`, { project: 'p', name: e })
          assert.equal((await a.call(t, 'PATCH', `/api/esc/environments/${ORG}/p/${e}`, `values:\n  pw:\n    fn::secret: ${SECRET}-${e}\n`)).status, 200)
        }
        // A second process starts with the new KEK as current and the old one as previous, while the first still serves.
        const b = await startServer(backend, { kek: newKek, previous: [oldKek], sameDbAs: a })
        others.push(b)
        const openRead = async (srv: typeof a, e: string) => {
          const o = await srv.call(t, 'POST', `/api/esc/environments/${ORG}/p/${e}/open`)
          assert.equal(o.status, 200, o.text)
          const r = await srv.call(t, 'GET', `/api/esc/environments/${ORG}/p/${e}/open//${(o.body as { id: string }).id}?property=pw`)
          return (r.body as { value: string }).value
        }
        for (const e of envs) assert.equal(await openRead(b, e), `${SECRET}-${e}`)
        await b.call(t, 'POST', `/api/esc/environments/${ORG}`, { project: 'p', name: 'new' })
        assert.equal((await b.repo.getEnvironment(ORG, 'p', 'new'))!.kekId, newKek.id, 'new data keys are wrapped by the new KEK')
        const rw = await b.call(t, 'POST', '/api/admin/keys/rewrap')
        assert.equal(rw.status, 200, rw.text)
        assert.deepEqual(rw.body, { rewrapped: 3, total: 4, kekId: newKek.id })
        for (const e of envs) assert.equal((await b.repo.getEnvironment(ORG, 'p', e))!.kekId, newKek.id)
        // Old KEK retired: a process with only the new KEK reads everything.
        const c = await startServer(backend, { kek: newKek, sameDbAs: a })
        others.push(c)
        for (const e of envs) assert.equal(await openRead(c, e), `${SECRET}-${e}`)
        // A process with only the old KEK cannot unwrap and says which key is missing.
        const d = await startServer(backend, { kek: oldKek, sameDbAs: a })
        others.push(d)
        const o = await d.call(t, 'POST', `/api/esc/environments/${ORG}/p/one/open`)
        assert.equal(o.status, 400, o.text)
        assert.match(o.text, /wrapped by KEK local:[0-9a-f]+, which this server does not have/)
        assert.ok(!o.text.includes(SECRET))
        const r = await d.keys.dek((await b.repo.getEnvironment(ORG, 'p', 'one'))!).catch((err: Error) => err.message)
        assert.match(String(r), new RegExp(`wrapped by KEK ${newKek.id}, which this server does not have`))
      } finally {
        for (const o of others) await o.close()
        await a.close()
      }
    })

    it('uses an external KMS command to wrap data keys (bring your own key)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'envelope-kms-'))
      const log = join(dir, 'calls')
      writeFileSync(log, '')
      const cleanup: { close(): Promise<void> }[] = []
      process.env.TEST_KMS_KEY = randomBytes(32).toString('base64')
      process.env.TEST_KMS_LOG = log
      try {
        const cmd = `${process.execPath} ${join(ROOT, 'test/server/fixtures/kms.ts')}`
        const kms = await CommandKek.create(cmd)
        assert.match(kms.id, /^kms:test-kms-/)
        const s = await startServer(backend, { org: ORG })
        cleanup.push(s)
        const keys = new DataKeys(new KeyRing(kms))
        const dk = await keys.create()
        assert.equal(dk.kekId, kms.id)
        // the wrapped key is opaque to the server and unwraps only through the KMS
        const dek = await keys.dek({ dataKey: dk.wrapped, kekId: dk.kekId, org: ORG, project: 'p', name: 'e' })
        assert.equal(dek.length, 32)
        const fresh = new DataKeys(new KeyRing(kms))
        assert.deepEqual(await fresh.dek({ dataKey: dk.wrapped, kekId: dk.kekId, org: ORG, project: 'p', name: 'e' }), dek)
        const calls = readFileSync(log, 'utf8').trim().split('\n')
        assert.deepEqual(calls, ['key-id', 'wrap', 'unwrap'])
        // and the server rewraps local-KEK data keys into the KMS
        const t = s.adminToken
        await s.call(t, 'POST', `/api/esc/environments/${ORG}`, { project: 'p', name: 'e' })
        await s.call(t, 'PATCH', `/api/esc/environments/${ORG}/p/e`, `values:\n  pw:\n    fn::secret: ${SECRET}\n`)
        const moved = new DataKeys(new KeyRing(kms, [s.kek]))
        assert.deepEqual(await moved.rewrapAll(s.repo), { rewrapped: 1, total: 1 })
        const viaKms = await startServer(backend, { sameDbAs: s, keys: moved })
        cleanup.unshift(viaKms)
        const o = await viaKms.call(t, 'POST', `/api/esc/environments/${ORG}/p/e/open`)
        assert.equal(o.status, 200, o.text)
        assert.equal((await viaKms.call(t, 'GET', `/api/esc/environments/${ORG}/p/e/open/${(o.body as { id: string }).id}`)).text.includes(SECRET), true)
      } finally {
        for (const c of cleanup) await c.close()
        delete process.env.TEST_KMS_KEY
        delete process.env.TEST_KMS_LOG
        rmSync(dir, { recursive: true, force: true })
      }
    })

    // Several processes behind a load balancer share PostgreSQL (one SQLite file is for a single process).
    it(
      'runs stateless: a session opened on one process is read on another; concurrent ETag saves have one winner',
      { skip: backend === 'sqlite' && 'PostgreSQL only' },
      async () => {
        const a = await startServer(backend, { org: ORG, authCacheMs: 0 })
        const b = await startServer(backend, { kek: a.kek, sameDbAs: a, authCacheMs: 0 })
        try {
          const t = a.adminToken
          await a.call(t, 'POST', `/api/esc/environments/${ORG}`, { project: 'p', name: 'e' })
          await a.call(t, 'PATCH', `/api/esc/environments/${ORG}/p/e`, `values:\n  pw:\n    fn::secret: ${SECRET}\n`)
          const o = await a.call(t, 'POST', `/api/esc/environments/${ORG}/p/e/open`)
          const r = await b.call(t, 'GET', `/api/esc/environments/${ORG}/p/e/open/${(o.body as { id: string }).id}`)
          assert.equal(r.status, 200, r.text)
          assert.ok(r.text.includes(SECRET))
          const head = await a.call(t, 'GET', `/api/esc/environments/${ORG}/p/e`)
          const etag = head.headers.get('etag')!
          const results = await Promise.all(
            [a, b, a, b].map((srv, i) => srv.call(t, 'PATCH', `/api/esc/environments/${ORG}/p/e`, `values:\n  n: ${i}\n`, { ETag: etag })),
          )
          assert.deepEqual(results.map((x) => x.status).sort(), [200, 409, 409, 409])
          // unconditional concurrent saves all land, each as its own revision
          const plain = await Promise.all([a, b, a, b].map((srv, i) => srv.call(t, 'PATCH', `/api/esc/environments/${ORG}/p/e`, `values:\n  m: ${i}\n`)))
          assert.deepEqual(
            plain.map((x) => x.status),
            [200, 200, 200, 200],
          )
          const revs = await a.call(t, 'GET', `/api/esc/environments/${ORG}/p/e/versions`)
          assert.deepEqual(
            (revs.body as { number: number }[]).map((x) => x.number),
            [7, 6, 5, 4, 3, 2, 1],
          )
          // a revocation on one process is honoured by the other (no cache here; bounded by authCacheMs otherwise)
          const tok = await a.user('temp', { org: ORG })
          assert.equal((await b.call(tok, 'GET', '/api/user')).status, 200)
          const id = ((await a.call(tok, 'GET', '/api/user/tokens')).body as { tokens: { id: string }[] }).tokens[0]!.id
          await a.call(tok, 'DELETE', `/api/user/tokens/${id}`)
          assert.equal((await b.call(tok, 'GET', '/api/user')).status, 401)
        } finally {
          await b.close()
          await a.close()
        }
      },
    )
  })
}
