/**
 * `envelope env edit` leaves nothing decrypted behind (real CLI processes, real keychain, scripted editors
 * that wait): the buffer is private (folder 0700 under $XDG_RUNTIME_DIR, file 0600); SIGTERM, SIGHUP,
 * SIGINT and SIGQUIT end the edit, stop the editor and remove the buffer, exiting 128 + n; an editor that
 * ignores them is killed after a grace period; SIGKILL of envelope: the watchdog stops the editor and removes
 * the buffer; Ctrl-C typed on a terminal belongs to the editor and does not end the edit.
 */
import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { constants } from 'node:os'
import { dirname, join } from 'node:path'
import { bin, envelope, root, tempDir } from './helpers.ts'
import { gone, inTerminal, leftovers, until } from './signals-helpers.ts'

const dataDir = tempDir('envelope-cli-edit-signals-')
const work = tempDir('envelope-cli-edit-signals-work-')
const runtime = tempDir('envelope-cli-edit-signals-runtime-') // 0700, as $XDG_RUNTIME_DIR is
process.on('exit', () => {
  for (const d of [dataDir, work, runtime]) rmSync(d, { recursive: true, force: true })
})
const SECRET = 'edit-secret-value-93'
const env = { ...process.env, ENVELOPE_DATA_DIR: dataDir, NO_COLOR: '1', ENVELOPE_NO_AGENT: '1', XDG_RUNTIME_DIR: runtime, VISUAL: '' }

/** An editor script: records "<pid> <file>" in `side`, then runs `body`. */
function editor(name: string, body: string): { path: string; side: string } {
  const path = join(work, `${name}.sh`)
  const side = join(work, `${name}.side`)
  writeFileSync(path, `#!/bin/sh\nf="$1"\necho "$$ $f" > "${side}.tmp" && mv "${side}.tmp" "${side}"\n${body}\n`)
  chmodSync(path, 0o755)
  return { path, side }
}

/** Starts `env edit` with `ed`; resolves once the editor has the file: its pid, the file, the process. */
async function editing(ed: { path: string; side: string }) {
  rmSync(ed.side, { force: true })
  const child = spawn(process.execPath, [bin, 'env', 'edit', 'ed/app'], { env: { ...env, EDITOR: ed.path }, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  leftovers.add(child.pid!)
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d))
  const closed = new Promise<number | null>((r) => child.on('close', (c) => r(c)))
  await until(`the editor started (${err})`, () => existsSync(ed.side), 60_000)
  const [pid, file] = readFileSync(ed.side, 'utf8').trim().split(' ')
  leftovers.add(Number(pid))
  return { child, closed, err: () => err, editorPid: Number(pid), file: file! }
}

const revisions = async (): Promise<number> =>
  (JSON.parse((await envelope(['env', 'version', 'history', 'ed/app', '--output', 'json'], { env })).stdout) as unknown[]).length

before(async () => {
  assert.equal((await envelope(['env', 'init', 'ed/app'], { env })).code, 0)
  assert.equal((await envelope(['env', 'set', 'ed/app', 'values.pw', SECRET, '--secret'], { env })).code, 0)
})

test('SIGTERM, SIGHUP, SIGINT, SIGQUIT during env edit: editor stopped, no plaintext left, nothing saved, exit 128+n', { timeout: 180_000 }, async () => {
  const waiter = editor('waiter', 'while :; do sleep 0.1; done')
  const before = await revisions()
  for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'] as const) {
    const e = await editing(waiter)
    // the buffer: decrypted, private, in the session's runtime folder
    assert.match(readFileSync(e.file, 'utf8'), new RegExp(SECRET))
    assert.equal(dirname(dirname(e.file)), runtime)
    assert.equal(statSync(e.file).mode & 0o777, 0o600)
    assert.equal(statSync(dirname(e.file)).mode & 0o777, 0o700)
    e.child.kill(sig)
    assert.equal(await e.closed, 128 + constants.signals[sig], `${sig}: ${e.err()}`)
    assert.match(e.err(), new RegExp(`interrupted by ${sig}; nothing was saved`))
    assert.equal(existsSync(dirname(e.file)), false, `${sig}: the decrypted buffer is gone`)
    await until(`${sig}: the editor stopped`, () => gone(e.editorPid))
  }
  assert.equal(await revisions(), before)
})

test('an editor that ignores SIGTERM is killed after a grace period; the buffer goes', { timeout: 120_000 }, async () => {
  const stubborn = editor('stubborn', `trap '' TERM HUP; while :; do sleep 0.1; done`)
  const e = await editing(stubborn)
  e.child.kill('SIGTERM')
  assert.equal(await e.closed, 143, e.err())
  assert.equal(existsSync(dirname(e.file)), false)
  await until('the editor killed', () => gone(e.editorPid))
})

test('SIGKILL of envelope during env edit: the watchdog stops the editor and removes the buffer', { timeout: 120_000 }, async () => {
  const waiter = editor('waiter-kill', 'while :; do sleep 0.1; done')
  const e = await editing(waiter)
  e.child.kill('SIGKILL')
  await until('the editor stopped', () => gone(e.editorPid))
  await until('the buffer removed', () => !existsSync(dirname(e.file)))
  await e.closed
  assert.match(e.err(), /envelope was killed; stopping the editor/)
})

test('Ctrl-C typed on a terminal belongs to the editor: the edit goes on and saves', { timeout: 120_000 }, async () => {
  const go = join(work, 'go')
  rmSync(go, { force: true })
  const patient = editor(
    'patient',
    `trap 'echo editor-got-int' INT; echo editor-ready; while [ ! -e "${go}" ]; do sleep 0.1; done; sed -i 's/^values:/values:\\n  added: yes/' "$f"`,
  )
  const t = inTerminal([process.execPath, bin, 'env', 'edit', 'ed/app'], { ...env, EDITOR: patient.path }, work)
  leftovers.add(t.pid)
  await t.waitFor(/editor-ready/)
  t.type('\x03')
  await t.waitFor(/editor-got-int/)
  writeFileSync(go, '')
  assert.equal(await t.exit, 0, t.output())
  assert.match(t.output(), /Environment updated/)
  const v = await envelope(['open', 'ed/app', 'added', '--format', 'string'], { env })
  assert.equal(v.stdout, 'yes\n')
})
