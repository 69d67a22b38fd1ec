/**
 * Issue 12, rule 13 — the app's main side, through the real dispatcher and context over a real store in a
 * temp folder: the store watch token moves when another process's connection commits (the CLI, the agent,
 * sync) and when the app itself saves, and stands still otherwise; the Export screen opens an environment
 * once per visit (one `open` audit event whatever the option changes) and audits revealed secrets and saves
 * as `export`; a sync login over plain http:// to another machine is refused unless confirmed; bad input is
 * never called a bug.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { createContext } from '../../../electron/app-api/context.ts'
import { createDispatcher } from '../../../electron/app-api/handlers.ts'
import type { Dispatcher, HandlerContext } from '../../../electron/app-api/handlers.ts'
import { createServices } from '../../../electron/services/index.ts'
import type { Services } from '../../../electron/services/index.ts'
import { ExportSessions } from '../../../electron/app-api/export-sessions.ts'
import { isLoopbackHost, plainHttpWarning } from '../../../shared/domain/plain-http.ts'
import type { AuditEvent, OpenResult } from '../../../shared/models.ts'

if (!process.env.ENVELOPE_IN_KEYRING && !process.env.ENVELOPE_KEY_FILE) process.env.ENVELOPE_PASSPHRASE ??= 'app-trust-test-passphrase'

let dir: string
let dataDir: string
let d: Dispatcher
let services: Services
let ctx: HandlerContext

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envelope-app-trust-'))
  dataDir = join(dir, 'data')
  const made = createContext({ mode: 'web', version: 'test', dataDir })
  services = made.services
  ctx = made.ctx
  d = createDispatcher(ctx)
})
after(async () => {
  d.close()
  services.close()
  await rm(dir, { recursive: true, force: true })
})

async function call<T>(channel: string, req: unknown): Promise<T> {
  const r = await d.dispatch(channel, req)
  if (!r.ok) throw Object.assign(new Error(r.error.message), { hint: r.error.hint, code: r.error.code })
  return r.result as T
}
const version = async () => (await call<{ version: string }>('store.version', {})).version

test('store.version moves when another connection (the CLI) commits, and when the app saves; not otherwise', async () => {
  const v0 = await version()
  assert.equal(await version(), v0, 'no change, same token')
  // another process's store on the same file: what `envelope env set` does
  const cli = createServices({ dataDir, providers: null })
  try {
    await cli.environments.create('w/cli', { yaml: 'values:\n  a: 1\n' })
    const v1 = await version()
    assert.notEqual(v1, v0, 'a CLI create is seen')
    await cli.environments.update('w/cli', 'values:\n  a: 2\n', { baseRevision: 1 })
    const v2 = await version()
    assert.notEqual(v2, v1, 'a CLI save is seen')
    const list = await call<{ id: string; latestRevision: number }[]>('env.list', {})
    assert.equal(list.find((e) => e.id === 'w/cli')?.latestRevision, 2)
  } finally {
    cli.close()
  }
  const v3 = await version()
  await call('env.update', { id: 'w/cli', yaml: 'values:\n  a: 3\n', baseRevision: 2 })
  assert.notEqual(await version(), v3, "the app's own save is seen")
})

const exportYaml = 'values:\n  environmentVariables:\n    TOKEN:\n      fn::secret: s3cr3t-value\n    PLAIN: hello\n'

test('Export: one open per visit whatever the option changes; revealed secrets and saves are audited as export', async () => {
  await call('env.create', { id: 'w/exp', yaml: exportYaml })
  const { session } = await call<{ session: string }>('export.open', { id: 'w/exp' })
  const outs: { content: string; containsSecrets: boolean }[] = []
  for (const format of ['dotenv', 'json', 'yaml', 'shell', 'dotenv', 'json'])
    for (const reveal of [false, true]) outs.push(await call('export.render', { id: 'w/exp', format, reveal, session }))
  assert.ok(outs.some((o) => o.content.includes('s3cr3t-value')))
  assert.ok(outs.filter((o) => !o.containsSecrets).every((o) => !o.content.includes('s3cr3t-value')))
  const recent = await call<AuditEvent[]>('env.audit', { target: 'w/exp' })
  assert.equal(recent.filter((e) => e.action === 'open').length, 1, '12 renders, one open (providers run once)')
  const exported = recent.filter((e) => e.action === 'export')
  assert.deepEqual(
    exported.map((e) => (e.detail as { format: string }).format).sort(),
    ['dotenv', 'json', 'shell', 'yaml'],
    'one export event per revealed format',
  )
  await call('export.close', { session })
  await assert.rejects(call('export.render', { id: 'w/exp', format: 'dotenv', reveal: false, session }), /expired/)
})

test('Export: a save to a file is audited as export with the path; a cancelled save is not', async () => {
  let answer: string | undefined = '/home/someone/w-exp.env'
  const desktop = createDispatcher({ ...ctx, saveFile: async () => answer })
  try {
    const exportsNow = async () => (await call<AuditEvent[]>('env.audit', { target: 'w/exp' })).filter((e) => e.action === 'export')
    const n = (await exportsNow()).length
    const opened = await desktop.dispatch('export.open', { id: 'w/exp' })
    assert.ok(opened.ok)
    const { session } = opened.result as { session: string }
    const saved = await desktop.dispatch('export.save', { id: 'w/exp', format: 'dotenv', reveal: false, session })
    assert.deepEqual(saved, { ok: true, result: { path: answer, cancelled: false } })
    const after = await exportsNow()
    assert.equal(after.length, n + 1)
    assert.equal((after[0]?.detail as { file?: string }).file, answer)
    answer = undefined
    await desktop.dispatch('export.save', { id: 'w/exp', format: 'dotenv', reveal: false, session })
    assert.equal((await exportsNow()).length, n + 1)
  } finally {
    desktop.close()
  }
})

test('Export: providers run once per visit (6 option changes: 1 run; without a visit: 6)', async () => {
  const count = join(dir, 'provider-runs.txt')
  const yaml = [
    'values:',
    '  token:',
    '    fn::open::command:',
    `      argv: [sh, -c, 'echo run >> "${count}"; echo from-provider']`,
    '  environmentVariables:',
    '    TOKEN: ${token}',
    '',
  ].join('\n')
  await call('env.create', { id: 'w/prov', yaml })
  await call('env.setTag', { id: 'w/prov', key: 'envelope.allow-command', value: 'true' })
  const runs = () => (existsSync(count) ? readFileSync(count, 'utf8').split('\n').filter(Boolean).length : 0)
  const options: [string, boolean][] = [
    ['dotenv', false],
    ['json', false],
    ['yaml', true],
    ['shell', false],
    ['dotenv', true],
    ['json', true],
  ]
  const { session } = await call<{ session: string }>('export.open', { id: 'w/prov' })
  for (const [format, reveal] of options) {
    const out = await call<{ content: string }>('export.render', { id: 'w/prov', format, reveal, session })
    assert.match(out.content, /TOKEN/)
  }
  assert.equal(runs(), 1, 'one provider run for the whole visit')
  await call('export.close', { session })
  for (const [format, reveal] of options) await call('export.render', { id: 'w/prov', format, reveal })
  assert.equal(runs(), 7, 'without a visit each render opens (and runs the provider) again')
})

test('Export sessions: another environment, idle expiry and the cap', async () => {
  let now = 0
  let opens = 0
  const opened = (id: string): OpenResult => ({ environment: id, revision: 1, diagnostics: [], imports: [] })
  const s = new ExportSessions(
    async (id) => {
      opens++
      return opened(id)
    },
    { max: 2, idleMs: 1000, now: () => now },
  )
  const a = await s.open('p/a')
  assert.throws(() => s.get(a, 'p/b'), /for p\/a, not p\/b/)
  assert.equal(s.get(a, 'p/a').environment, 'p/a')
  now = 1500
  assert.throws(() => s.get(a, 'p/a'), /expired/)
  await s.open('p/1')
  await s.open('p/2')
  await s.open('p/3')
  assert.equal(s.size, 2)
  assert.equal(opens, 4)
  assert.equal(s.firstReveal(undefined, 'json'), true)
})

test('sync.login over plain http:// to another machine is refused unless confirmed, before any token is sent', async () => {
  await assert.rejects(call('sync.login', { url: 'http://192.0.2.1:9', token: 'tok' }), (err: Error) => {
    assert.match(err.message, /plain http:\/\/.*the token was not sent/)
    return true
  })
  // confirmed, or on this machine: it goes on (and fails to connect, an io error, not the refusal)
  for (const req of [
    { url: 'http://127.0.0.1:9', token: 'tok' },
    { url: 'http://envelope-sync.invalid:9', token: 'tok', insecure: true },
  ]) {
    const r = await d.dispatch('sync.login', req)
    assert.equal(r.ok, false)
    if (!r.ok) assert.doesNotMatch(r.error.message, /plain http/)
  }
})

test('plainHttpWarning: https and loopback are fine; http to any other host warns', () => {
  assert.equal(plainHttpWarning('https://example.com'), undefined)
  assert.equal(plainHttpWarning('http://localhost:8080/x'), undefined)
  assert.equal(plainHttpWarning('http://[::1]:8080'), undefined)
  assert.equal(plainHttpWarning('http://user@127.0.0.1'), undefined)
  assert.match(plainHttpWarning('HTTP://sync.example.com') ?? '', /sync\.example\.com/)
  assert.match(plainHttpWarning('http://localhost.evil.com') ?? '', /evil/)
  assert.match(plainHttpWarning('http://127.0.0.1@evil.com') ?? '', /evil/)
  fc.assert(
    fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)), fc.option(fc.integer({ min: 1, max: 65535 })), ([a, b, c], port) => {
      assert.equal(plainHttpWarning(`http://127.${a}.${b}.${c}${port ? `:${port}` : ''}/`), undefined)
    }),
  )
  fc.assert(
    fc.property(fc.domain(), (host) => {
      assert.equal(plainHttpWarning(`https://${host}`), undefined)
      if (!isLoopbackHost(host)) assert.ok(plainHttpWarning(`http://${host}`))
    }),
  )
})

test('an invalid name is a clear error that blames no bug', async () => {
  for (const id of ['no-slash', 'a/b/c', ' x/y', 'x/ y'])
    await assert.rejects(call('env.create', { id }), (err: Error & { hint?: string }) => {
      assert.match(err.message, /env\.create: id:/)
      assert.doesNotMatch(`${err.message} ${err.hint ?? ''}`, /bug/i)
      return true
    })
})
