/**
 * `envelope env edit` with scripted editors (real child processes, real store, real keychain):
 * errors reopen the editor with the diagnostics as comments; giving up or a concurrent save keeps the
 * edits in a private file whose path is printed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bin, envelope, tempDir } from './helpers.ts'

const dataDir = tempDir('envelope-cli-edit-')
const work = tempDir('envelope-cli-edit-work-')
process.on('exit', () => {
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
})
const env = { ENVELOPE_DATA_DIR: dataDir }
const cli = (args: string[], editor?: string) => envelope(args, { env: { ...env, ...(editor ? { EDITOR: editor, VISUAL: '' } : {}) } })

function editor(name: string, body: string): string {
  const p = join(work, name)
  writeFileSync(p, `#!/bin/sh\nf="$1"\n${body}\n`)
  chmodSync(p, 0o755)
  return p
}

const keptFile = (stderr: string): string => {
  const m = /kept in (\S+?\.yaml)/.exec(stderr)
  assert.ok(m, stderr)
  return m[1]!
}

test('env edit: decrypted definition, diagnostics reopen the editor, conflicts keep the edits', { timeout: 300_000 }, async () => {
  const initial = join(work, 'initial.yaml')
  writeFileSync(initial, 'values:\n  greeting: hello world\n  pw:\n    fn::secret: topsecret123\n')
  assert.equal((await cli(['env', 'init', 'app/edit', '-f', initial])).code, 0)

  // 1st open: introduce an error; 2nd open (header present): fix it
  const log = join(work, 'seen.log')
  const fixer = editor(
    'fixer.sh',
    `if grep -q '^# envelope: ' "$f"; then cat "$f" > "${log}.2"; sed -i 's/\${nope}/fixed/' "$f"; else cat "$f" > "${log}.1"; sed -i 's/hello world/\${nope}/' "$f"; fi`,
  )
  const r = await cli(['env', 'edit', 'app/edit'], fixer)
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /Environment updated \(revision 2\)/)
  assert.match(r.stderr, /app\/edit:2:13: error: unknown property "nope"\n {4}greeting: \$\{nope\}\n {14}\^+\n/)
  assert.match(r.stderr, /reopening the editor/)
  assert.match(readFileSync(`${log}.1`, 'utf8'), /fn::secret: topsecret123/, 'the editor sees the decrypted definition')
  const second = readFileSync(`${log}.2`, 'utf8')
  assert.match(second, /^# envelope: the definition was not saved/)
  assert.match(second, /^# envelope: app\/edit:2:13: error: unknown property "nope"$/m)
  assert.match(second, /^values:\n {2}greeting: \$\{nope\}$/m)
  const v = await cli(['open', 'app/edit', 'greeting', '--format', 'string'])
  assert.equal(v.stdout, 'fixed\n')
  const def = await cli(['env', 'get', 'app/edit', '--definition'])
  assert.doesNotMatch(def.stdout, /envelope:/, 'the diagnostics header is never saved')
  assert.doesNotMatch(def.stdout, /topsecret123/)

  // giving up: the editor leaves the broken text unchanged -> exit 1, edits kept in a private file
  const breaker = editor('breaker.sh', `sed -i 's/fixed/\${nope}/' "$f"`)
  const g = await cli(['env', 'edit', 'app/edit'], breaker)
  assert.equal(g.code, 1)
  assert.match(g.stderr, /still has errors; nothing was saved/)
  const kept = keptFile(g.stderr)
  assert.equal(statSync(kept).mode & 0o777, 0o600)
  assert.match(readFileSync(kept, 'utf8'), /greeting: \$\{nope\}/)
  rmSync(kept)

  // conflict: someone saves while the editor is open -> refused, edits kept, path printed
  const racer = editor('racer.sh', `"${process.execPath}" "${bin}" env set app/edit other 1 >/dev/null && sed -i 's/fixed/mine/' "$f"`)
  const c = await cli(['env', 'edit', 'app/edit'], racer)
  assert.equal(c.code, 1)
  assert.match(c.stderr, /app\/edit was changed since revision 2 \(now at revision 3\)/)
  assert.match(c.stderr, /hint: run `envelope env edit app\/edit` again/)
  const kept2 = keptFile(c.stderr)
  assert.match(readFileSync(kept2, 'utf8'), /greeting: mine/)
  rmSync(kept2)
  assert.equal((await cli(['open', 'app/edit', 'greeting', '--format', 'string'])).stdout, 'fixed\n')

  // emptying the file aborts without saving
  const emptier = editor('emptier.sh', `: > "$f"`)
  const e = await cli(['env', 'edit', 'app/edit'], emptier)
  assert.equal(e.code, 0)
  assert.match(e.stderr, /Aborting edit due to empty definition/)
  const hist = JSON.parse((await cli(['env', 'version', 'history', 'app/edit', '--output', 'json'])).stdout) as unknown[]
  assert.equal(hist.length, 3)

  // no editor temp file is left behind
  assert.equal(existsSync(kept) || existsSync(kept2), false)
})
