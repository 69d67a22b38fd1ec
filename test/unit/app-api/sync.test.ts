/**
 * Sync channels of the IPC contract through the real dispatcher (real store in a temp folder): listed in
 * `channels`, zod-validated (a bad request never reaches SyncService), `sync.account` is null before a login,
 * an unreachable server is a clear `io` error, and the token never comes back in any reply.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { channels } from '../../../shared/ipc.ts'
import { syncChannels } from '../../../shared/sync-ipc.ts'
import { createContext } from '../../../electron/app-api/context.ts'
import { createDispatcher } from '../../../electron/app-api/handlers.ts'
import type { Dispatcher } from '../../../electron/app-api/handlers.ts'
import { maskSecrets } from '../../../electron/cli/actions/sync.ts'

if (!process.env.ENVELOPE_IN_KEYRING && !process.env.ENVELOPE_KEY_FILE) process.env.ENVELOPE_PASSPHRASE ??= 'bridge-sync-test'

let dir: string
let d: Dispatcher
let close: () => void

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envelope-bridge-sync-'))
  const { ctx, services } = createContext({ mode: 'web', version: 'test', dataDir: join(dir, 'data') })
  close = () => services.close()
  d = createDispatcher(ctx)
})
after(async () => {
  d.close()
  close()
  await rm(dir, { recursive: true, force: true })
})

test('every sync channel is part of the contract', () => {
  for (const c of syncChannels) assert.ok((channels as readonly string[]).includes(c), c)
})

test('requests are validated before SyncService runs', async () => {
  const bad: [string, unknown, RegExp][] = [
    ['sync.login', { url: 'ftp://x', token: 't' }, /url: must start with https:\/\/ or http:\/\//],
    ['sync.login', { url: 'http://127.0.0.1:1', token: 'two words' }, /token: one word/],
    ['sync.login', { url: 'http://127.0.0.1:1' }, /token/],
    ['sync.login', { url: 'http://127.0.0.1:1', token: 't', extra: 1 }, /extra|unrecognized/i],
    ['sync.conflict', { id: 'no-slash' }, /id: must be project\/name/],
    ['sync.now', { environments: ['a/b', 'bad id'] }, /environments\.1/],
    ['sync.resolve', { id: 'a/b' }, /yaml/],
    ['sync.account', { x: 1 }, /invalid request to sync\.account/],
  ]
  for (const [channel, req, message] of bad) {
    const r = await d.dispatch(channel, req)
    assert.equal(r.ok, false, channel)
    if (!r.ok) {
      assert.equal(r.error.code, 'invalid_input', `${channel}: ${r.error.message}`)
      assert.match(r.error.message, message)
    }
  }
})

test('not logged in: account is null, status says to log in; an unreachable server is an io error without the token', async () => {
  const a = await d.dispatch('sync.account', {})
  assert.deepEqual(a, { ok: true, result: null })
  const s = await d.dispatch('sync.status', {})
  assert.equal(s.ok, false)
  if (!s.ok) {
    assert.equal(s.error.code, 'unauthorized')
    assert.match(s.error.message, /not logged in/)
  }
  const token = 'esc_never-echo-this-token-123456'
  const l = await d.dispatch('sync.login', { url: 'http://127.0.0.1:1', token })
  assert.equal(l.ok, false)
  if (!l.ok) {
    assert.equal(l.error.code, 'io')
    assert.match(l.error.message, /cannot reach the sync server http:\/\/127\.0\.0\.1:1/)
  }
  assert.ok(!JSON.stringify(l).includes(token))
  assert.deepEqual(await d.dispatch('sync.account', {}), { ok: true, result: null }, 'a failed login remembers nothing')
})

test('CLI conflict display masks secret values', () => {
  assert.equal(maskSecrets('  password:\n    fn::secret: hunter2\n  other: x\n'), '  password:\n    fn::secret: [secret]\n  other: x\n')
  assert.equal(maskSecrets('+    fn::secret: s3cr3t value'), '+    fn::secret: [secret]')
  assert.equal(maskSecrets('a: {fn::secret: {plaintext: abc}}'), 'a: {fn::secret: {plaintext: [secret]}}')
  assert.equal(maskSecrets('  fn::secret:\n    ciphertext: ZXNj'), '  fn::secret:\n    ciphertext: ZXNj', 'ciphertext is not a secret value')
})
