/**
 * Without a keychain (D-Bus pointing nowhere) the store refuses clearly and names the alternatives;
 * with ENVELOPE_PASSPHRASE it works, and nothing is ever stored in plain text. Real child processes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

const CHILD = join(import.meta.dirname, 'no-keychain-child.ts')
const NO_DBUS = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/envelope-test-bus' }

function run(dataDir: string, secret: string, extra: Record<string, string>) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env.ENVELOPE_PASSPHRASE
  delete env.ENVELOPE_KEY_FILE
  Object.assign(env, extra)
  const r = spawnSync(process.execPath, [CHILD, dataDir, secret], { env, encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    status: { backend: string; available: boolean; message?: string; description: string }
    token?: string
    error?: { code: string; message: string; hint?: string }
  }
}

/** Runs the child inside its own D-Bus session with gnome-keyring started but NOT unlocked (no login collection). */
function runLocked(dataDir: string, secret: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_DATA_HOME: mkdtempSync(join(tmpdir(), 'envelope-locked-xdg-')) }
  delete env.ENVELOPE_PASSPHRASE
  delete env.ENVELOPE_KEY_FILE
  delete env.DBUS_SESSION_BUS_ADDRESS
  const script = 'gnome-keyring-daemon --start --components=secrets >/dev/null 2>&1; exec "$0" "$@"'
  const r = spawnSync('dbus-run-session', ['--', 'bash', '-c', script, process.execPath, CHILD, dataDir, secret], { env, encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ReturnType<typeof run>
}

function diskHas(dir: string, s: string): boolean {
  return readdirSync(dir).some((f) => readFileSync(join(dir, f)).includes(Buffer.from(s)))
}

test('no D-Bus: a clear refusal naming what failed, why, and the explicit alternatives', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-nokc-'))
  const secret = `NOKC-${randomBytes(6).toString('hex')}`
  const out = run(dataDir, secret, NO_DBUS)
  assert.equal(out.status.backend, 'keychain')
  assert.equal(out.status.available, false)
  assert.match(out.status.message!, /OS keychain/)
  assert.equal(out.error?.code, 'keychain_unavailable')
  assert.match(out.error!.message, /^the OS keychain \(Secret Service.*\) is unavailable: cannot .*D-?Bus/)
  assert.match(out.error!.hint!, /ENVELOPE_PASSPHRASE/)
  assert.match(out.error!.hint!, /ENVELOPE_KEY_FILE/)
  assert.equal(out.token, undefined)
  assert.equal(diskHas(dataDir, secret), false, 'no plain-text fallback')
})

test('no D-Bus but ENVELOPE_PASSPHRASE: works, and a later run without it is refused clearly', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-nokc-pp-'))
  const secret = `PP-${randomBytes(6).toString('hex')}`
  const out = run(dataDir, secret, { ...NO_DBUS, ENVELOPE_PASSPHRASE: 'correct horse battery staple' })
  assert.equal(out.error, undefined, JSON.stringify(out.error))
  assert.equal(out.token, secret)
  assert.equal(out.status.backend, 'passphrase')
  assert.equal(diskHas(dataDir, secret), false)

  const again = run(dataDir, secret, { ...NO_DBUS, ENVELOPE_PASSPHRASE: 'correct horse battery staple' })
  assert.equal(again.token, secret)
  assert.equal(again.status.available, true)

  const without = run(dataDir, secret, NO_DBUS)
  assert.equal(without.error?.code, 'keychain_unavailable')
  assert.match(without.error!.message, /protected by a passphrase, and ENVELOPE_PASSPHRASE is not set/)
  const wrong = run(dataDir, secret, { ...NO_DBUS, ENVELOPE_PASSPHRASE: 'wrong' })
  assert.equal(wrong.error?.code, 'unauthorized')
})

test('no D-Bus but ENVELOPE_KEY_FILE: works with the key file', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-nokc-kf-'))
  const keyFile = join(mkdtempSync(join(tmpdir(), 'envelope-kf-')), 'key')
  const secret = `KF-${randomBytes(6).toString('hex')}`
  const out = run(dataDir, secret, { ...NO_DBUS, ENVELOPE_KEY_FILE: keyFile })
  assert.equal(out.token, secret, JSON.stringify(out.error))
  assert.equal(out.status.backend, 'keyfile')
})

test('a keyring that is running but locked: refused clearly too, and keyStatus says so up front', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-locked-'))
  const secret = `LOCKED-${randomBytes(6).toString('hex')}`
  const out = runLocked(dataDir, secret)
  assert.equal(out.status.available, false, 'a read-only probe would wrongly report the keychain as usable')
  assert.equal(out.error?.code, 'keychain_unavailable')
  assert.match(out.error!.message, /^the OS keychain \(Secret Service.*\) is unavailable: cannot/)
  assert.match(out.error!.hint!, /ENVELOPE_PASSPHRASE/)
  assert.equal(diskHas(dataDir, secret), false)
})
