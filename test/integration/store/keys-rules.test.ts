/**
 * The key rules (electron/services/keychain/kek.ts), in process and through the real CLI (run under
 * test/with-keyring.sh for the rotations from the keychain):
 * - one passphrase rule, at least 12 characters, wherever a passphrase is set: a new passphrase store, a
 *   rotation to a passphrase, a key export; an existing store keeps opening with the passphrase it has;
 * - a key file is used only when it is the user's own and group/others have no access to it (every mode
 *   tried), refused otherwise with the exact `chmod 600 <path>` to run: for a new store, an existing one,
 *   a rotation target.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkNewPassphrase, loadKek, makeKek, MIN_PASSPHRASE_CHARS } from '../../../electron/services/keychain/kek.ts'
import { defaultScryptParams, deriveKey } from '../../../electron/services/crypto/aead.ts'
import { UserError } from '../../../shared/errors.ts'
import { envelope, type RunResult } from '../cli/helpers.ts'

const CLEAN = { ENVELOPE_PASSPHRASE: undefined, ENVELOPE_NEW_PASSPHRASE: undefined, ENVELOPE_KEY_FILE: undefined, ENVELOPE_EXPORT_PASSPHRASE: undefined }

function temp(t: { after(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A refused command: exit 1, one `error:` line saying what, the hint, no stack, never the passphrase. */
function refused(r: RunResult, message: RegExp, hint?: RegExp, secret?: string): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}:\n${r.stdout}\n${r.stderr}`)
  assert.match(r.stderr, message)
  if (hint) assert.match(r.stderr, hint)
  assert.doesNotMatch(r.stderr, /\n\s+at |this is a bug/)
  if (secret) assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), 'the passphrase is never printed')
}

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`)
}

// 11 and 12 characters, counted as characters (code points), not bytes or UTF-16 units
const SHORT = ['x', 'eleven char', 'Ωmega-Ωmega', '🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑']
const LONG = ['twelve chars', 'Ωmega-Ωmega!', '🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑']

test('the passphrase rule: any passphrase being set is accepted exactly when it has at least 12 characters', () => {
  assert.equal(MIN_PASSPHRASE_CHARS, 12)
  fc.assert(
    fc.property(
      fc.string({ unit: fc.oneof(fc.constantFrom('a', ' ', 'Ω', '🔑', '\n'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 20 }),
      (p) => {
        let refusedWith: unknown
        try {
          checkNewPassphrase(p, 'the passphrase')
        } catch (err) {
          refusedWith = err
        }
        const n = [...p].length
        if (n >= 12) return refusedWith === undefined
        return refusedWith instanceof UserError && refusedWith.code === 'invalid_input' && refusedWith.message.endsWith(`it has ${n}`)
      },
    ),
    { numRuns: 2000 },
  )
  for (const p of SHORT) assert.throws(() => checkNewPassphrase(p, 'x'), /too short \(12 characters at least\)/, p)
  for (const p of LONG) checkNewPassphrase(p, 'x')
})

test('a new passphrase key needs 12 characters; an existing store keeps opening with a shorter one', async () => {
  for (const p of SHORT) {
    await assert.rejects(makeKek('passphrase', { passphrase: p, env: {} }), /the new passphrase is too short/)
    await assert.rejects(makeKek('passphrase', { env: { ENVELOPE_PASSPHRASE: p } }), /the passphrase in ENVELOPE_PASSPHRASE is too short/)
  }
  assert.equal((await makeKek('passphrase', { env: { ENVELOPE_PASSPHRASE: LONG[0]! } })).key.length, 32)
  // a store made before the rule, with a 3-character passphrase: loading its key is not setting one
  const scrypt = defaultScryptParams()
  assert.deepEqual(await loadKek('passphrase', { scrypt }, 'k', 's', { env: { ENVELOPE_PASSPHRASE: 'abc' } }), await deriveKey('abc', scrypt))
})

test('key files: every mode that gives group or others any access is refused with `chmod 600 <path>`; owner-only modes are used', async (t) => {
  const dir = temp(t, 'envelope-keyfile-modes-')
  const key = randomBytes(32)
  const file = join(dir, 'store key.b64') // a path that needs quoting in the hint
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600 })
  const load = () => loadKek('keyfile', {}, 'k', 's', { keyFile: file, env: {} })
  // every mode the owner can read (all 64 owner-only ones are too few for a sample: all 512 are cheap)
  for (let mode = 0; mode <= 0o777; mode++) {
    if ((mode & 0o400) === 0) continue
    chmodSync(file, mode)
    const octal = mode.toString(8).padStart(4, '0')
    if ((mode & 0o077) === 0) assert.deepEqual(await load(), key, `mode ${octal} is the owner's alone`)
    else {
      await assert.rejects(load(), (e: unknown) => {
        assert.ok(e instanceof UserError, String(e))
        assert.equal(e.code, 'forbidden')
        assert.equal(e.message, `the key file ${file} can be accessed by other users (mode ${octal}): it must be readable by you alone (chmod 600 '${file}')`)
        assert.equal(e.hint, `chmod 600 '${file}'`)
        return true
      })
    }
  }
  // a file of another user, even 0600, is not the user's key file
  if (process.getuid?.() === 0) {
    chmodSync(file, 0o600)
    chownSync(file, 65534, 65534)
    await assert.rejects(
      load(),
      (e: unknown) => e instanceof UserError && e.code === 'forbidden' && /belongs to another user \(uid 65534, you are 0\)/.test(e.message),
    )
    // a new store adopting an existing key file, a rotation target: the same check (makeKek reads it)
    await assert.rejects(makeKek('keyfile', { keyFile: file, env: {} }), /belongs to another user/)
    chownSync(file, 0, 0)
  }
  chmodSync(file, 0o640)
  await assert.rejects(makeKek('keyfile', { keyFile: file, env: {} }), /mode 0640/)
})

test('through the CLI: one passphrase rule for a new store, a rotation to a passphrase and a key export', { timeout: 120_000 }, async (t) => {
  const dir = temp(t, 'envelope-keys-rules-pass-')
  const cli = (args: string[], env: Record<string, string | undefined> = {}) => envelope(args, { env: { ...CLEAN, ENVELOPE_DATA_DIR: dir, ...env } })
  const tooShort = (n: number) => new RegExp(`is too short \\(12 characters at least\\): it has ${n}`)

  // a new passphrase store
  for (const p of SHORT) refused(await cli(['env', 'init', 'app/x'], { ENVELOPE_PASSPHRASE: p }), tooShort([...p].length), /unrelated words/, p)
  refused(
    await cli(['env', 'init', 'app/x'], { ENVELOPE_PASSPHRASE: 'x' }),
    /^error: the passphrase in ENVELOPE_PASSPHRASE is too short \(12 characters at least\): it has 1$/m,
  )
  const pass = LONG[1]!
  ok(await cli(['env', 'init', 'app/x'], { ENVELOPE_PASSPHRASE: pass }), 'a 12-character passphrase store')
  ok(await cli(['env', 'set', 'app/x', 'environmentVariables.PW', 'pw-value', '--secret'], { ENVELOPE_PASSPHRASE: pass }), 'set')
  const read = async (env: Record<string, string>) => (await cli(['run', '--no-mask', 'app/x', '--', 'sh', '-c', 'printf %s "$PW"'], env)).stdout
  assert.equal(await read({ ENVELOPE_PASSPHRASE: pass }), 'pw-value')

  // a rotation to a (new) passphrase
  for (const p of SHORT)
    refused(
      await cli(['key', 'rotate', '--to', 'passphrase'], { ENVELOPE_PASSPHRASE: pass, ENVELOPE_NEW_PASSPHRASE: p }),
      tooShort([...p].length),
      undefined,
      p,
    )
  const passFile = join(dir, '..', `${dir.split('/').pop()}.pass`)
  t.after(() => rmSync(passFile, { force: true }))
  writeFileSync(passFile, 'eleven char\n', { mode: 0o600 })
  refused(await cli(['key', 'rotate', '--to', 'passphrase', '--passphrase-file', passFile], { ENVELOPE_PASSPHRASE: pass }), tooShort(11))
  const pass2 = LONG[2]!
  ok(await cli(['key', 'rotate'], { ENVELOPE_PASSPHRASE: pass, ENVELOPE_NEW_PASSPHRASE: pass2 }), 'rotate to a 12-character passphrase')
  assert.equal(await read({ ENVELOPE_PASSPHRASE: pass2 }), 'pw-value')

  // a key export
  for (const p of SHORT)
    refused(await cli(['key', 'export'], { ENVELOPE_PASSPHRASE: pass2, ENVELOPE_EXPORT_PASSPHRASE: p }), tooShort([...p].length), undefined, p)
  const exported = await cli(['key', 'export'], { ENVELOPE_PASSPHRASE: pass2, ENVELOPE_EXPORT_PASSPHRASE: LONG[0]! })
  ok(exported, 'export with a 12-character passphrase')
  assert.match(exported.stdout, /^envelope-key-v1\./)
})

test(
  'through the CLI: a key file others may read is refused for a new store, an existing one and a rotation, with the chmod to run',
  { timeout: 120_000 },
  async (t) => {
    const dir = temp(t, 'envelope-keys-rules-file-')
    const keys = temp(t, 'envelope-keys-rules-file-keys-')
    const keyFile = join(keys, 'store.key')
    const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
      envelope(args, { env: { ...CLEAN, ENVELOPE_DATA_DIR: dir, ENVELOPE_KEY_FILE: keyFile, ...env } })
    // in the hint, or in the message where the error is met while evaluating (a diagnostic has no hint)
    const chmodHint = (path: string) => new RegExp(`(^hint: chmod 600 ${path}$)|\\(chmod 600 ${path}\\)`, 'm')

    // a new store on a key file made by hand with the default umask
    writeFileSync(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o644 })
    refused(
      await cli(['env', 'init', 'app/x']),
      new RegExp(`^error: the key file ${keyFile} can be accessed by other users \\(mode 0644\\)`, 'm'),
      chmodHint(keyFile),
    )
    chmodSync(keyFile, 0o640)
    refused(await cli(['env', 'init', 'app/x']), /\(mode 0640\)/, chmodHint(keyFile))
    chmodSync(keyFile, 0o600)
    ok(await cli(['env', 'init', 'app/x']), 'a store on a 0600 key file')
    ok(await cli(['env', 'set', 'app/x', 'environmentVariables.PW', 'kf-value', '--secret']), 'set')
    const read = () => cli(['run', '--no-mask', 'app/x', '--', 'sh', '-c', 'printf %s "$PW"'])
    assert.equal((await read()).stdout, 'kf-value')

    // the store's key file opened up later: refused until it is closed again
    chmodSync(keyFile, 0o644)
    refused(await read(), /can be accessed by other users \(mode 0644\)/, chmodHint(keyFile))
    const status = await cli(['key', 'status'])
    assert.equal(status.code, 1)
    assert.match(status.stdout, /^available: no$/m)
    assert.match(status.stdout, /^note: +the key file .* can be accessed by other users \(mode 0644\): .*/m)
    assert.match(status.stdout, chmodHint(keyFile))
    chmodSync(keyFile, 0o600)
    assert.equal((await read()).stdout, 'kf-value')

    // a rotation to an existing key file others may read
    const target = join(keys, 'new.key')
    writeFileSync(target, randomBytes(32).toString('hex'), { mode: 0o604 })
    refused(await cli(['key', 'rotate', '--key-file', target]), /new\.key can be accessed by other users \(mode 0604\)/, chmodHint(target))
    chmodSync(target, 0o400)
    ok(await cli(['key', 'rotate', '--key-file', target]), 'rotate to a 0400 key file')
    assert.equal((await cli(['run', '--no-mask', 'app/x', '--', 'sh', '-c', 'printf %s "$PW"'], { ENVELOPE_KEY_FILE: target })).stdout, 'kf-value')
  },
)
