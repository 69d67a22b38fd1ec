/**
 * Rule 1 of issue 12 through the real CLI (child processes of bin/envelope, under the real keychain:
 * `test/with-keyring.sh node --test test/integration/files/*.test.ts`), in temp folders: writing to a path
 * never replaces what is there. `export -o`, `key export -o`: a FIFO's reader gets the exact bytes and the
 * FIFO stays; `-o -` is stdout; a character device stays one; a link is followed to a file or refused; an
 * existing file is refused without --force and replaced (0600, a new inode) with it; folders, missing
 * folders and unwritable folders give clear errors; no temp file is ever left; `run`'s and `open`'s
 * `files:` are 0600 in a private 0700 folder.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { envelope, tempDir, type RunResult } from '../cli/helpers.ts'

const dataDir = tempDir('envelope-files-data-')
const work = tempDir('envelope-files-work-')
const SECRET = `s3cr3t '"$HOME #1 Ωmega ${process.pid}`
const PASSPHRASE = 'export passphrase long enough'
const env = { ENVELOPE_DATA_DIR: dataDir, ENVELOPE_EXPORT_PASSPHRASE: PASSPHRASE }
const cli = (args: string[], cwd = work): Promise<RunResult> => envelope(args, { env, cwd })
const isRoot = process.getuid?.() === 0
/** a FIFO whose writer never comes would block its reader: fail instead of hanging */
const T = { timeout: 60_000 }

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

function failed(r: RunResult, re: RegExp): void {
  assert.equal(r.code, 1, `expected a refusal:\n${r.stdout}\n${r.stderr}`)
  assert.match(r.stderr, re)
  assert.doesNotMatch(r.stderr, /this is a bug|unexpected failure/)
  assert.ok(!r.stderr.includes(SECRET) && !r.stdout.includes(SECRET), 'no secret in the messages')
}

/** A fresh folder under the work folder; nothing else may be left in it after a command. */
function folder(name: string): string {
  const d = join(work, name)
  mkdirSync(d)
  return d
}

let expected = ''

/** `cat fifo` in the background; killed when the test ends (a writer that never comes must not hang it). */
function readFifo(t: { after(fn: () => void): void }, fifo: string): Promise<string> {
  const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => reader.kill())
  let got = ''
  reader.stdout.setEncoding('utf8').on('data', (c: string) => (got += c))
  return new Promise((res) => reader.on('close', () => res(got)))
}

test.before(async () => {
  ok(await cli(['env', 'init', 'files/app']), 'init')
  ok(await cli(['env', 'set', 'files/app', 'environmentVariables.TOKEN', SECRET, '--secret']), 'set')
  ok(await cli(['env', 'set', 'files/app', 'files.CERT', 'cert-body']), 'set file')
  expected = ok(await cli(['export', 'files/app']), 'export to stdout').stdout
  assert.ok(expected.includes('TOKEN='))
})

test.after(() => {
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
})

test('-o - prints to stdout and creates no file named -', T, async () => {
  const d = folder('dash')
  const r = ok(await cli(['export', 'files/app', '-o', '-'], d), 'export -o -')
  assert.equal(r.stdout, expected)
  assert.deepEqual(readdirSync(d), [])
  const k = ok(await cli(['key', 'export', '-o', '-'], d), 'key export -o -')
  assert.match(k.stdout, /\S/)
  assert.deepEqual(readdirSync(d), [])
})

test('a FIFO with a reader gets the exact bytes and stays a FIFO (export -o, key export -o)', T, async (t) => {
  const d = folder('fifo')
  const fifo = join(d, 'p')
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
  for (const args of [
    ['export', 'files/app', '-o', fifo],
    ['key', 'export', '-o', fifo],
  ]) {
    const read = readFifo(t, fifo)
    const r = ok(await cli(args, d), args.join(' '))
    const got = await read
    if (args[0] === 'export') assert.equal(got, expected)
    else assert.match(got, /\S/)
    assert.match(r.stderr, /wrote into the FIFO/)
    assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO')
    assert.deepEqual(readdirSync(d), ['p'], 'no temp file, no regular file')
  }
})

test('a character device (made in a temp folder, never /dev/*) is written into and stays a device', { ...T, skip: !isRoot && 'mknod needs root' }, async () => {
  const d = folder('device')
  const dev = join(d, 'null-copy')
  const nul = statSync('/dev/null')
  const major = Math.floor(nul.rdev / 256)
  const minor = nul.rdev % 256
  assert.equal(spawnSync('mknod', [dev, 'c', String(major), String(minor)]).status, 0)
  chmodSync(dev, 0o666)
  ok(await cli(['export', 'files/app', '-o', dev], d), 'export -o device')
  const st = lstatSync(dev)
  assert.ok(st.isCharacterDevice(), 'still a character device')
  assert.equal(st.rdev, nul.rdev)
  assert.equal(st.mode & 0o777, 0o666, 'not chmod-ed')
  assert.deepEqual(readdirSync(d), ['null-copy'])
})

test('an existing file is refused without --force (untouched), replaced atomically as 0600 with it', T, async () => {
  const d = folder('existing')
  const out = join(d, 'out.env')
  writeFileSync(out, 'precious', { mode: 0o644 })
  chmodSync(out, 0o644)
  for (const args of [
    ['export', 'files/app', '-o', out],
    ['key', 'export', '-o', out],
  ]) {
    failed(await cli(args, d), new RegExp(`${out} already exists; refusing to replace it\\nhint: pass --force`))
    assert.equal(readFileSync(out, 'utf8'), 'precious')
    assert.equal(statSync(out).mode & 0o777, 0o644)
  }
  const ino = statSync(out).ino
  const r = ok(await cli(['export', 'files/app', '-o', out, '--force'], d), 'export --force')
  assert.match(r.stderr, /replaced .*out\.env \(mode 0600\)/)
  assert.equal(readFileSync(out, 'utf8'), expected)
  assert.equal(statSync(out).mode & 0o777, 0o600)
  assert.notEqual(statSync(out).ino, ino, 'renamed over, not rewritten in place')
  ok(await cli(['key', 'export', '-o', out, '--force'], d), 'key export --force')
  assert.equal(statSync(out).mode & 0o777, 0o600)
  assert.deepEqual(readdirSync(d), ['out.env'])
  // a new file: created 0600
  const fresh = join(d, 'fresh.env')
  ok(await cli(['export', 'files/app', '-o', fresh], d), 'export to a new file')
  assert.equal(readFileSync(fresh, 'utf8'), expected)
  assert.equal(statSync(fresh).mode & 0o777, 0o600)
})

test(
  'links: followed to a file (refused without --force; with it the target is replaced, the link kept); dangling and folder links refused naming both',
  T,
  async (t) => {
    const d = folder('links')
    writeFileSync(join(d, 'target.env'), 'old')
    symlinkSync('target.env', join(d, 'link'))
    failed(await cli(['export', 'files/app', '-o', 'link'], d), /link \(a symbolic link to target\.env\) already exists/)
    assert.equal(readFileSync(join(d, 'target.env'), 'utf8'), 'old')
    ok(await cli(['export', 'files/app', '-o', 'link', '--force'], d), 'export through a link')
    assert.ok(lstatSync(join(d, 'link')).isSymbolicLink())
    assert.equal(readFileSync(join(d, 'target.env'), 'utf8'), expected)
    assert.equal(statSync(join(d, 'target.env')).mode & 0o777, 0o600)

    symlinkSync('planted-target', join(d, 'dangling'))
    failed(
      await cli(['export', 'files/app', '-o', 'dangling', '--force'], d),
      /cannot write dangling: it is a symbolic link to planted-target, which does not exist/,
    )
    assert.equal(existsSync(join(d, 'planted-target')), false)
    mkdirSync(join(d, 'sub'))
    symlinkSync('sub', join(d, 'to-folder'))
    failed(
      await cli(['export', 'files/app', '-o', 'to-folder', '--force'], d),
      new RegExp(`cannot write to-folder: it is a symbolic link to the folder ${d}/sub`),
    )
    // a link to a FIFO: streamed into
    assert.equal(spawnSync('mkfifo', [join(d, 'p')]).status, 0)
    symlinkSync('p', join(d, 'to-fifo'))
    const read = readFifo(t, join(d, 'p'))
    ok(await cli(['export', 'files/app', '-o', 'to-fifo'], d), 'export through a link to a FIFO')
    assert.equal(await read, expected)
    assert.ok(lstatSync(join(d, 'p')).isFIFO())
    assert.deepEqual(readdirSync(d).sort(), ['dangling', 'link', 'p', 'sub', 'target.env', 'to-fifo', 'to-folder'])
  },
)

test('a folder, a missing folder, an unwritable folder: clear errors naming the path, nothing left behind', T, async (t) => {
  const d = folder('errors')
  failed(await cli(['export', 'files/app', '-o', d], d), new RegExp(`cannot write ${d}: it is a folder`))
  failed(await cli(['export', 'files/app', '-o', join(d, 'no', 'such.env')], d), new RegExp(`the folder ${d}/no does not exist\\nhint: create it first`))
  failed(await cli(['key', 'export', '-o', join(d, 'no', 'such.key')], d), new RegExp(`the folder ${d}/no does not exist`))
  const locked = join(d, 'locked')
  mkdirSync(locked)
  if (isRoot) {
    // root ignores modes: an immutable folder is one it cannot write either
    if (spawnSync('chattr', ['+i', locked]).status !== 0) return t.skip('chattr +i is not available here')
    t.after(() => spawnSync('chattr', ['-i', locked]))
  } else chmodSync(locked, 0o500)
  failed(
    await cli(['export', 'files/app', '-o', join(locked, 'out.env')], d),
    new RegExp(`cannot write ${locked}/out\\.env: permission denied \\(creating a file in ${locked}\\)`),
  )
  assert.deepEqual(readdirSync(locked), [])
})

test("run's and open's files: 0600 files in a private 0700 folder", T, async () => {
  const r = ok(
    await envelope(['run', 'files/app', '--', 'sh', '-c', 'stat -c "%a %F" "$(dirname "$CERT")" "$CERT"; cat "$CERT"'], { env, cwd: work }),
    'run with files',
  )
  assert.equal(r.stdout, '700 directory\n600 regular file\ncert-body')
  const o = ok(await cli(['open', 'files/app', '--format', 'dotenv']), 'open dotenv')
  const path = /CERT='?([^'\n]+)'?/.exec(o.stdout)?.[1]
  assert.ok(path && existsSync(path), o.stdout)
  assert.equal(statSync(path).mode & 0o777, 0o600)
  assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700)
  rmSync(join(path, '..'), { recursive: true, force: true })
})
