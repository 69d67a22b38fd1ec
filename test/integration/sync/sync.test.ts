/**
 * Sync client against a real team server (SQLite) with two real local stores (createServices, each with its own
 * data folder and key), the token in the real OS keychain (run under test/with-keyring.sh), and a real TCP relay
 * in front of the server that can be cut to go offline.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import type { Server, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Entry } from '@napi-rs/keyring'
import { createServices } from '../../../electron/services/index.ts'
import type { Services } from '../../../electron/services/index.ts'
import { SyncService } from '../../../electron/services/sync/index.ts'
import { UserError } from '../../../shared/errors.ts'
import { startServer } from '../../server/helpers.ts'
import type { TestServer } from '../../server/helpers.ts'

const ORG = 'acme'
const SECRET = 'sync-secret-value-7'

/** A TCP relay to the server that can go down (refusing connections) and come back on the same port. */
class Relay {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  port = 0
  private readonly target: number
  constructor(target: number) {
    this.target = target
  }
  async up() {
    this.server = createServer((c) => {
      const u = connect(this.target, '127.0.0.1')
      for (const s of [c, u]) {
        this.sockets.add(s)
        s.on('close', () => this.sockets.delete(s))
        s.on('error', () => {
          c.destroy()
          u.destroy()
        })
      }
      c.pipe(u)
      u.pipe(c)
    })
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()))
    const a = this.server.address()
    this.port = typeof a === 'object' && a ? a.port : 0
  }
  async down() {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((r) => this.server!.close(() => r()))
  }
  get url() {
    return `http://127.0.0.1:${this.port}`
  }
}

interface Side {
  dir: string
  services: Services
  sync: SyncService
}

function side(name: string, keychainService: string): Side {
  const dir = mkdtempSync(join(tmpdir(), `envelope-sync-${name}-`))
  const services = createServices({ dataDir: dir, keys: { backend: 'keyfile', keyFile: join(dir, 'store.key') }, user: name, providers: null })
  return { dir, services, sync: new SyncService({ store: services.environments, dataDir: dir, keychainService }) }
}

async function history(store: Services['environments'], id: string): Promise<string[]> {
  const revs = await store.listRevisions(id)
  const out: string[] = []
  for (const r of revs.sort((a, b) => a.number - b.number))
    out.push(`${r.number}:${(await store.getDefinition(id, { version: r.number, decrypt: true })).yaml}`)
  return out
}
async function remoteHistory(s: TestServer, token: string, id: string): Promise<string[]> {
  const revs = (await s.call(token, 'GET', `/api/esc/environments/${ORG}/${id}/versions`)).body as { number: number }[]
  const out: string[] = []
  for (const r of revs.sort((a, b) => a.number - b.number))
    out.push(`${r.number}:${(await s.call(token, 'GET', `/api/esc/environments/${ORG}/${id}/versions/${r.number}/decrypt`)).text}`)
  return out
}

describe('sync client: two local stores and one server', () => {
  let s: TestServer
  let relay: Relay
  let token: string
  let a: Side
  let b: Side
  const keychainService = `envelope-sync-test-${randomBytes(4).toString('hex')}`

  before(async () => {
    s = await startServer('sqlite', { org: ORG })
    token = await s.user('alice', { org: ORG })
    assert.equal((await s.call(s.adminToken, 'PUT', `/api/orgs/${ORG}/projects/app/permissions`, { user: 'alice', role: 'editor' })).status, 204)
    relay = new Relay(s.port)
    await relay.up()
    a = side('laptop-a', keychainService)
    b = side('laptop-b', keychainService)
  })
  after(async () => {
    for (const x of [a, b]) {
      await x.sync.logout().catch(() => {})
      x.services.close()
      rmSync(x.dir, { recursive: true, force: true })
    }
    await relay.down().catch(() => {})
    await s.close()
  })

  it('logs in with a token kept in the OS keychain, not on disk', async () => {
    const who = await a.sync.login(relay.url, token)
    assert.deepEqual(who, { url: relay.url, login: 'alice', org: ORG })
    await b.sync.login(relay.url, token)
    assert.equal(new Entry(keychainService, `sync:${relay.url}`, { linux: { store: 'secret-service' } }).getPassword(), token)
    assert.ok(!readFileSync(join(a.dir, 'sync.json'), 'utf8').includes(token), 'no token in the sync state file')
    await assert.rejects(
      new SyncService({ store: a.services.environments, dataDir: a.dir, keychainService }).login(relay.url, 'esc_wrong'),
      (e: unknown) => e instanceof UserError && e.code === 'unauthorized',
    )
  })

  it('pushes local revisions and pulls them into the other store so all histories match', async () => {
    const A = a.services.environments
    await A.create('app/dev')
    await A.update('app/dev', 'values:\n  url: https://dev.example.com\n', { baseRevision: 1 })
    await A.update('app/dev', `values:\n  url: https://dev.example.com\n  password:\n    fn::secret: ${SECRET}\n`, { baseRevision: 2 })
    const pushed = await a.sync.sync()
    assert.deepEqual(
      pushed.map((r) => [r.environment, r.action, r.pushed]),
      [['app/dev', 'created-remote', [2, 3]]],
    )
    assert.deepEqual(await a.sync.listRemote(), ['app/dev'])
    const pulled = await b.sync.sync()
    assert.deepEqual(
      pulled.map((r) => [r.environment, r.action, r.pulled]),
      [['app/dev', 'created-local', [2, 3]]],
    )
    const ha = await history(A, 'app/dev')
    assert.equal(ha.length, 3)
    assert.deepEqual(await history(b.services.environments, 'app/dev'), ha)
    assert.deepEqual(await remoteHistory(s, token, 'app/dev'), ha)
    assert.equal((await b.services.environments.open('app/dev')).value?.password?.value, SECRET)
    // nothing to do the second time
    assert.deepEqual(
      (await a.sync.sync()).map((r) => r.action),
      ['up-to-date'],
    )
  })

  it('keeps working offline and syncs the local edits once the server is back', async () => {
    const A = a.services.environments
    await relay.down()
    const base = (await A.getDefinition('app/dev')).revision
    await A.update('app/dev', `values:\n  url: https://dev2.example.com\n  password:\n    fn::secret: ${SECRET}\n`, { baseRevision: base })
    await assert.rejects(a.sync.sync(), (e: unknown) => e instanceof UserError && e.code === 'io' && /cannot reach the sync server/.test(e.message))
    assert.equal((await A.getDefinition('app/dev')).revision, base + 1, 'the offline edit is kept')
    await relay.up()
    assert.deepEqual(
      (await a.sync.sync()).map((r) => [r.action, r.pushed]),
      [['pushed', [base + 1]]],
    )
    assert.deepEqual(
      (await b.sync.sync()).map((r) => [r.action, r.pulled]),
      [['pulled', [base + 1]]],
    )
    assert.deepEqual(await history(b.services.environments, 'app/dev'), await history(A, 'app/dev'))
  })

  it('turns concurrent edits into a conflict with a three-way diff, never overwriting either side', async () => {
    const A = a.services.environments
    const B = b.services.environments
    const lr = (await A.getDefinition('app/dev')).revision
    await A.update('app/dev', `values:\n  url: https://from-a.example.com\n  password:\n    fn::secret: ${SECRET}\n`, { baseRevision: lr })
    assert.equal((await a.sync.sync())[0]?.action, 'pushed')
    const bBefore = (await B.getDefinition('app/dev')).revision
    const bText = `values:\n  url: https://from-b.example.com\n  password:\n    fn::secret: ${SECRET}\n`
    await B.update('app/dev', bText, { baseRevision: bBefore })
    const serverBefore = await remoteHistory(s, token, 'app/dev')

    const [r] = await b.sync.sync()
    assert.equal(r?.action, 'conflict')
    const c = r!.conflict!
    assert.match(c.base, /dev2\.example\.com/)
    assert.match(c.local, /from-b/)
    assert.match(c.remote, /from-a/)
    assert.equal(c.conflicts, 1)
    assert.match(
      c.merged,
      /^<<<<<<< local app\/dev@\d+\n {2}url: https:\/\/from-b\.example\.com\n\|\|\|\|\|\|\| base\n {2}url: https:\/\/dev2\.example\.com\n=======\n {2}url: https:\/\/from-a\.example\.com\n>>>>>>> /m,
    )
    assert.match(c.localPatch, /\+ {2}url: https:\/\/from-b/)
    assert.match(c.remotePatch, /\+ {2}url: https:\/\/from-a/)
    assert.deepEqual(await remoteHistory(s, token, 'app/dev'), serverBefore, 'the server is untouched')
    assert.equal((await B.getDefinition('app/dev', { decrypt: true })).yaml, bText, 'the local edit is untouched')
    assert.deepEqual(Object.keys(b.sync.pendingConflicts()), ['app/dev'])
    // syncing again does not overwrite anything either
    assert.equal((await b.sync.sync())[0]?.action, 'conflict')

    const merged = `values:\n  url: https://merged.example.com\n  password:\n    fn::secret: ${SECRET}\n`
    const res = await b.sync.resolve('app/dev', merged)
    assert.equal(res.action, 'pushed')
    assert.deepEqual(b.sync.pendingConflicts(), {})
    assert.deepEqual(
      (await a.sync.sync()).map((x) => x.action),
      ['pulled'],
    )
    const final = (await A.getDefinition('app/dev', { decrypt: true })).yaml
    assert.equal(final, merged)
    assert.equal((await B.getDefinition('app/dev', { decrypt: true })).yaml, merged)
    assert.equal((await s.call(token, 'GET', `/api/esc/environments/${ORG}/app/dev/decrypt`)).text, merged)
    assert.deepEqual(
      (await b.sync.sync()).map((x) => x.action),
      ['up-to-date'],
    )
  })

  it('merges disjoint concurrent edits cleanly, still as a conflict the user confirms', async () => {
    const A = a.services.environments
    const B = b.services.environments
    const base = (await A.getDefinition('app/dev', { decrypt: true })).yaml
    await A.update('app/dev', base + '  region: eu-west-1\n', { baseRevision: (await A.getDefinition('app/dev')).revision })
    await B.update('app/dev', base.replace('values:\n', 'values:\n  team: payments\n'), { baseRevision: (await B.getDefinition('app/dev')).revision })
    assert.equal((await a.sync.sync())[0]?.action, 'pushed')
    const [r] = await b.sync.sync()
    assert.equal(r?.action, 'conflict', 'both sides moved: the user confirms even a clean merge')
    assert.equal(r!.conflict!.conflicts, 0)
    assert.equal(r!.conflict!.merged, base.replace('values:\n', 'values:\n  team: payments\n') + '  region: eu-west-1\n')
    await b.sync.resolve('app/dev', r!.conflict!.merged)
    await a.sync.sync()
    assert.equal((await A.getDefinition('app/dev', { decrypt: true })).yaml, r!.conflict!.merged)
  })

  it('pulls environments created by others and refuses to sync without a role', async () => {
    assert.equal((await s.call(token, 'POST', `/api/esc/environments/${ORG}`, { project: 'app', name: 'prod' })).status, 200)
    assert.equal((await s.call(token, 'PATCH', `/api/esc/environments/${ORG}/app/prod`, 'imports:\n  - app/dev\nvalues:\n  tier: prod\n')).status, 200)
    const results = await a.sync.sync()
    assert.deepEqual(
      results.map((r) => [r.environment, r.action]),
      [
        ['app/dev', 'up-to-date'],
        ['app/prod', 'created-local'],
      ],
    )
    assert.equal((await a.services.environments.open('app/prod')).value?.password?.value, SECRET, 'imports resolve locally after the pull')
    // an environment in a project alice has no role on is invisible and cannot be pushed
    await a.services.environments.create('other/x')
    const [denied] = await a.sync.sync({ environments: ['other/x'] })
    assert.equal(denied?.action, 'error')
    assert.equal(denied?.error?.code, 'forbidden')
  })

  it('does not publish a revision that was retracted locally', async () => {
    const A = a.services.environments
    await A.create('app/retracted')
    await A.update('app/retracted', 'values:\n  v: leaked\n', { baseRevision: 1 })
    await A.update('app/retracted', 'values:\n  v: fixed\n', { baseRevision: 2 })
    await A.retract('app/retracted', 2, { reason: 'leaked value' })
    const [r] = await a.sync.sync({ environments: ['app/retracted'] })
    assert.deepEqual([r?.action, r?.pushed], ['created-remote', [3]])
    const remote = await remoteHistory(s, token, 'app/retracted')
    assert.ok(!remote.join('\n').includes('leaked'), 'the retracted text never reaches the server')
    assert.equal(remote[remote.length - 1], '2:values:\n  v: fixed\n')
  })
})
