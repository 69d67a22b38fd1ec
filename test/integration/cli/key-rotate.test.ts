/**
 * `envelope key rotate --to keychain|passphrase|keyfile` through the real CLI binary, the real OS keychain
 * (run under test/with-keyring.sh) and the real SQLite store in a temp data folder: keychain → passphrase
 * → key file → keychain with every secret (every revision) still opening, `key status` following, the old
 * keychain entry gone, the audit saying from/to; the interactive prompt on a pseudo-terminal; the refused
 * flag combinations; and a scan: neither the passphrase nor any key's bytes in the data folder, the audit
 * log or the command output.
 */
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { Entry } from '@napi-rs/keyring'
import { deriveKey } from '../../../electron/services/crypto/aead.ts'
import type { ScryptParams } from '../../../electron/services/crypto/aead.ts'
import { bin, envelope, root, tempDir } from './helpers.ts'
import type { RunResult } from './helpers.ts'

/** nothing from the developer's own shell decides which key is used */
const CLEAN = { ENVELOPE_PASSPHRASE: undefined, ENVELOPE_NEW_PASSPHRASE: undefined, ENVELOPE_KEY_FILE: undefined, ENVELOPE_EXPORT_PASSPHRASE: undefined }
const PASS = `rotate pass ${process.pid} ${Date.now()} Ωmega`
const SECRETS = { 'app/dev': `dev-secret-${process.pid}-a1`, 'app/prod': `prod-secret-${process.pid}-b2` }
const OLD_SECRET = `older-revision-secret-${process.pid}`

interface Store {
  /** the data folder */
  dir: string
  /** a folder for key and passphrase files, outside the data folder */
  outside: string
  cli(args: string[], env?: Record<string, string | undefined>): Promise<RunResult>
}

/** A fresh data folder (and one for key files), both removed after the test. */
function store(t: TestContext, name: string): Store {
  const dir = tempDir(`envelope-cli-key-rotate-${name}-`)
  const outside = tempDir(`envelope-cli-key-rotate-${name}-keys-`)
  t.after(() => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  })
  return { dir, outside, cli: (args, env = {}) => envelope(args, { env: { ...CLEAN, ENVELOPE_DATA_DIR: dir, ...env } }) }
}

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`)
}

/** A refused command: its exit code, a one-line `error:` (+ `hint:`), no stack trace. */
function refused(r: RunResult, code: 1 | 2, message: RegExp, hint?: RegExp): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}:\n${r.stdout}\n${r.stderr}`)
  assert.match(r.stderr, /^error: /m)
  assert.match(r.stderr, message)
  if (hint) assert.match(r.stderr, new RegExp(`^hint: .*${hint.source}`, 'm'))
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
}

const kekRows = (dir: string): { id: string; backend: string; params: string; retired: string | null }[] => {
  const db = new DatabaseSync(join(dir, 'envelope.db'), { readOnly: true })
  try {
    return db.prepare('SELECT id, backend, params, retired FROM keks ORDER BY created').all() as never
  } finally {
    db.close()
  }
}

function storeId(dir: string): string {
  const db = new DatabaseSync(join(dir, 'envelope.db'), { readOnly: true })
  try {
    return (db.prepare("SELECT value FROM meta WHERE key = 'store_id'").get() as { value: string }).value
  } finally {
    db.close()
  }
}

const keychainEntry = (dir: string, kekId: string) => new Entry('Envelope', `kek:${storeId(dir)}:${kekId}`, { linux: { store: 'secret-service' } })

async function status(
  s: Store,
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; backend: string; description: string; available: boolean; keyId?: string }> {
  const r = await s.cli(['key', 'status', '-o', 'json'], env)
  return { code: r.code, ...(JSON.parse(r.stdout) as { backend: string; description: string; available: boolean; keyId?: string }) }
}

/** Every secret of every environment and revision opens (with `env`). */
async function allSecretsOpen(s: Store, env: Record<string, string | undefined> = {}): Promise<void> {
  for (const [name, secret] of Object.entries(SECRETS)) {
    const r = await s.cli(['open', name, 'app.token', '--format', 'string'], env)
    ok(r, `open ${name}`)
    assert.equal(r.stdout, `${secret}\n`)
  }
  const old = await s.cli(['open', 'app/dev@2', 'app.token', '--format', 'string'], env)
  ok(old, 'open app/dev@2')
  assert.equal(old.stdout, `${OLD_SECRET}\n`)
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

/** The spellings under which key bytes could be written down. */
const spellings = (key: Buffer): Buffer[] => [
  key,
  Buffer.from(key.toString('base64')),
  Buffer.from(key.toString('base64url')),
  Buffer.from(key.toString('hex')),
]

test(
  'keychain -> passphrase -> keyfile -> keychain: secrets keep opening, status follows, audit says from/to, nothing leaks',
  { timeout: 300_000 },
  async (t) => {
    const s = store(t, 'switch')
    const outside = s.outside
    const outputs: string[] = []
    const run = async (args: string[], env: Record<string, string | undefined> = {}) => {
      const r = await s.cli(args, env)
      outputs.push(r.stdout, r.stderr)
      return r
    }

    ok(await run(['env', 'init', 'app/dev']), 'init dev')
    ok(await run(['env', 'set', 'app/dev', 'app.token', OLD_SECRET, '--secret']), 'set old secret')
    ok(await run(['env', 'set', 'app/dev', 'app.token', SECRETS['app/dev'], '--secret']), 'set dev secret')
    ok(await run(['env', 'init', 'app/prod']), 'init prod')
    ok(await run(['env', 'set', 'app/prod', 'app.token', SECRETS['app/prod'], '--secret']), 'set prod secret')
    const first = await status(s)
    assert.equal(first.backend, 'keychain')
    const firstKey = keychainEntry(s.dir, first.keyId!).getPassword()
    assert.ok(firstKey, 'the store key is in the OS keychain')
    const keys: Buffer[] = [Buffer.from(firstKey, 'base64')]

    // keychain -> passphrase (from a file outside the data folder)
    const passFile = join(outside, 'pass.txt')
    writeFileSync(passFile, PASS + '\n', { mode: 0o600 })
    const toPass = await run(['key', 'rotate', '--to', 'passphrase', '--passphrase-file', passFile])
    ok(toPass, 'rotate to passphrase')
    assert.match(toPass.stdout, /^Key rotated: 2 data keys re-wrapped under \w+ \(retired \w+\)\.$/m)
    assert.match(toPass.stdout, /^Backend: keychain -> passphrase\. The store is now protected by the passphrase-derived key/m)
    assert.match(toPass.stdout, /^The old key was removed from the OS keychain/m)
    assert.match(toPass.stdout, /^Next: set ENVELOPE_PASSPHRASE to the new passphrase/m)
    assert.equal(keychainEntry(s.dir, first.keyId!).getPassword(), null, 'the old keychain entry is gone')
    const passRow = kekRows(s.dir).find((k) => k.retired === null)!
    assert.equal(passRow.backend, 'passphrase')
    keys.push(await deriveKey(PASS, (JSON.parse(passRow.params) as { scrypt: ScryptParams }).scrypt))

    // without ENVELOPE_PASSPHRASE: status says so, every open fails with a clear message
    const locked = await status(s)
    assert.deepEqual([locked.backend, locked.available], ['passphrase', false])
    const lockedText = await run(['key', 'status'])
    assert.equal(lockedText.code, 1)
    assert.match(lockedText.stdout, /^backend: +passphrase .*\navailable: no\n/)
    assert.match(lockedText.stdout, /ENVELOPE_PASSPHRASE is not set/)
    for (const name of Object.keys(SECRETS)) {
      const r = await run(['open', name])
      refused(r, 1, /this store is protected by a passphrase, and ENVELOPE_PASSPHRASE is not set/, /set ENVELOPE_PASSPHRASE/)
    }
    refused(
      await run(['open', 'app/dev'], { ENVELOPE_PASSPHRASE: 'not the passphrase at all' }),
      1,
      /ENVELOPE_PASSPHRASE is not the one that protects this store/,
    )
    const unlocked = await status(s, { ENVELOPE_PASSPHRASE: PASS })
    assert.deepEqual([unlocked.code, unlocked.backend, unlocked.available], [0, 'passphrase', true])
    await allSecretsOpen(s, { ENVELOPE_PASSPHRASE: PASS })
    // a secret saved now is wrapped by the passphrase key too
    ok(await run(['env', 'set', 'app/prod', 'app.other', 'saved-under-passphrase', '--secret'], { ENVELOPE_PASSPHRASE: PASS }), 'set under passphrase')

    // passphrase -> keyfile (created 0600 with a random key)
    const keyFile = join(outside, 'store.key')
    const toFile = await run(['key', 'rotate', '--to', 'keyfile', '--key-file', keyFile], { ENVELOPE_PASSPHRASE: PASS })
    ok(toFile, 'rotate to key file')
    assert.match(toFile.stdout, /^Backend: passphrase -> keyfile\. The store is now protected by the key file .*store\.key\.$/m)
    assert.match(toFile.stdout, /^ENVELOPE_PASSPHRASE is no longer needed for this store\.$/m)
    assert.match(toFile.stdout, new RegExp(`^Next: keep ${keyFile} and a backup of it: the store does not open without it\\. Future commands find it`, 'm'))
    assert.equal(statSync(keyFile).mode & 0o777, 0o600)
    const fileKey = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')
    assert.equal(fileKey.length, 32)
    keys.push(fileKey)
    const onFile = await status(s)
    assert.deepEqual([onFile.code, onFile.backend, onFile.available, onFile.description], [0, 'keyfile', true, `key file ${keyFile}`])
    await allSecretsOpen(s) // the recorded path: neither ENVELOPE_PASSPHRASE nor ENVELOPE_KEY_FILE needed
    await allSecretsOpen(s, { ENVELOPE_KEY_FILE: keyFile })
    refused(await run(['open', 'app/dev'], { ENVELOPE_PASSPHRASE: PASS, ENVELOPE_KEY_FILE: join(outside, 'missing.key') }), 1, /missing\.key does not exist/)

    // keyfile -> keychain; the key file is then not needed any more
    const toKeychain = await run(['key', 'rotate', '--to', 'keychain'])
    ok(toKeychain, 'rotate to keychain')
    assert.match(toKeychain.stdout, /^Backend: keyfile -> keychain\./m)
    assert.match(toKeychain.stdout, /^The old key file .*store\.key no longer opens this store/m)
    assert.match(toKeychain.stdout, /^Next: nothing to set: the key is in the OS keychain/m)
    renameSync(keyFile, keyFile + '.old')
    const last = await status(s)
    assert.deepEqual([last.code, last.backend, last.available], [0, 'keychain', true])
    const lastKey = keychainEntry(s.dir, last.keyId!).getPassword()
    assert.ok(lastKey)
    keys.push(Buffer.from(lastKey, 'base64'))
    await allSecretsOpen(s)
    const other = await run(['open', 'app/prod', 'app.other', '--format', 'string'])
    assert.equal(other.stdout, 'saved-under-passphrase\n')

    // the audit log: three rotations, from/to, never the passphrase or a key
    const auditJson = await run(['audit', '--limit', '500', '--output', 'json'])
    ok(auditJson, 'audit')
    const rotations = (JSON.parse(auditJson.stdout) as { action: string; result: string; detail?: Record<string, unknown> }[])
      .filter((e) => e.action === 'key.rotate' && e.result === 'ok')
      .reverse()
      .map((e) => [e.detail?.from, e.detail?.to, e.detail?.rewrapped, e.detail?.oldKeyRemoved])
    assert.deepEqual(rotations, [
      ['keychain', 'passphrase', 2, true],
      ['passphrase', 'keyfile', 2, false],
      ['keyfile', 'keychain', 2, false],
    ])
    ok(await run(['audit', '--limit', '500']), 'audit (text)')
    assert.equal(kekRows(s.dir).filter((k) => k.retired === null).length, 1)

    // the scan: no passphrase, no key bytes in any file of the data folder or in any output
    const needles = [Buffer.from(PASS), Buffer.from(PASS.normalize('NFC')), ...keys.flatMap(spellings)]
    const files = filesUnder(s.dir)
    assert.ok(
      files.some((f) => f.endsWith('envelope.db')),
      `the scan sees the store: ${files.join(', ')}`,
    )
    for (const f of files) {
      const bytes = readFileSync(f)
      for (const n of needles) assert.equal(bytes.indexOf(n), -1, `${f} holds the passphrase or a key`)
    }
    const printed = Buffer.from(outputs.join('\n'))
    for (const n of needles) assert.equal(printed.indexOf(n), -1, 'a command printed the passphrase or a key')
  },
)

/** Runs `envelope args…` on a pseudo-terminal (`script`), typing each answer after its prompt. */
function onTerminal(
  dir: string,
  args: string[],
  answers: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; transcript: string }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      cwd: root,
      env: { ...process.env, ...CLEAN, NO_COLOR: '1', ENVELOPE_DATA_DIR: dir, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let transcript = ''
    let prompts = 0
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      transcript += d
      const seen = transcript.match(/passphrase: /gi)?.length ?? 0
      while (prompts < seen && prompts < answers.length) child.stdin.write(answers[prompts++] + '\r')
    })
    child.stderr.resume()
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, transcript }))
  })
}

test('on a terminal the new passphrase is asked twice, without echo', { timeout: 120_000 }, async (t) => {
  const s = store(t, 'tty')
  ok(await s.cli(['env', 'init', 'app/dev']), 'init')
  ok(await s.cli(['env', 'set', 'app/dev', 'app.token', SECRETS['app/dev'], '--secret']), 'set')

  const mismatch = await onTerminal(s.dir, ['key', 'rotate', '--to', 'passphrase'], [PASS, PASS + 'x'])
  assert.equal(mismatch.code, 1, mismatch.transcript)
  assert.match(mismatch.transcript, /Repeat passphrase: /)
  assert.match(mismatch.transcript, /error: the passphrases do not match/)
  assert.equal((await status(s)).backend, 'keychain', 'nothing changed')

  const typed = await onTerminal(s.dir, ['key', 'rotate', '--to', 'passphrase'], [PASS, PASS])
  assert.equal(typed.code, 0, typed.transcript)
  assert.match(typed.transcript, /Backend: keychain -> passphrase/)
  assert.ok(!typed.transcript.includes(PASS.slice(0, 12)), 'the passphrase was echoed')
  const r = await s.cli(['open', 'app/dev', 'app.token', '--format', 'string'], { ENVELOPE_PASSPHRASE: PASS })
  ok(r, 'open with the typed passphrase')
  assert.equal(r.stdout, `${SECRETS['app/dev']}\n`)
})

test('refused: unknown backend, flags that do not go together, weak passphrase, no key file, the same key file', { timeout: 300_000 }, async (t) => {
  const s = store(t, 'errors')
  const outside = s.outside
  ok(await s.cli(['env', 'init', 'app/dev']), 'init')
  ok(await s.cli(['env', 'set', 'app/dev', 'app.token', SECRETS['app/dev'], '--secret']), 'set')
  const keyId = (await status(s)).keyId
  const passFile = join(outside, 'pass.txt')
  writeFileSync(passFile, PASS + '\n')

  // usage errors (exit 2): nothing opened, nothing changed
  refused(await s.cli(['key', 'rotate', '--to', 'vault']), 2, /argument 'vault' is invalid\. Allowed choices are keychain, passphrase, keyfile/)
  refused(
    await s.cli(['key', 'rotate', '--to', 'keychain', '--key-file', 'k.key']),
    2,
    /--key-file goes with --to keyfile, not --to keychain/,
    /--to keyfile --key-file k\.key/,
  )
  refused(
    await s.cli(['key', 'rotate', '--to', 'keyfile', '--passphrase-file', passFile]),
    2,
    /--passphrase-file goes with --to passphrase, not --to keyfile/,
    /--to passphrase --passphrase-file/,
  )
  refused(
    await s.cli(['key', 'rotate', '--key-file', 'k.key']),
    2,
    /--key-file goes with --to keyfile \(this store's key is in the keychain backend\)/,
    /--to keyfile/,
  )
  refused(await s.cli(['key', 'rotate', '--passphrase-file', passFile]), 2, /--passphrase-file goes with --to passphrase/, /--to passphrase/)
  refused(
    await s.cli(['key', 'rotate', '--to', 'keyfile', '--key-file', 'k.key', '--passphrase-file', passFile]),
    2,
    /--key-file and --passphrase-file exclude each other/,
  )

  // errors (exit 1)
  refused(await s.cli(['key', 'rotate', '--to', 'passphrase']), 1, /a passphrase is required/, /--passphrase-file <file> or ENVELOPE_NEW_PASSPHRASE/)
  refused(
    await s.cli(['key', 'rotate', '--to', 'passphrase'], { ENVELOPE_NEW_PASSPHRASE: 'too short' }),
    1,
    /the passphrase is too short \(12 characters at least\)/,
  )
  const empty = join(outside, 'empty.txt')
  writeFileSync(empty, '\n')
  refused(await s.cli(['key', 'rotate', '--to', 'passphrase', '--passphrase-file', empty]), 1, /a passphrase is required/)
  refused(await s.cli(['key', 'rotate', '--to', 'passphrase', '--passphrase-file', join(outside, 'nope.txt')]), 1, /cannot read .*nope\.txt: no such file/)
  refused(await s.cli(['key', 'rotate', '--to', 'keyfile']), 1, /moving the key to a key file needs its path/, /--key-file <path>.*or set ENVELOPE_KEY_FILE/)
  const junk = join(outside, 'junk.key')
  writeFileSync(junk, 'not a key\n')
  refused(await s.cli(['key', 'rotate', '--to', 'keyfile', '--key-file', junk]), 1, /junk\.key does not hold a 32-byte key/)
  const still = await status(s)
  assert.deepEqual([still.backend, still.keyId], ['keychain', keyId], 'the refused rotations changed nothing')
  assert.ok(keychainEntry(s.dir, keyId!).getPassword(), 'the keychain entry is still there')

  // on a key file: the same file (by path, by ENVELOPE_KEY_FILE, or a copy) is no rotation; no path at all is asked for
  const keyFile = join(outside, 'a.key')
  ok(await s.cli(['key', 'rotate', '--to', 'keyfile'], { ENVELOPE_KEY_FILE: keyFile }), 'rotate to key file via ENVELOPE_KEY_FILE')
  const copy = join(outside, 'copy.key')
  copyFileSync(keyFile, copy)
  refused(
    await s.cli(['key', 'rotate', '--to', 'keyfile', '--key-file', keyFile]),
    1,
    /a\.key holds the key that protects the store now/,
    /a path that does not exist yet/,
  )
  refused(await s.cli(['key', 'rotate'], { ENVELOPE_KEY_FILE: keyFile }), 1, /a\.key holds the key that protects the store now/)
  refused(await s.cli(['key', 'rotate', '--key-file', copy]), 1, /copy\.key holds the key that protects the store now/)
  refused(await s.cli(['key', 'rotate']), 1, /rotating a key-file key needs the path of a NEW key file/)
  // a new file while ENVELOPE_KEY_FILE still names the old one: the output says to change it
  mkdirSync(join(outside, 'new'))
  const newer = join(outside, 'new', 'b.key')
  const moved = await s.cli(['key', 'rotate', '--key-file', newer], { ENVELOPE_KEY_FILE: keyFile })
  ok(moved, 'key file -> key file')
  assert.match(moved.stdout, new RegExp(`ENVELOPE_KEY_FILE names ${keyFile} in this shell: set ENVELOPE_KEY_FILE=${newer} or unset it`))
  refused(await s.cli(['open', 'app/dev'], { ENVELOPE_KEY_FILE: keyFile }), 1, /is not this store's key/)
  const opened = await s.cli(['open', 'app/dev', 'app.token', '--format', 'string'])
  assert.equal(opened.stdout, `${SECRETS['app/dev']}\n`)

  // an existing key file readable by others is refused (as ssh does), with the chmod that fixes it
  const loose = join(outside, 'loose.key')
  writeFileSync(loose, Buffer.alloc(32, 7).toString('base64') + '\n', { mode: 0o644 })
  refused(await s.cli(['key', 'rotate', '--key-file', loose]), 1, /loose\.key can be accessed by other users \(mode 0644\)/, new RegExp(`chmod 600 ${loose}$`))
  chmodSync(loose, 0o600)
  ok(await s.cli(['key', 'rotate', '--key-file', loose]), 'rotate to a key file once only its owner may read it')

  // on a passphrase store: without the current passphrase nothing is asked and nothing changes
  ok(await s.cli(['key', 'rotate', '--to', 'passphrase', '--passphrase-file', passFile]), 'rotate to passphrase')
  refused(
    await s.cli(['key', 'rotate', '--to', 'keychain']),
    1,
    /cannot rotate: this store is protected by a passphrase, and ENVELOPE_PASSPHRASE is not set/,
    /set ENVELOPE_PASSPHRASE/,
  )
  // `key rotate` alone keeps the passphrase (new salt, new key)
  const before = (await status(s, { ENVELOPE_PASSPHRASE: PASS })).keyId
  const same = await s.cli(['key', 'rotate'], { ENVELOPE_PASSPHRASE: PASS })
  ok(same, 'rotate, same passphrase')
  assert.match(same.stdout, /^Next: keep ENVELOPE_PASSPHRASE as it is/m)
  assert.notEqual((await status(s, { ENVELOPE_PASSPHRASE: PASS })).keyId, before)
  // a new passphrase from ENVELOPE_NEW_PASSPHRASE (the old one still in ENVELOPE_PASSPHRASE)
  const PASS2 = `${PASS} the second`
  ok(await s.cli(['key', 'rotate'], { ENVELOPE_PASSPHRASE: PASS, ENVELOPE_NEW_PASSPHRASE: PASS2 }), 'rotate to a new passphrase')
  refused(await s.cli(['open', 'app/dev'], { ENVELOPE_PASSPHRASE: PASS }), 1, /not the one that protects this store/)
  ok(await s.cli(['open', 'app/dev'], { ENVELOPE_PASSPHRASE: PASS2 }), 'open with the new passphrase')

  // failed rotations are audited with their target, successful ones with from/to
  const audit = await s.cli(['audit', '--limit', '500'], { ENVELOPE_PASSPHRASE: PASS2 })
  ok(audit, 'audit')
  assert.match(audit.stdout, /key\.rotate error +store to=keyfile error=invalid_input/)
  assert.match(audit.stdout, /key\.rotate ok +store .*from=keychain to=keyfile/)
  assert.match(audit.stdout, /key\.rotate ok +store .*from=keyfile to=passphrase/)
  assert.ok(!audit.stdout.includes(PASS) && !audit.stdout.includes(PASS2))
})
