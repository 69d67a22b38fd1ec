/**
 * Issue 12, rules 7 and 8, through the real CLI binary under the real OS keychain
 * (`test/with-keyring.sh node --test test/integration/cli/store-trust.test.ts`):
 * - a definition holding a ciphertext this environment cannot open (another environment's, another store's,
 *   a corrupted one) is refused at save with its position; its own ciphertext and a clone's keep saving;
 * - a YAML alias into a secret is refused at save, naming the alias; an alias of a whole secret call keeps its meaning;
 * - `env rm` of an environment others import or reference is refused, naming them, unless `--force`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { decodeEnvelope, encodeEnvelope } from '../../../shared/esc/index.ts'
import { envelope, tempDir } from './helpers.ts'

const dataDir = tempDir('envelope-cli-store-trust-')
const otherDir = tempDir('envelope-cli-store-trust-other-')
process.on('exit', () => {
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(otherDir, { recursive: true, force: true })
})
const cli = (args: string[], input?: string, dir = dataDir) => envelope(args, { env: { ENVELOPE_DATA_DIR: dir }, ...(input !== undefined ? { input } : {}) })

function ok(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`)
}

/** The stored definition of `env` (secrets as ciphertext). */
async function definition(env: string, dir = dataDir): Promise<string> {
  const r = await cli(['env', 'get', env, '--definition'], undefined, dir)
  ok(r, `get ${env}`)
  return r.stdout
}

test('rule 7: a ciphertext this environment cannot open is refused at save, naming its position; its own and a clone’s keep saving', async () => {
  ok(await cli(['env', 'init', 't/a']), 'init t/a')
  ok(await cli(['env', 'set', 't/a', 'pw', 'hunter2-secret', '--secret']), 'set secret')
  const a = await definition('t/a')
  assert.match(a, /ciphertext: /)
  // another environment of the same store
  const into = await cli(['env', 'init', 't/b', '-f', '-'], a)
  assert.equal(into.code, 1, into.stderr)
  assert.match(into.stderr, /t\/b:\d+:\d+: error: invalid ciphertext: .*cannot open|t\/b:\d+:\d+: error: invalid ciphertext/)
  assert.match(into.stderr, /nothing was saved/)
  assert.equal((await cli(['env', 'get', 't/b', '--definition'])).code, 1, 't/b was not created')
  // another store (its own key) refuses it too
  ok(await cli(['env', 'init', 't/a'], undefined, otherDir), 'init in the other store')
  const foreignStore = await cli(['env', 'init', 't/x', '-f', '-'], a, otherDir)
  assert.equal(foreignStore.code, 1, foreignStore.stderr)
  assert.match(foreignStore.stderr, /invalid ciphertext/)
  // a corrupted ciphertext with this environment's own header (the key id matches): refused, not stored
  const m = /ciphertext: (\S+)/.exec(a)!
  const payload = decodeEnvelope(m[1]!)
  payload[payload.length - 20]! ^= 0x01 // a byte of the sealed part; the text envelope (and its checksum) is rebuilt
  const corrupted = a.replace(m[1]!, encodeEnvelope(payload))
  const rCorrupt = await cli(['env', 'edit', 't/a', '-f', '-'], corrupted)
  assert.equal(rCorrupt.code, 1, rCorrupt.stderr)
  assert.match(rCorrupt.stderr, /t\/a:\d+:\d+: error: invalid ciphertext: .*does not authenticate/)
  assert.equal(await definition('t/a'), a, 'nothing was saved')
  // its own ciphertext saves again, byte for byte; a clone (sharing the data key) can save it too
  ok(await cli(['env', 'set', 't/a', 'plain', 'x', '--plaintext']), 'set on t/a keeps its ciphertext')
  assert.ok((await definition('t/a')).includes(m[1]!), 'the ciphertext is kept as is')
  ok(await cli(['env', 'clone', 't/a', 't/a2']), 'clone')
  ok(await cli(['env', 'set', 't/a2', 'more', 'y', '--plaintext']), 'the clone saves its inherited ciphertext')
  const opened = await cli(['env', 'open', 't/a2'])
  ok(opened, 'open the clone')
  assert.match(opened.stdout, /hunter2-secret/)
})

test('rule 7: a YAML alias into a secret is refused at save, naming the alias; an alias of the whole secret call keeps its meaning', async () => {
  const into = await cli(['env', 'init', 'al/one', '-f', '-'], 'values:\n  a: {fn::secret: &s x-secret}\n  b: *s\n')
  assert.equal(into.code, 1, into.stderr)
  assert.match(into.stderr, /al\/one:3:6: error: YAML alias \*s refers to part of a secret/)
  const key = await cli(['env', 'init', 'al/key', '-f', '-'], 'values:\n  k: &k fn::secret\n  b: {*k : plain-secret}\n')
  assert.equal(key.code, 1, key.stderr)
  assert.match(key.stderr, /YAML alias \*k/)
  ok(await cli(['env', 'init', 'al/two', '-f', '-'], 'values:\n  a: &s\n    fn::secret: x-secret\n  b: *s\n  c: {<<: *s}\n'), 'alias of a whole call')
  assert.ok(!(await definition('al/two')).includes('x-secret'), 'encrypted once, where the anchor is')
  const r = await cli(['env', 'open', 'al/two'])
  ok(r, 'open')
  const v = JSON.parse(r.stdout) as Record<string, unknown>
  assert.equal(v.a, 'x-secret')
  assert.equal(v.b, 'x-secret')
})

test('rule 8: env rm refuses while others import or reference it, naming them; --force deletes', async () => {
  ok(await cli(['env', 'init', 'c/lib', '-f', '-'], 'values:\n  x: 1\n'), 'init lib')
  ok(await cli(['env', 'init', 'c/app', '-f', '-'], 'imports:\n  - c/lib\nvalues:\n  a: 1\n'), 'init app (imports)')
  ok(await cli(['env', 'init', 'c/web', '-f', '-'], 'values:\n  a: ${environments.c.lib.x}\n'), 'init web (reference)')
  ok(await cli(['env', 'init', 'c/pinned', '-f', '-'], 'imports:\n  - c/lib@1\n'), 'init pinned')
  const refused = await cli(['env', 'rm', 'c/lib', '--yes'])
  assert.equal(refused.code, 1, refused.stderr)
  assert.match(
    refused.stderr,
    /c\/lib is used by 3 environments: c\/app \(imports c\/lib, line 2\), c\/pinned \(imports c\/lib@1, line 2\), c\/web \(\$\{environments\.c\.lib…\}, line 2\)/,
  )
  assert.match(refused.stderr, /--force/)
  ok(await cli(['env', 'open', 'c/app']), 'still there')
  // not used: deleted without --force
  ok(await cli(['env', 'init', 'c/alone']), 'init alone')
  ok(await cli(['env', 'rm', 'c/alone', '--yes']), 'rm alone')
  const forced = await cli(['env', 'rm', 'c/lib', '--yes', '--force'])
  ok(forced, 'rm --force')
  assert.match(forced.stderr, /warning: c\/app, c\/pinned, c\/web used c\/lib/)
  assert.notEqual((await cli(['env', 'get', 'c/lib', '--definition'])).code, 0, 'deleted')
})
