/**
 * The writer of user-named paths (electron/services/files/write.ts), in process and in real child
 * processes, in temp folders: exact bytes for any content and any file name, an existing file refused
 * unless forced, replaced atomically as 0600, links followed or refused, temp files never left behind
 * (failure mid-write, SIGTERM/SIGINT/SIGHUP mid-write), `files:` temp files never written through a link.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mkdtempSync } from 'node:fs'
import fc from 'fast-check'
import { UserError } from '../../../shared/errors.ts'
import { createPrivateTempDir, withTempFile, writeNewPrivateFileSync, writeUserFile } from '../../../electron/services/files/write.ts'

const writer = new URL('../../../electron/services/files/write.ts', import.meta.url).href

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'envelope-files-unit-'))
  t.after(() => rmSync(d, { recursive: true, force: true }))
  return d
}

async function refused(p: Promise<unknown>, re: RegExp): Promise<UserError> {
  const e = await p.then(
    () => assert.fail('expected a refusal'),
    (err: unknown) => err,
  )
  assert.ok(e instanceof UserError, `a UserError, got ${String(e)}`)
  assert.match(e.message, re)
  return e
}

/** File names a user may give: anything but `/`, NUL, `.` and `..`; `-` alone means stdout. */
const fileName = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
  .filter((s) => !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..' && s !== '-' && Buffer.byteLength(s) <= 200)

test('any content to any new file name: exactly those bytes, mode 0600, nothing else left in the folder', async (t) => {
  const d = dir(t)
  let i = 0
  await fc.assert(
    fc.asyncProperty(fileName, fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array({ maxLength: 200_000 })), async (name, content) => {
      const sub = join(d, String(i++))
      mkdirSync(sub)
      const path = join(sub, name)
      const r = await writeUserFile(path, content)
      assert.equal(r.kind, 'created')
      const want = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content)
      assert.deepEqual(readFileSync(path), want)
      assert.equal(statSync(path).mode & 0o777, 0o600)
      assert.deepEqual(readdirSync(sub), [name])
    }),
    { numRuns: 60 },
  )
})

test('an existing file is refused without force (unchanged, named with the flag), replaced atomically as 0600 with it', async (t) => {
  const d = dir(t)
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), async (before, after) => {
      const path = join(d, 'out.env')
      rmSync(path, { force: true })
      writeFileSync(path, before, { mode: 0o644 })
      chmodSync(path, 0o644)
      const e = await refused(writeUserFile(path, after, { forceFlag: '--overwrite-please' }), /out\.env already exists; refusing to replace it/)
      assert.match(e.hint ?? '', /--overwrite-please/)
      assert.equal(readFileSync(path, 'utf8'), before)
      const ino = statSync(path).ino
      assert.equal((await writeUserFile(path, after, { force: true })).kind, 'replaced')
      assert.equal(readFileSync(path, 'utf8'), after)
      assert.equal(statSync(path).mode & 0o777, 0o600, 'nothing readable by others after a replace')
      assert.notEqual(statSync(path).ino, ino, 'a new file renamed over the old one, not rewritten in place')
      assert.deepEqual(readdirSync(d), ['out.env'])
    }),
    { numRuns: 30 },
  )
})

test('links: followed to a regular file (refused without force, replaced with it, the link kept); dangling, looping or folder links refused naming both', async (t) => {
  const d = dir(t)
  writeFileSync(join(d, 'target.env'), 'old')
  symlinkSync('target.env', join(d, 'link'))
  await refused(writeUserFile(join(d, 'link'), 'new'), /link \(a symbolic link to target\.env\) already exists/)
  assert.equal(readFileSync(join(d, 'target.env'), 'utf8'), 'old')
  const r = await writeUserFile(join(d, 'link'), 'new', { force: true })
  assert.equal(r.kind, 'replaced')
  assert.ok(lstatSync(join(d, 'link')).isSymbolicLink(), 'the link stays a link')
  assert.equal(readFileSync(join(d, 'target.env'), 'utf8'), 'new')
  assert.equal(statSync(join(d, 'target.env')).mode & 0o777, 0o600)

  symlinkSync(join(d, 'nowhere', 'x'), join(d, 'dangling'))
  await refused(writeUserFile(join(d, 'dangling'), 's', { force: true }), new RegExp(`dangling: it is a symbolic link to ${d}/nowhere/x, which does not exist`))
  symlinkSync('not-yet', join(d, 'dangling2'))
  await refused(writeUserFile(join(d, 'dangling2'), 's', { force: true }), /symbolic link to not-yet, which does not exist/)
  assert.equal(existsSync(join(d, 'not-yet')), false, 'nothing created through the link')
  symlinkSync('loop2', join(d, 'loop1'))
  symlinkSync('loop1', join(d, 'loop2'))
  await refused(writeUserFile(join(d, 'loop1'), 's', { force: true }), /loop1.*too many levels of symbolic links/)
  mkdirSync(join(d, 'folder'))
  symlinkSync('folder', join(d, 'to-folder'))
  await refused(writeUserFile(join(d, 'to-folder'), 's', { force: true }), new RegExp(`to-folder: it is a symbolic link to the folder ${d}/folder`))
  assert.deepEqual(readdirSync(join(d, 'folder')), [])
})

test('a folder, a missing folder, a file as folder, an empty path: clear errors naming the path', async (t) => {
  const d = dir(t)
  await refused(writeUserFile(d, 'x', { force: true }), new RegExp(`cannot write ${d}: it is a folder`))
  await refused(writeUserFile(join(d, 'no', 'such.env'), 'x'), new RegExp(`cannot write ${d}/no/such\\.env: the folder ${d}/no does not exist`))
  writeFileSync(join(d, 'plain'), '')
  await refused(writeUserFile(join(d, 'plain', 'x.env'), 'x'), /plain\/x\.env: a part of the path is not a folder/)
  await refused(writeUserFile('', 'x'), /empty path/)
  await refused(writeUserFile(join(d, 'new-folder') + '/', 'x'), /new-folder\/: it names a folder, which does not exist/)
  assert.deepEqual(readdirSync(d), ['plain'])
})

test('a failure mid-write leaves no temp file and no target', async (t) => {
  const d = dir(t)
  async function* failing(): AsyncIterable<string> {
    yield 'SECRET-first-chunk'
    throw new UserError('io', 'the source failed')
  }
  await refused(writeUserFile(join(d, 'out.env'), failing()), /the source failed/)
  assert.deepEqual(readdirSync(d), [])
  writeFileSync(join(d, 'out.env'), 'kept')
  await refused(writeUserFile(join(d, 'out.env'), failing(), { force: true }), /the source failed/)
  assert.deepEqual(readdirSync(d), ['out.env'])
  assert.equal(readFileSync(join(d, 'out.env'), 'utf8'), 'kept')
})

/** A child process that writes a first chunk to `path` through the writer, says so, then waits forever. */
function stalledWriter(path: string, force: boolean): ReturnType<typeof spawn> {
  const code = `
    const { writeUserFile } = await import(${JSON.stringify(writer)})
    async function* slow() { yield 'SECRET-partial\\n'; process.stdout.write('writing\\n'); await new Promise(() => setInterval(() => {}, 1000)) }
    await writeUserFile(${JSON.stringify(path)}, slow(), { force: ${force} })
  `
  return spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] })
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  test(`${sig} mid-write: the temp file is removed, the target untouched, and the process dies of the signal`, async (t) => {
    const d = dir(t)
    writeFileSync(join(d, 'out.env'), 'kept')
    const child = stalledWriter(join(d, 'out.env'), true)
    await new Promise<void>((res) => child.stdout!.on('data', (b: Buffer) => b.toString().includes('writing') && res()))
    const temps = readdirSync(d).filter((n) => n !== 'out.env')
    assert.equal(temps.length, 1, 'a temp file exists while writing')
    assert.match(temps[0]!, /^\.out\.env\.[0-9a-f]+\.tmp$/)
    assert.equal(statSync(join(d, temps[0]!)).mode & 0o777, 0o600)
    child.kill(sig)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('close', (c, s) => res([c, s])))
    assert.equal(signal, sig, `killed by ${sig} (exit ${code})`)
    assert.deepEqual(readdirSync(d), ['out.env'])
    assert.equal(readFileSync(join(d, 'out.env'), 'utf8'), 'kept')
  })
}

test('withTempFile: the file is removed when the body ends, fails, or a signal arrives', async (t) => {
  const d = dir(t)
  const p = join(d, 'buffer.yaml')
  await withTempFile(p, async () => writeNewPrivateFileSync(p, 'secret'))
  assert.equal(existsSync(p), false)
  await assert.rejects(
    withTempFile(p, async () => {
      writeNewPrivateFileSync(p, 'secret')
      throw new Error('editor failed')
    }),
    /editor failed/,
  )
  assert.equal(existsSync(p), false)
  const code = `
    const { withTempFile, writeNewPrivateFileSync } = await import(${JSON.stringify(writer)})
    await withTempFile(${JSON.stringify(p)}, async () => { writeNewPrivateFileSync(${JSON.stringify(p)}, 's'); process.stdout.write('ready\\n'); await new Promise(() => setInterval(() => {}, 1000)) })
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((res) => child.stdout.on('data', (b: Buffer) => b.toString().includes('ready') && res()))
  assert.equal(existsSync(p), true)
  child.kill('SIGHUP')
  const signal = await new Promise<NodeJS.Signals | null>((res) => child.on('close', (_c, s) => res(s)))
  assert.equal(signal, 'SIGHUP')
  assert.equal(existsSync(p), false)
})

test('secret temp files: a private 0700 folder; a file or link planted at the name is never written through', (t) => {
  const d = dir(t)
  const priv = createPrivateTempDir('envelope-files-unit-priv-')
  t.after(() => rmSync(priv, { recursive: true, force: true }))
  assert.equal(statSync(priv).mode & 0o777, 0o700)
  writeNewPrivateFileSync(join(priv, 'a'), 'secret')
  assert.equal(statSync(join(priv, 'a')).mode & 0o777, 0o600)
  assert.throws(() => writeNewPrivateFileSync(join(priv, 'a'), 'other'), /EEXIST/)
  assert.equal(readFileSync(join(priv, 'a'), 'utf8'), 'secret')
  writeFileSync(join(d, 'victim'), 'victim')
  symlinkSync(join(d, 'victim'), join(priv, 'planted'))
  assert.throws(() => writeNewPrivateFileSync(join(priv, 'planted'), 'secret'), /EEXIST/)
  assert.equal(readFileSync(join(d, 'victim'), 'utf8'), 'victim')
  symlinkSync(join(d, 'absent'), join(priv, 'dangling'))
  assert.throws(() => writeNewPrivateFileSync(join(priv, 'dangling'), 'secret'), /EEXIST/)
  assert.equal(existsSync(join(d, 'absent')), false)
})

test('a Unix socket is connected to and streamed into', async (t) => {
  const d = dir(t)
  const { createServer } = await import('node:net')
  let got = ''
  const closed = new Promise<void>((res) => {
    const srv = createServer((c) =>
      c
        .setEncoding('utf8')
        .on('data', (s: string) => (got += s))
        .on('end', () => srv.close(() => res())),
    )
    srv.listen(join(d, 'sock'))
  })
  await new Promise((r) => setTimeout(r, 50))
  const content = 'x'.repeat(300_000) + 'SECRET'
  const r = await writeUserFile(join(d, 'sock'), content)
  assert.equal(r.kind, 'stream')
  await closed
  assert.equal(got, content)
  assert.deepEqual(readdirSync(d), [])
})

test('-, /dev/stdout, /dev/stderr and /dev/fd/N are the descriptors, never files', async (t) => {
  const d = dir(t)
  const code = `
    const { writeUserFile } = await import(${JSON.stringify(writer)})
    await writeUserFile('-', 'to-stdout;')
    await writeUserFile('/dev/stdout', 'again;')
    await writeUserFile('/dev/stderr', 'to-stderr;')
    await writeUserFile('/dev/fd/2', 'fd2;')
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: d, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s))
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s))
  assert.equal(await new Promise((res) => child.on('close', res)), 0, err)
  assert.equal(out, 'to-stdout;again;')
  assert.equal(err, 'to-stderr;fd2;')
  assert.deepEqual(readdirSync(d), [])
})

test("the app's Save (saveExport): the dialog asked, so an existing file is replaced (0600); a FIFO is written into; a dangling link refused", async (t) => {
  const { saveExport } = await import('../../../electron/app-api/export.ts')
  const d = dir(t)
  writeFileSync(join(d, 'app.env'), 'old', { mode: 0o644 })
  assert.equal(await saveExport(join(d, 'app.env'), 'TOKEN=x\n'), join(d, 'app.env'))
  assert.equal(readFileSync(join(d, 'app.env'), 'utf8'), 'TOKEN=x\n')
  assert.equal(statSync(join(d, 'app.env')).mode & 0o777, 0o600)
  assert.equal(spawnSync('mkfifo', [join(d, 'p')]).status, 0)
  const reader = spawn('cat', [join(d, 'p')], { stdio: ['ignore', 'pipe', 'ignore'] })
  t.after(() => reader.kill())
  let got = ''
  reader.stdout.setEncoding('utf8').on('data', (s: string) => (got += s))
  const done = new Promise((res) => reader.on('close', res))
  await saveExport(join(d, 'p'), 'TOKEN=y\n')
  await done
  assert.equal(got, 'TOKEN=y\n')
  assert.ok(lstatSync(join(d, 'p')).isFIFO())
  symlinkSync('gone', join(d, 'dangling'))
  await refused(saveExport(join(d, 'dangling'), 'TOKEN=z\n'), /symbolic link to gone, which does not exist/)
  assert.deepEqual(readdirSync(d).sort(), ['app.env', 'dangling', 'p'])
})

/** Everything in a folder, as (name → kind, link text, content): what a write may or may not have changed. */
function snapshot(d: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const n of readdirSync(d)) {
    const p = join(d, n)
    const st = lstatSync(p)
    if (st.isSymbolicLink()) out[n] = `link:${readlinkSync(p)}`
    else if (st.isFIFO()) out[n] = 'fifo'
    else if (st.isDirectory()) out[n] = `dir:${readdirSync(p).join(',')}`
    else out[n] = `file:${(st.mode & 0o777).toString(8)}:${readFileSync(p, 'utf8')}`
  }
  return out
}

test('for every kind of thing at the path, with and without force: the policy holds, and a refusal changes nothing', async (t) => {
  const d = dir(t)
  const kinds = ['none', 'file', 'link-to-file', 'dangling-link', 'link-to-dir', 'dir', 'fifo', 'missing-folder', 'trailing-slash'] as const
  let i = 0
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...kinds), fc.boolean(), fc.string({ unit: 'binary', maxLength: 300 }), async (kind, force, content) => {
      const w = join(d, String(i++))
      mkdirSync(w)
      let path = join(w, 'out')
      if (kind === 'file') writeFileSync(path, 'before', { mode: 0o644 })
      if (kind === 'link-to-file') {
        writeFileSync(join(w, 'real'), 'before', { mode: 0o644 })
        symlinkSync('real', path)
      }
      if (kind === 'dangling-link') symlinkSync('real', path)
      if (kind === 'link-to-dir') {
        mkdirSync(join(w, 'real'))
        symlinkSync('real', path)
      }
      if (kind === 'dir') mkdirSync(path)
      if (kind === 'fifo') assert.equal(spawnSync('mkfifo', [path]).status, 0)
      if (kind === 'missing-folder') path = join(w, 'nope', 'out')
      if (kind === 'trailing-slash') path = join(w, 'out') + '/'
      const before = snapshot(w)
      let reader: Promise<string> | undefined
      if (kind === 'fifo') {
        const r = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'ignore'] })
        let got = ''
        r.stdout.setEncoding('utf8').on('data', (s: string) => (got += s))
        reader = new Promise((res) => r.on('close', () => res(got)))
      }
      const result = await writeUserFile(path, content, { force }).then(
        (r) => r,
        (e: unknown) => e,
      )
      const after = snapshot(w)
      const shouldWrite = kind === 'none' || kind === 'fifo' || (force && (kind === 'file' || kind === 'link-to-file'))
      if (!shouldWrite) {
        assert.ok(result instanceof UserError, `${kind} force=${force}: refused with a UserError, got ${JSON.stringify(result)}`)
        assert.ok(result.message.includes(path.replace(/\/$/, '')), `the message names the path: ${result.message}`)
        assert.deepEqual(after, before, 'a refusal changes nothing')
        return
      }
      assert.ok(!(result instanceof Error), `${kind} force=${force}: ${String(result)}`)
      if (kind === 'fifo') {
        assert.equal(await reader, content)
        assert.deepEqual(after, before, 'the FIFO stays a FIFO; nothing else appears')
        return
      }
      const file = kind === 'link-to-file' ? 'real' : 'out'
      assert.deepEqual(after, { ...before, [file]: `file:600:${content}` })
    }),
    { numRuns: 120 },
  )
})
