/**
 * Issue 12, rule 13: `envelope sync login` to plain http:// on another machine warns (on stderr, before
 * the token is read or sent) through the real CLI; https:// and loopback http:// do not. The token is never
 * printed either way. (Unreachable `.invalid` hosts: the login then fails to connect, which is fine here.)
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { envelope, tempDir } from './helpers.ts'

const dir = tempDir('envelope-sync-warn-')
after(() => rmSync(dir, { recursive: true, force: true }))
const env = { ENVELOPE_DATA_DIR: join(dir, 'data'), ENVELOPE_PASSPHRASE: 'sync-warning-test-passphrase' }
const token = 'esc_sync_warning_token_1234'

test('sync login warns about plain http:// to another machine, not about https:// or loopback', async () => {
  const remote = await envelope(['sync', 'login', 'http://envelope-sync.invalid:1', '--token', token], { env })
  assert.equal(remote.code, 1)
  assert.match(remote.stderr, /^warning: envelope-sync\.invalid:1 is reached over plain http:\/\/: the token would cross the network unencrypted/m)
  assert.ok(!remote.stderr.includes(token) && !remote.stdout.includes(token), 'the token is never printed')
  for (const url of ['https://envelope-sync.invalid:1', 'http://127.0.0.1:1', 'http://localhost:1']) {
    const r = await envelope(['sync', 'login', url, '--token', token], { env })
    assert.equal(r.code, 1, url)
    assert.doesNotMatch(r.stderr, /plain http/, url)
  }
})
