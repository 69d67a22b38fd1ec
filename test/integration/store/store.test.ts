/**
 * The local store end to end, on a real SQLite file with the KEK in the real Secret Service
 * (run with test/with-keyring.sh): create, save secrets, open, history, tags, retract, rollback, clone,
 * conflict, key rotation; then every file of the data folder (db, -wal, -shm) is scanned for plaintext.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { DatabaseSync } from 'node:sqlite'
import { createServices } from '../../../electron/services/index.ts'
import { DefinitionError } from '../../../electron/services/store/environment-store.ts'
import { ConflictError, UserError } from '../../../shared/errors.ts'
import { objectToJSON } from '../../../shared/esc/index.ts'
import type { OpenResult } from '../../../shared/models.ts'

const keys = { service: 'Envelope-test', env: {} }
const tag = randomBytes(6).toString('hex')
// distinctive plaintexts: the disk scan looks for each of them
const S = {
  base: `BASE-PLAINTEXT-${tag}`,
  dev: `DEV-PLAINTEXT-${tag}`,
  dev2: `DEV2-PLAINTEXT-${tag}`,
  unicode: `ünïcødé-${tag}-🔑`,
}

const values = (r: OpenResult, reveal = true) => objectToJSON(r.value, { reveal }) as Record<string, unknown>
const isUserError = (code: string) => (e: unknown) => e instanceof UserError && e.code === code

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? filesUnder(p) : [p]
  })
}

function assertNoPlaintext(dir: string, secrets: string[]): string[] {
  const files = filesUnder(dir)
  for (const f of files) {
    const bytes = readFileSync(f)
    for (const s of secrets) {
      for (const enc of ['utf8', 'utf16le'] as const) {
        assert.equal(bytes.includes(Buffer.from(s, enc)), false, `${f} contains the plaintext secret ${JSON.stringify(s)} (${enc})`)
      }
    }
  }
  return files
}

test('store lifecycle with encrypted secrets, and no plaintext anywhere on disk', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-store-'))
  const services = createServices({ dataDir, keys, user: 'alice' })
  const env = services.environments
  assert.equal(env.file, join(dataDir, 'envelope.db'))

  // create + save secrets
  const c = await env.create('app/base', {
    yaml: `values:\n  region: eu-west-1\n  dbPassword:\n    fn::secret: ${S.base}\n`,
    message: 'base config',
  })
  assert.deepEqual({ n: c.number, a: c.author, m: c.message, t: c.tags }, { n: 1, a: 'alice', m: 'base config', t: ['latest'] })
  const r1 = await env.create('app/dev')
  assert.equal(r1.number, 1)
  const r2 = await env.update(
    'app/dev',
    `imports:\n  - app/base\nvalues:\n  # the API token\n  token:\n    fn::secret: ${S.dev}\n  greeting: hello\n  environmentVariables:\n    TOKEN: \${token}\n    REGION: \${region}\n`,
    { baseRevision: 1, message: 'add token' },
  )
  assert.equal(r2.number, 2)
  assert.deepEqual(r2.tags, ['latest'])

  // stored definition: ciphertext, comments and layout kept
  const def = await env.getDefinition('app/dev')
  assert.equal(def.revision, 2)
  assert.equal(def.etag, '2')
  assert.equal(def.yaml.includes(S.dev), false)
  assert.match(def.yaml, /# the API token/)
  assert.match(def.yaml, /ciphertext:/)
  // decrypt on request
  const plain = await env.getDefinition('app/dev', { decrypt: true })
  assert.match(plain.yaml, new RegExp(`fn::secret: ${S.dev}`))

  // open: imports resolved from the store, secrets decrypted
  const o = await env.open('app/dev')
  assert.deepEqual(o.diagnostics, [])
  assert.deepEqual(o.imports, ['app/base'])
  const v = values(o)
  assert.equal(v.token, S.dev)
  assert.equal(v.dbPassword, S.base)
  assert.deepEqual(v.environmentVariables, { TOKEN: S.dev, REGION: 'eu-west-1' })
  assert.equal(values(o, false).token, '[secret]')

  // a stale save is refused and stores nothing
  await assert.rejects(
    env.update('app/dev', 'values:\n  greeting: lost\n', { baseRevision: 1 }),
    (e: unknown) => e instanceof ConflictError && e.expected === 1 && e.actual === 2,
  )
  assert.equal((await env.getDefinition('app/dev')).revision, 2)

  // a definition with errors is refused with file:line:col, and stores nothing
  await assert.rejects(
    env.update('app/dev', 'values:\n  a: ${nope}\n', { baseRevision: 2 }),
    (e: unknown) => e instanceof DefinitionError && /app\/dev:2:6: unknown property "nope"/.test(e.message),
  )
  assert.equal((await env.listRevisions('app/dev')).length, 2)

  const r3 = await env.update(
    'app/dev',
    `imports:\n  - app/base\nvalues:\n  token:\n    fn::secret: ${S.dev2}\n  greeting: hi\n  unicode:\n    fn::secret: ${S.unicode}\n`,
    {
      baseRevision: 2,
      message: 'rotate token',
    },
  )
  assert.equal(r3.number, 3)

  // history: newest first, paging with before/count
  const hist = await env.listRevisions('app/dev')
  assert.deepEqual(
    hist.map((h) => [h.number, h.message, h.author]),
    [
      [3, 'rotate token', 'alice'],
      [2, 'add token', 'alice'],
      [1, 'created', 'alice'],
    ],
  )
  assert.deepEqual(hist[0]!.tags, ['latest'])
  assert.deepEqual(
    (await env.listRevisions('app/dev', { before: 3, count: 1 })).map((h) => h.number),
    [2],
  )
  assert.deepEqual(await env.listRevisions('app/dev', { before: 1 }), [])

  // revision tags: open @stable, import env@stable, `latest` is built in
  await env.tagRevision('app/dev', 'stable', 2)
  assert.equal(values(await env.open('app/dev', { version: 'stable' })).token, S.dev)
  assert.equal(values(await env.open('app/dev@2')).greeting, 'hello')
  assert.equal((await env.getDefinition('app/dev', { version: 'stable' })).revision, 2)
  assert.deepEqual(
    (await env.listRevisionTags('app/dev')).map((t) => [t.name, t.revision]),
    [
      ['latest', 3],
      ['stable', 2],
    ],
  )
  await assert.rejects(env.tagRevision('app/dev', 'latest', 1), /built in/)
  await env.create('app/consumer', { yaml: 'imports:\n  - app/dev@stable\nvalues:\n  t: ${token}\n' })
  assert.equal(values(await env.open('app/consumer')).t, S.dev)
  const unsaved = await env.check('app/consumer', 'imports:\n  - app/dev@3\nvalues:\n  t: ${token}\n  u: ${bad_ref}\n')
  assert.deepEqual(
    unsaved.diagnostics.map((d) => d.summary),
    ['unknown property "bad_ref"'],
  )
  assert.equal(values(unsaved, false).t, '[secret]')
  // eval mode on an unsaved buffer decrypts the imported revision's secrets
  assert.equal(values(await env.check('app/consumer', 'imports:\n  - app/dev@3\nvalues:\n  t: ${token}\n', { mode: 'eval' })).t, S.dev2)

  // retract revision 2: unreadable, its tag moves to the replacement (1); the latest cannot be retracted
  await assert.rejects(env.retract('app/dev', 3), /latest revision/)
  await env.retract('app/dev', 2, { reason: 'leaked token' })
  await assert.rejects(
    env.getDefinition('app/dev', { version: 2 }),
    (e: unknown) => isUserError('not_found')(e) && /retracted \(leaked token\)/.test((e as Error).message),
  )
  await assert.rejects(env.open('app/dev', { version: 2 }), isUserError('not_found'))
  assert.deepEqual((await env.listRevisionTags('app/dev')).find((t) => t.name === 'stable')?.revision, 1)
  const retracted = (await env.listRevisions('app/dev')).find((h) => h.number === 2)!
  assert.deepEqual(
    { by: retracted.retracted?.by, reason: retracted.retracted?.reason, replacement: retracted.retracted?.replacement },
    { by: 'alice', reason: 'leaked token', replacement: 1 },
  )
  await assert.rejects(env.rollback('app/dev', 2), isUserError('not_found'))

  // rollback = a new revision with the old content
  await env.update('app/dev', 'imports:\n  - app/base\nvalues:\n  greeting: v4\n', { baseRevision: 3 })
  const rb = await env.rollback('app/dev', 3)
  assert.equal(rb.number, 5)
  assert.equal(rb.message, 'rollback to revision 3')
  assert.equal(values(await env.open('app/dev')).token, S.dev2)
  await assert.rejects(env.rollback('app/dev', 1, { baseRevision: 4 }), ConflictError)

  // environment tags
  await env.setTag('app/dev', 'team', 'payments')
  await env.setTag('app/dev', 'team', 'core')
  assert.deepEqual(await env.getTags('app/dev'), { team: 'core' })
  assert.deepEqual((await env.list()).find((e) => e.id === 'app/dev')?.tags, { team: 'core' })
  await env.deleteTag('app/dev', 'team')
  await assert.rejects(env.deleteTag('app/dev', 'team'), isUserError('not_found'))

  // clone (with history) keeps secrets readable; deleting the source leaves the clone intact
  const cl = await env.clone('app/dev', 'app/dev-copy', { keepHistory: true })
  assert.equal(cl.number, 5)
  await assert.rejects(env.clone('app/dev', 'app/dev-copy'), isUserError('already_exists'))
  const flat = await env.clone('app/dev', 'app/dev-flat')
  assert.equal(flat.number, 1)
  assert.equal(values(await env.open('app/dev-flat')).token, S.dev2)
  // app/consumer imports app/dev: refused, naming it, unless forced (issue 12 rule 8)
  await assert.rejects(env.delete('app/dev'), (e: unknown) => isUserError('in_use')(e) && /app\/consumer \(imports app\/dev@stable/.test((e as Error).message))
  assert.ok(await env.open('app/dev'), 'nothing was deleted')
  await env.delete('app/dev', { force: true })
  await assert.rejects(env.open('app/dev'), isUserError('not_found'))
  assert.equal(values(await env.open('app/dev-copy')).unicode, S.unicode)
  assert.deepEqual(
    (await env.list()).map((e) => e.id),
    ['app/base', 'app/consumer', 'app/dev-copy', 'app/dev-flat'],
  )

  // KEK rotation: nothing but the wrapped data keys changes; a fresh process still opens every secret
  const st = await env.keyStatus()
  assert.equal(st.backend, 'keychain')
  assert.equal(st.available, true)
  const rot = await env.rotateKey()
  assert.equal(rot.rewrapped, 3, 'data keys of base, consumer, and dev (still used by its clones)')
  assert.notEqual((await env.keyStatus()).keyId, st.keyId)

  // audit: every action, never a secret value
  const audit = await env.audit()
  const actions = new Set(audit.map((a) => a.action))
  for (const a of ['create', 'update', 'read', 'decrypt', 'open', 'tag', 'untag', 'retract', 'rollback', 'clone', 'delete', 'key.rotate'] as const)
    assert.ok(actions.has(a), `audit has ${a}`)
  assert.ok(audit.some((a) => a.action === 'update' && a.result === 'denied' && a.detail?.error === 'conflict'))
  await env.recordAudit({ action: 'run', target: 'app/dev-copy', detail: { command: 'printenv' } })
  assert.deepEqual((await env.audit({ target: 'app/dev-copy', limit: 1 }))[0]!.action, 'run')
  const decrypts = await env.audit({ action: 'decrypt' })
  assert.ok(decrypts.length >= 1 && decrypts.every((a) => a.action === 'decrypt'))
  assert.ok((await env.audit({ before: decrypts[0]!.id, limit: 5 })).every((a) => a.id < decrypts[0]!.id))
  const auditText = JSON.stringify(await env.audit({ limit: 10_000 }))
  for (const s of Object.values(S)) assert.equal(auditText.includes(s), false)

  // scan while open (WAL and SHM present), then after close (checkpointed)
  const open = assertNoPlaintext(dataDir, Object.values(S))
  assert.ok(
    open.some((f) => f.endsWith('-wal')),
    'the -wal file was scanned',
  )
  for (const f of open) assert.equal(statSync(f).mode & 0o077, 0, `${f} is readable by its owner only`)
  services.close()

  const again = createServices({ dataDir, keys, user: 'bob' })
  assert.equal(values(await again.environments.open('app/dev-copy')).token, S.dev2)
  assert.equal(values(await again.environments.open('app/base')).dbPassword, S.base)
  again.close()
  assertNoPlaintext(dataDir, Object.values(S))
  const db = new DatabaseSync(join(dataDir, 'envelope.db'))
  assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok')
  db.close()
})

test('errors say what and where', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-store-'))
  const services = createServices({ dataDir, keys })
  const env = services.environments
  await assert.rejects(
    env.getDefinition('app/missing'),
    (e: unknown) => isUserError('not_found')(e) && /environment app\/missing does not exist/.test((e as Error).message),
  )
  await assert.rejects(env.create('bad name/x'), isUserError('invalid_input'))
  await assert.rejects(
    env.create('app/x', { yaml: 'values:\n  a: [1, 2\n' }),
    (e: unknown) => e instanceof DefinitionError && /^app\/x:\d+:\d+: /.test(e.message),
  )
  assert.deepEqual(await env.list(), [], 'a refused create leaves nothing behind')
  await env.create('app/x')
  await assert.rejects(env.update('app/x@2', 'values: {}', { baseRevision: 1 }), /does not take a version/)
  await assert.rejects(env.open('app/x', { version: 'nosuchtag' }), /has no tag "nosuchtag"/)
  await assert.rejects(env.open('app/x', { version: 9 }), /has no revision 9 \(latest is 1\)/)
  await assert.rejects(env.retract('app/x', 1), /latest revision/)
  services.close()
})

test('open runs providers from the default registry; check does not; fn::open::command needs the opt-in tag', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-store-prov-'))
  const services = createServices({ dataDir, keys })
  const env = services.environments
  await env.create('app/tool', {
    yaml: 'values:\n  fromTool:\n    fn::open::command:\n      argv: [printf, "tool-output-%s", "42"]\n  derived: x-${fromTool}\n',
  })
  const refused = await env.open('app/tool')
  assert.match(refused.diagnostics.map((d) => d.summary).join('\n'), /running local commands is not enabled for environment app\/tool/)

  await env.setTag('app/tool', 'envelope.allow-command', 'true')
  const opened = await env.open('app/tool')
  assert.deepEqual(opened.diagnostics, [])
  assert.deepEqual(values(opened), { fromTool: 'tool-output-42', derived: 'x-tool-output-42' })
  assert.equal(values(opened, false).fromTool, '[secret]', 'command output is secret')

  const checked = await env.check('app/tool', (await env.getDefinition('app/tool')).yaml)
  assert.equal(values(checked).fromTool, '[unknown]', 'check mode does not run providers')
  services.close()
})

test('a KEK rotated by another process meanwhile: new data keys are wrapped by the new KEK, nothing breaks', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-store-stale-'))
  const a = createServices({ dataDir, keys })
  const b = createServices({ dataDir, keys })
  await a.environments.create('app/one', { yaml: 'values:\n  s:\n    fn::secret: stale-one\n' }) // a caches the KEK
  const rot = await b.environments.rotateKey() // b retires it (and deletes it from the keychain)
  await a.environments.create('app/two', { yaml: 'values:\n  s:\n    fn::secret: stale-two\n' }) // a must notice
  a.close()
  b.close()
  const db = new DatabaseSync(join(dataDir, 'envelope.db'))
  const kekIds = (db.prepare('SELECT DISTINCT kek_id FROM data_keys').all() as { kek_id: string }[]).map((r) => r.kek_id)
  db.close()
  assert.deepEqual(kekIds, [rot.keyId], 'every data key is wrapped by the active KEK')
  const fresh = createServices({ dataDir, keys })
  assert.equal(values(await fresh.environments.open('app/one')).s, 'stale-one')
  assert.equal(values(await fresh.environments.open('app/two')).s, 'stale-two')
  fresh.close()
})
