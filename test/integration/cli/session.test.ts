/**
 * A whole session through the real CLI binary, as child processes, under the real OS keychain
 * (run with `test/with-keyring.sh node --test test/integration/cli/*.test.ts`) and a temp data folder:
 * init, set secret, open, run (variables, files, masking, exit code), history, diff, tag, rollback,
 * key rotate, export dotenv, audit; then no file under the data folder holds a plaintext secret.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import dotenv from 'dotenv'
import { envelope, tempDir } from './helpers.ts'

const dataDir = tempDir('envelope-cli-session-')
const env = { ENVELOPE_DATA_DIR: dataDir }
const SECRET = `s3cr3t-Ωmega-'quote"-$HOME-${Date.now()}`
const SECRET2 = `second-secret-${process.pid}-xyz`
const cli = (args: string[], extra: { input?: string; env?: Record<string, string> } = {}) =>
  envelope(args, { env: { ...env, ...extra.env }, ...(extra.input !== undefined ? { input: extra.input } : {}) })

function ok(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`)
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

test('a whole session through bin/envelope under the real keychain', { timeout: 600_000 }, async (t) => {
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))

  ok(await cli(['env', 'init', 'app/dev']), 'init')
  const status = await cli(['key', 'status'])
  ok(status, 'key status')
  assert.match(status.stdout, /backend: +keychain/)
  assert.match(status.stdout, /available: yes/)

  // a secret, and variables/files that use it
  ok(await cli(['env', 'set', 'app/dev', 'app.token', SECRET, '--secret']), 'set secret')
  ok(await cli(['env', 'set', 'app/dev', 'environmentVariables.TOKEN', '${app.token}']), 'set TOKEN')
  ok(await cli(['env', 'set', 'app/dev', 'environmentVariables.GREETING', 'hello world']), 'set GREETING')
  ok(await cli(['env', 'set', 'app/dev', 'files.APP_CONF', 'port: 8080', '--string']), 'set file')

  // a value that looks like a password is refused in plaintext, with what to do
  const refused = await cli(['env', 'set', 'app/dev', 'app.password', 'Zq8#vT2!mK9pL4xR'])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /looks like a secret/)
  assert.match(refused.stderr, /hint: .*--secret/)
  assert.doesNotMatch(refused.stderr, /Zq8#vT2/, 'the refused value is not echoed')
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace')

  // get shows [secret]; open reveals (it is the act of opening, audited)
  const get = await cli(['env', 'get', 'app/dev'])
  ok(get, 'get')
  assert.ok(!get.stdout.includes(SECRET))
  assert.match(get.stdout, /"token": "\[secret\]"/)
  const opened = await cli(['open', 'app/dev'])
  ok(opened, 'open')
  const value = JSON.parse(opened.stdout) as { app: { token: string }; environmentVariables: Record<string, string> }
  assert.equal(value.app.token, SECRET)
  assert.equal(value.environmentVariables.TOKEN, SECRET)
  const one = await cli(['open', 'app/dev', 'environmentVariables.GREETING', '--format', 'string'])
  assert.equal(one.stdout, 'hello world\n')

  // run: the child sees the variables and the file, its output is masked, its exit code passes through
  const probe = [
    '-e',
    `const fs = require('node:fs');
     const p = process.env.APP_CONF;
     console.log('token=' + process.env.TOKEN);
     console.error('err-token=' + process.env.TOKEN);
     console.log('greeting=' + process.env.GREETING);
     console.log('conf=' + fs.readFileSync(p, 'utf8') + ' mode=' + (fs.statSync(p).mode & 0o777).toString(8) + ' path=' + p);
     process.exit(7)`,
  ]
  const run = await cli(['run', 'app/dev', '--', process.execPath, ...probe])
  assert.equal(run.code, 7, run.stderr)
  assert.ok(!run.stdout.includes(SECRET) && !run.stderr.includes(SECRET), 'secret leaked into run output')
  assert.match(run.stdout, /^token=\[secret\]$/m)
  assert.match(run.stderr, /^err-token=\[secret\]$/m)
  assert.match(run.stdout, /^greeting=hello world$/m)
  const conf = /^conf=port: 8080 mode=600 path=(.+)$/m.exec(run.stdout)
  assert.ok(conf, run.stdout)
  assert.equal(existsSync(conf[1]!), false, 'the temp file is removed after the run')
  const unmasked = await cli(['run', '--no-mask', 'app/dev', '--', process.execPath, '-e', 'console.log(process.env.TOKEN)'])
  ok(unmasked, 'run --no-mask')
  assert.equal(unmasked.stdout, `${SECRET}\n`)
  const missing = await cli(['run', 'app/dev', '--', 'no-such-command-xyz'])
  assert.equal(missing.code, 127) // as a shell gives for a command not found
  assert.match(missing.stderr, /command not found: no-such-command-xyz/)

  // history: five revisions, newest first
  const history = await cli(['env', 'version', 'history', 'app/dev', '--output', 'json'])
  ok(history, 'history')
  const revs = JSON.parse(history.stdout) as { number: number; message: string }[]
  assert.deepEqual(
    revs.map((r) => r.number),
    [5, 4, 3, 2, 1],
  )
  assert.equal(revs[0]!.message, 'set files.APP_CONF')

  // diff between revision 2 and latest: the variables appear, the secret never does
  const diff = await cli(['env', 'diff', 'app/dev@2'])
  ok(diff, 'diff')
  assert.match(diff.stdout, /--- app\/dev@2\n\+\+\+ app\/dev@5/)
  assert.match(diff.stdout, /^\+.*GREETING/m)
  assert.ok(!diff.stdout.includes(SECRET))

  // tag revision 3 as stable; change the secret; stable still opens the old value
  ok(await cli(['env', 'version', 'tag', 'app/dev@stable', '@3']), 'tag')
  ok(await cli(['env', 'set', 'app/dev', 'app.token', SECRET2, '--secret']), 'set secret 2')
  const stable = await cli(['open', 'app/dev@stable', 'app.token', '--format', 'string'])
  ok(stable, 'open @stable')
  assert.equal(stable.stdout, `${SECRET}\n`)
  const described = await cli(['env', 'version', 'app/dev@stable'])
  assert.match(described.stdout, /^revision 3 \(stable\)/)

  // rollback to revision 2 (before the variables): a new revision with revision 2's definition
  const rb = await cli(['env', 'version', 'rollback', 'app/dev@2'])
  ok(rb, 'rollback')
  assert.match(rb.stdout, /new revision 7/)
  const afterRb = JSON.parse((await cli(['open', 'app/dev'])).stdout) as Record<string, unknown>
  assert.deepEqual(Object.keys(afterRb), ['app'])

  // key rotation: every revision still decrypts
  const rot = await cli(['key', 'rotate'])
  ok(rot, 'key rotate')
  assert.match(rot.stdout, /Key rotated: 1 data key re-wrapped/)
  assert.equal((await cli(['open', 'app/dev@6', 'app.token', '--format', 'string'])).stdout, `${SECRET2}\n`)

  // export dotenv of the stable revision: dotenv reads back the exact secret
  const exported = await cli(['export', 'app/dev@stable', '--format', 'dotenv'])
  ok(exported, 'export')
  assert.equal(dotenv.parse(exported.stdout).TOKEN, SECRET)
  const outFile = join(tempDir('envelope-cli-export-'), 'out.env')
  ok(await cli(['export', 'app/dev@stable', '-o', outFile]), 'export -o')
  assert.equal(statSync(outFile).mode & 0o777, 0o600)
  assert.equal(dotenv.parse(readFileSync(outFile, 'utf8')).TOKEN, SECRET)
  rmSync(outFile)

  // the audit log has the run and the export, never the secret
  const audit = await cli(['audit', '--env', 'app/dev', '--limit', '200', '--output', 'json'])
  ok(audit, 'audit')
  const actions = (JSON.parse(audit.stdout) as { action: string }[]).map((e) => e.action)
  for (const a of ['create', 'update', 'open', 'run', 'export', 'tag', 'rollback']) assert.ok(actions.includes(a), `audit lacks ${a}: ${actions.join(',')}`)
  assert.ok(!audit.stdout.includes(SECRET) && !audit.stdout.includes(SECRET2))

  // import from a .env file: a secret-looking variable becomes fn::secret
  const envFile = join(dataDir, '..', `import-${process.pid}.env`)
  writeFileSync(envFile, `DB_HOST=db.local\nDB_PASSWORD=${SECRET2}\n`)
  const imp = await cli(['import', 'app/imported', envFile])
  rmSync(envFile)
  ok(imp, 'import')
  assert.match(imp.stdout, /secret +DB_PASSWORD/)
  const def = await cli(['env', 'get', 'app/imported', '--definition'])
  assert.ok(!def.stdout.includes(SECRET2) && /ciphertext/.test(def.stdout), def.stdout)

  // finally: no plaintext secret in any file of the data folder (db, WAL, shm, key files…)
  const files = filesUnder(dataDir)
  assert.ok(files.length > 0)
  for (const f of files) {
    const bytes = readFileSync(f)
    for (const s of [SECRET, SECRET2]) {
      assert.equal(bytes.includes(Buffer.from(s, 'utf8')), false, `${f} holds a plaintext secret`)
      assert.equal(bytes.includes(Buffer.from(s, 'utf16le')), false, `${f} holds a plaintext secret (UTF-16)`)
    }
  }
})
