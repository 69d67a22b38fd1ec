/**
 * `envelope sync` end to end: the real team server (`node server/main.ts`, temp SQLite db, bootstrap admin),
 * two CLI data folders (two laptops) logged in as two users, the tokens in the real OS keychain (run under
 * test/with-keyring.sh). Push from A, pull on B, concurrent edits → conflict shown → resolved → both local
 * histories and the server's hold the same sequence of definitions. Plus the errors users meet: server
 * unreachable, token rejected, 403.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Entry } from '@napi-rs/keyring'
import { envelope, root, tempDir } from './helpers.ts'

const MAIN = join(root, 'server/main.ts')
const ORG = 'acme'
const SECRET = 'cli-sync-secret-4711'

describe('envelope sync (two CLI data folders, one real server)', () => {
  const dir = tempDir('envelope-cli-sync-')
  const dirA = join(dir, 'a')
  const dirB = join(dir, 'b')
  let server: ChildProcess
  let url = ''
  let adminToken = ''
  let bobToken = ''
  const A = (args: string[], input?: string) =>
    envelope(args, { env: { ENVELOPE_DATA_DIR: dirA, ENVELOPE_SYNC_TOKEN: undefined }, ...(input !== undefined ? { input } : {}) })
  const B = (args: string[], input?: string) =>
    envelope(args, { env: { ENVELOPE_DATA_DIR: dirB, ENVELOPE_SYNC_TOKEN: undefined }, ...(input !== undefined ? { input } : {}) })
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(url + path, {
      method,
      headers: { authorization: `token ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    const text = await r.text()
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${text}`)
    return text ? (JSON.parse(text) as Record<string, unknown>) : {}
  }
  /** every revision's decrypted definition, oldest first, through the CLI */
  const history = async (side: typeof A, env: string): Promise<string[]> => {
    const h = await side(['env', 'version', 'history', env, '-o', 'json'])
    assert.equal(h.code, 0, h.stderr)
    const revs = (JSON.parse(h.stdout) as { number: number }[]).map((r) => r.number).sort((x, y) => x - y)
    const out: string[] = []
    for (const n of revs) {
      const g = await side(['env', 'get', `${env}@${n}`, '--definition', '--show-secrets'])
      assert.equal(g.code, 0, g.stderr)
      if (g.stdout.trim()) out.push(g.stdout)
    }
    return out
  }
  const remoteHistory = async (env: string): Promise<string[]> => {
    const revs = (await (await fetch(`${url}/api/esc/environments/${ORG}/${env}/versions`, { headers: { authorization: `token ${adminToken}` } })).json()) as {
      number: number
    }[]
    const out: string[] = []
    for (const r of revs.sort((x, y) => x.number - y.number)) {
      const t = await (
        await fetch(`${url}/api/esc/environments/${ORG}/${env}/versions/${r.number}/decrypt`, { headers: { authorization: `token ${adminToken}` } })
      ).text()
      if (t.trim()) out.push(t)
    }
    return out
  }

  before(async () => {
    const kek = join(dir, 'kek')
    assert.equal(spawnSync(process.execPath, [MAIN, '--generate-kek', kek]).status, 0)
    const args = ['--db', `sqlite:${join(dir, 'server.sqlite')}`, '--kek-file', kek]
    const boot = spawnSync(process.execPath, [MAIN, '--bootstrap-admin', 'boss', '--org', ORG, ...args], { encoding: 'utf8' })
    assert.equal(boot.status, 0, boot.stderr)
    adminToken = boot.stdout.trim()
    server = spawn(process.execPath, [MAIN, '--port', '0', '--log-level', 'silent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    url = await new Promise<string>((resolve, reject) => {
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /listening on (http:\/\/\S+)/.exec(out)
        if (m) resolve(m[1]!)
      })
      server.on('exit', (code) => reject(new Error(`server exited early (${code}): ${out}`)))
    })
    // a second user, member of the org with no role yet
    await api('POST', '/api/admin/users', { login: 'bob' })
    await api('PUT', `/api/orgs/${ORG}/members/bob`, { role: 'member' })
    bobToken = (await api('POST', '/api/admin/users/bob/tokens', { description: 'laptop b' })).token as string
    assert.ok(bobToken)
  })
  after(async () => {
    for (const d of [dirA, dirB]) {
      try {
        new Entry('Envelope', `sync:${url}#${d}`, { linux: { store: 'secret-service' } }).deleteCredential()
      } catch {
        /* already gone */
      }
    }
    server?.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  })

  it('refuses a wrong token and an unreachable server with clear errors, storing nothing', async () => {
    const bad = await A(['sync', 'login', url, '--token', 'esc_wrongwrongwrong'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /rejected the token/)
    assert.ok(!bad.stderr.includes('esc_wrongwrongwrong'), 'the token is never printed')
    const st = await A(['sync', 'status'])
    assert.equal(st.code, 1)
    assert.match(st.stderr, /not logged in/)
    const off = await A(['sync', 'login', 'http://127.0.0.1:1', '--token', adminToken])
    assert.equal(off.code, 1)
    assert.match(off.stderr, /cannot reach the sync server http:\/\/127\.0\.0\.1:1/)
    assert.ok(!off.stderr.includes(adminToken))
    const notUrl = await A(['sync', 'login', 'not a url', '--token', adminToken])
    assert.equal(notUrl.code, 1)
    assert.match(notUrl.stderr, /is not a URL/)
  })

  it('logs in both sides (token from stdin on B), keeps the token in the keychain only', async () => {
    const a = await A(['sync', 'login', url, '--token', adminToken])
    assert.equal(a.code, 0, a.stderr)
    assert.match(a.stdout, /Logged in to .* as boss \(organization acme\)/)
    const b = await B(['sync', 'login', url, '--org', ORG], bobToken + '\n')
    assert.equal(b.code, 0, b.stderr)
    assert.match(b.stdout, /as bob/)
    // one keychain item per data folder: the two logins do not overwrite each other
    assert.equal(new Entry('Envelope', `sync:${url}#${dirA}`, { linux: { store: 'secret-service' } }).getPassword(), adminToken)
    assert.equal(new Entry('Envelope', `sync:${url}#${dirB}`, { linux: { store: 'secret-service' } }).getPassword(), bobToken)
    for (const d of [dirA, dirB]) {
      const file = readFileSync(join(d, 'sync.json'), 'utf8')
      assert.ok(!file.includes(adminToken) && !file.includes(bobToken), 'sync.json holds no token')
    }
    for (const out of [a.stdout + a.stderr, b.stdout + b.stderr]) assert.ok(!out.includes(adminToken) && !out.includes(bobToken))
  })

  it('pushes from A; B without a role gets a 403 that says so; with a role B pulls', async () => {
    assert.equal((await A(['env', 'init', 'app/dev'])).code, 0)
    assert.equal((await A(['env', 'set', 'app/dev', 'greeting', 'hello'])).code, 0)
    assert.equal((await A(['env', 'set', 'app/dev', 'password', SECRET, '--secret'])).code, 0)
    let st = await A(['sync', 'status'])
    assert.equal(st.code, 0, st.stderr)
    assert.match(st.stdout, /app\/dev\s+ahead \(new\)/)
    const push = await A(['sync', 'push'])
    assert.equal(push.code, 0, push.stderr)
    assert.match(push.stdout, /app\/dev\s+created on the server \(pushed revision\(s\) 2, 3\)/)
    st = await A(['sync', 'status'])
    assert.match(st.stdout, /app\/dev\s+in sync\s+local @3 = server @3/)

    const denied = await B(['sync', 'pull', 'app/dev'])
    assert.equal(denied.code, 1)
    assert.match(denied.stderr + denied.stdout, /403|role/i)
    assert.match(denied.stderr + denied.stdout, /reader|opener|editor/)

    await api('PATCH', `/api/orgs/${ORG}`, { defaultRole: 'editor' })
    st = await B(['sync', 'status'])
    assert.equal(st.code, 0, st.stderr)
    assert.match(st.stdout, /app\/dev\s+behind \(new\)/)
    const pull = await B(['sync', 'pull'])
    assert.equal(pull.code, 0, pull.stderr)
    assert.match(pull.stdout, /app\/dev\s+created locally \(pulled server revision\(s\) 2, 3\)/)
    const open = await B(['env', 'open', 'app/dev', '-f', 'json'])
    assert.equal(open.code, 0, open.stderr)
    assert.deepEqual(JSON.parse(open.stdout), { greeting: 'hello', password: SECRET })
    assert.match((await B(['sync', 'status'])).stdout, /app\/dev\s+in sync/)
    // push with nothing to push on B; pull with nothing to pull on A
    assert.match((await B(['sync', 'push'])).stdout, /nothing to push/)
    assert.match((await A(['sync', 'pull'])).stdout, /nothing to pull/)
  })

  it('concurrent edits → conflict shown (three-way diff, secrets masked) → resolved → histories match', async () => {
    assert.equal((await A(['env', 'set', 'app/dev', 'greeting', 'hello from A'])).code, 0)
    assert.equal((await B(['env', 'set', 'app/dev', 'greeting', 'hello from B'])).code, 0)
    assert.equal((await B(['env', 'set', 'app/dev', 'extra', 'b-only'])).code, 0)
    const pushB = await B(['sync'])
    assert.equal(pushB.code, 0, pushB.stderr)
    assert.match(pushB.stdout, /app\/dev\s+pushed local revision\(s\)/)

    assert.match((await A(['sync', 'status'])).stdout, /app\/dev\s+diverged/)
    const syncA = await A(['sync', 'now'])
    assert.equal(syncA.code, 1, 'a conflict fails the sync')
    assert.match(syncA.stdout, /app\/dev\s+CONFLICT: local @4 and server @5 both changed since local @3 \/ server @3; nothing was written/)
    assert.match((await A(['sync', 'status'])).stdout, /app\/dev\s+conflict/)
    const before = await A(['env', 'get', 'app/dev', '--definition', '--show-secrets'])
    assert.match(before.stdout, /hello from A/, 'the sync wrote nothing locally')

    const show = await A(['sync', 'resolve', 'app/dev'])
    assert.equal(show.code, 0, show.stderr)
    assert.match(show.stdout, /Conflict in app\/dev: local @4 vs server @5 \(base: local @3 = server @3\)/)
    assert.match(show.stdout, /### local changes \(base → local\)[\s\S]*-\s+greeting: hello\n\+\s+greeting: hello from A/)
    assert.match(show.stdout, /### server changes \(base → server\)[\s\S]*\+\s+greeting: hello from B[\s\S]*\+\s+extra: b-only/)
    assert.match(show.stdout, /<<<<<<< local app\/dev@4[\s\S]*\|\|\|\|\|\|\|[\s\S]*=======[\s\S]*>>>>>>>/)
    assert.ok(!show.stdout.includes(SECRET), 'secret values are masked in the diff')
    assert.match((await A(['sync', 'resolve', 'app/dev', '--merge'])).stderr, /conflicting region/)

    // write the proposal, edit it to a real merge, resolve with it
    const merged = join(dir, 'merged.yaml')
    const w = await A(['sync', 'resolve', 'app/dev', '--output', merged])
    assert.equal(w.code, 0, w.stderr)
    // writing it again never replaces it silently (issue 12, rule 1): refused, then replaced with --force
    const again = await A(['sync', 'resolve', 'app/dev', '--output', merged])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /merged\.yaml already exists; refusing to replace it\nhint: pass --force/)
    assert.equal((await A(['sync', 'resolve', 'app/dev', '--output', merged, '--force'])).code, 0)
    const withMarkers = await A(['sync', 'resolve', 'app/dev', '--file', merged])
    assert.equal(withMarkers.code, 1)
    assert.match(withMarkers.stderr, /merged\.yaml:\d+:1: conflict marker <<<<<<< left/)
    const text = readFileSync(merged, 'utf8')
    const fixed = text.replace(/<<<<<<<[^\n]*\n([\s\S]*?)\|\|\|\|\|\|\|[\s\S]*?=======\n[\s\S]*?>>>>>>>[^\n]*\n/, (_m, ours: string) =>
      ours.replace('hello from A', 'hello from A and B'),
    )
    assert.ok(!/<<<<<<<|>>>>>>>/.test(fixed), fixed)
    writeFileSync(merged, fixed)
    const res = await A(['sync', 'resolve', 'app/dev', '--file', merged])
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /app\/dev: resolved \(merged\)/)

    const pullB = await B(['sync'])
    assert.equal(pullB.code, 0, pullB.stderr)
    assert.match(pullB.stdout, /pulled server revision/)
    for (const side of [A, B]) assert.match((await side(['sync', 'status'])).stdout, /app\/dev\s+in sync/)
    const open = await B(['env', 'open', 'app/dev', '-f', 'json'])
    assert.deepEqual(JSON.parse(open.stdout), { greeting: 'hello from A and B', password: SECRET, extra: 'b-only' })

    const ha = await history(A, 'app/dev')
    const hb = await history(B, 'app/dev')
    const hr = await remoteHistory('app/dev')
    assert.deepEqual(ha.at(-1), hr.at(-1))
    assert.deepEqual(hb.at(-1), hr.at(-1))
    assert.deepEqual(hb, hr, 'B and the server hold the same sequence of definitions')
    // A: the shared revisions, its own edit (the other side of the conflict), the merge
    assert.deepEqual(ha.slice(0, 2), hr.slice(0, 2), 'the revisions synced before the conflict are the same on A')
    assert.equal(ha.length, 4)
    assert.match(ha[2]!, /hello from A\n/)
  })

  it('--ours / --theirs, and logout removes the token', async () => {
    assert.equal((await A(['env', 'set', 'app/dev', 'greeting', 'ours'])).code, 0)
    assert.equal((await B(['env', 'set', 'app/dev', 'greeting', 'theirs'])).code, 0)
    assert.equal((await B(['sync'])).code, 0)
    assert.equal((await A(['sync'])).code, 1)
    const r = await A(['sync', 'resolve', 'app/dev', '--theirs'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await B(['sync'])).code, 0)
    for (const side of [A, B]) assert.match((await side(['env', 'get', 'app/dev', '--definition'])).stdout, /greeting: theirs/)
    assert.match((await A(['sync', 'resolve', 'app/dev', '--ours'])).stderr, /no pending sync conflict for app\/dev/)

    const out = await A(['sync', 'logout'])
    assert.equal(out.code, 0, out.stderr)
    assert.equal(new Entry('Envelope', `sync:${url}#${dirA}`, { linux: { store: 'secret-service' } }).getPassword(), null)
    assert.match((await A(['sync', 'status'])).stderr, /not logged in/)
    assert.match((await B(['sync', 'status'])).stdout, /in sync/, 'B is still logged in')
  })
})
