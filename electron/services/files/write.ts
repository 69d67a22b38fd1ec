/**
 * The one way Envelope writes a file whose path a user named (`export -o`, `key export -o`, `sync resolve
 * --output`, the app's Save dialog) or a file that holds secrets (`run`'s `files:`, `open --format dotenv`'s
 * temp files, `env edit`'s buffer). Rule: writing to a path never replaces what is there by surprise.
 *
 * What a path gets, decided on what it is now (lstat), the way a shell's `>` treats it, but without its
 * silent truncation of a regular file:
 * - `-`, `/dev/stdout`: standard output; `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`: that descriptor
 *   (bash gives these names the same meaning; they are never created as files).
 * - a FIFO, a character device or a Unix socket: opened (connected) and streamed into; no temp file, no
 *   rename, no chmod: it stays what it is and its reader gets the bytes.
 * - a block device: refused (writing secrets over a disk is never what `-o` meant).
 * - a folder: refused, naming it.
 * - a symbolic link: followed to what it finally points to, and that gets the same rules (a regular file is
 *   replaced in its own folder and the link is kept; a FIFO or device is streamed into). A link whose target
 *   does not exist, a link loop, or a link to a folder is refused, naming the link and its target: a
 *   pre-planted link never makes Envelope create a file somewhere else.
 * - a regular file that exists: refused unless `force` (the CLI's `--force`; the app asks in its Save
 *   dialog); replaced atomically: a temp file in the same folder (O_EXCL, 0600, never a link), written,
 *   fsynced, renamed over it, the folder fsynced. The result is 0600 whatever the old mode was.
 * - a path that does not exist: created the same way, published with link(2), which fails rather than
 *   replace a file that appeared meanwhile.
 * Temp files are removed on any failure and on SIGINT, SIGTERM and SIGHUP (then the signal does what it
 * would have done). Errors are UserErrors naming the path, and the link target where there is one.
 */
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { UserError } from '../../../shared/errors.ts'

/** What to write: text (UTF-8), bytes, or chunks as they come (written as they arrive). */
export type Content = string | Uint8Array | AsyncIterable<Uint8Array | string>

export interface WriteOptions {
  /** replace an existing regular file (default false: refuse and name `forceFlag`) */
  force?: boolean
  /** how the user asks for `force`, for the error's hint (default `--force`) */
  forceFlag?: string
  /** where `-` and `/dev/stdout` go (default: process.stdout) */
  stdout?: (text: string | Uint8Array) => void
}

/** What happened, for the caller's message ("wrote X (mode 0600)" only makes sense for files). */
export type WriteResult =
  | { kind: 'stdout' }
  | { kind: 'descriptor'; fd: number }
  | { kind: 'stream'; path: string; target: string; type: 'FIFO' | 'character device' | 'socket' }
  | { kind: 'created' | 'replaced'; path: string; target: string }

const CHUNK = 64 * 1024

const fail = (message: string, hint?: string): UserError => new UserError('io', message, hint ? { hint } : undefined)

/** The OS error as words a user can act on. */
function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EROFS':
      return 'read-only file system'
    case 'ENOSPC':
      return 'no space left on the device'
    case 'EDQUOT':
      return 'disk quota exceeded'
    case 'EISDIR':
      return 'it is a folder'
    case 'ENOENT':
      return 'no such file or folder'
    case 'ENOTDIR':
      return 'a part of the path is not a folder'
    case 'ELOOP':
      return 'too many levels of symbolic links'
    case 'ENAMETOOLONG':
      return 'the name is too long'
    case 'EPIPE':
      return 'the reader went away before everything was written'
    case 'ENXIO':
      return 'nothing is listening there'
    case 'ECONNREFUSED':
      return 'nothing is listening on that socket'
    default:
      return err.code ? `${err.message}` : String(e)
  }
}

// ---- temp files removed on failure and on signals ----

const live = new Set<string>()
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

function removeLive(): void {
  for (const p of live) {
    try {
      unlinkSync(p)
    } catch {
      // already gone
    }
  }
  live.clear()
}

function onSignal(sig: NodeJS.Signals): void {
  removeLive()
  untrack()
  // nobody else handles it: do what the signal would have done (exit status as a shell expects)
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig)
}

function onExit(): void {
  removeLive()
}

function track(path: string): void {
  if (live.size === 0) {
    for (const s of SIGNALS) process.on(s, onSignal)
    process.on('exit', onExit)
  }
  live.add(path)
}

function untrack(path?: string): void {
  if (path !== undefined) live.delete(path)
  if (live.size === 0 || path === undefined) {
    for (const s of SIGNALS) process.off(s, onSignal)
    process.off('exit', onExit)
  }
}

/**
 * Runs `body` with `path` registered as a temp file holding secrets: removed when `body` ends or throws,
 * and on SIGINT/SIGTERM/SIGHUP while it runs (then the signal does what it would have done). For the
 * callers that keep plaintext in a temp file of their own for a while (`env edit`'s buffer).
 */
export async function withTempFile<T>(path: string, body: () => Promise<T>): Promise<T> {
  track(path)
  try {
    return await body()
  } finally {
    removeQuietly(path)
    untrack(path)
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // never created, or already renamed into place
  }
}

// ---- what a path is ----

type Target =
  | { kind: 'stdout' }
  | { kind: 'descriptor'; fd: number }
  | { kind: 'stream'; target: string; type: 'FIFO' | 'character device' | 'socket' }
  | { kind: 'file'; target: string; exists: boolean }

/** bash's special names: never files. */
function specialName(path: string): Target | undefined {
  if (path === '-' || path === '/dev/stdout') return { kind: 'stdout' }
  if (path === '/dev/stderr') return { kind: 'descriptor', fd: 2 }
  const m = /^(?:\/dev\/fd|\/proc\/self\/fd)\/(\d+)$/.exec(path)
  if (m) return { kind: 'descriptor', fd: Number(m[1]) }
  return undefined
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw fail(`cannot write ${path}: ${why(e)}`)
  }
}

/** Checks the folder a new file goes into exists and is a folder. */
function checkFolder(path: string, file: string): void {
  const dir = dirname(file)
  let st: Stats
  try {
    st = statSync(dir)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw fail(`cannot write ${path}: the folder ${dir} does not exist`, `create it first (mkdir -p ${dir})`)
    throw fail(`cannot write ${path}: ${why(e)} (${dir})`)
  }
  if (!st.isDirectory()) throw fail(`cannot write ${path}: ${dir} is not a folder`)
}

/** Decides what writing to `path` means (see the module comment); throws the refusals. */
function classify(path: string, opts: WriteOptions): Target {
  const special = specialName(path)
  if (special) return special
  if (path === '') throw fail('cannot write to an empty path', 'name a file, or - for standard output')
  const st = lstatOrUndefined(path)
  if (!st) {
    // `out/` names a folder, as in a shell's `> out/`: never a file called `out`
    if (path.endsWith('/')) throw fail(`cannot write ${path}: it names a folder, which does not exist`, 'name a file')
    checkFolder(path, resolve(path))
    return { kind: 'file', target: resolve(path), exists: false }
  }
  let target = resolve(path)
  let final = st
  const via = st.isSymbolicLink() ? ` (a symbolic link to ${linkText(path)})` : ''
  if (st.isSymbolicLink()) {
    try {
      target = realpathSync(path)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT')
        throw fail(
          `cannot write ${path}: it is a symbolic link to ${linkText(path)}, which does not exist`,
          'Envelope does not create files through links: write to the target path itself, or remove the link',
        )
      throw fail(`cannot write ${path}${via}: ${why(e)}`)
    }
    try {
      final = statSync(target)
    } catch (e) {
      throw fail(`cannot write ${path}${via}: ${why(e)}`)
    }
  }
  if (final.isDirectory()) {
    throw fail(
      st.isSymbolicLink() ? `cannot write ${path}: it is a symbolic link to the folder ${target}` : `cannot write ${path}: it is a folder`,
      'name a file in it',
    )
  }
  if (final.isFIFO()) return { kind: 'stream', target, type: 'FIFO' }
  if (final.isCharacterDevice()) return { kind: 'stream', target, type: 'character device' }
  if (final.isSocket()) return { kind: 'stream', target, type: 'socket' }
  if (final.isBlockDevice()) throw fail(`cannot write ${path}${via}: it is a block device; refusing to write over it`)
  if (!final.isFile()) throw fail(`cannot write ${path}${via}: it is not a regular file`)
  if (!opts.force) {
    throw fail(
      `${path}${via} already exists; refusing to replace it`,
      `pass ${opts.forceFlag ?? '--force'} to replace it (the new file is written next to it and renamed over it, mode 0600), or choose another path`,
    )
  }
  checkFolder(path, target)
  return { kind: 'file', target, exists: true }
}

function linkText(path: string): string {
  try {
    return readlinkSync(path)
  } catch {
    return '(unreadable)'
  }
}

// ---- writing ----

async function* chunks(content: Content): AsyncIterable<Uint8Array> {
  if (typeof content === 'string' || content instanceof Uint8Array) {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content
    for (let i = 0; i < bytes.length; i += CHUNK) yield bytes.subarray(i, Math.min(bytes.length, i + CHUNK))
    return
  }
  for await (const c of content) yield typeof c === 'string' ? Buffer.from(c, 'utf8') : c
}

async function writeAll(fh: FileHandle, content: Content): Promise<void> {
  for await (const c of chunks(content)) {
    let off = 0
    while (off < c.length) off += (await fh.write(c, off, c.length - off)).bytesWritten
  }
}

/** Writes into an open descriptor (stdout's pipe may be non-blocking: EAGAIN waits a moment). */
async function writeToFd(fd: number, content: Content): Promise<void> {
  for await (const c of chunks(content)) {
    let off = 0
    while (off < c.length) {
      try {
        off += writeSync(fd, c, off, c.length - off)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e
        await new Promise((r) => setTimeout(r, 5))
      }
    }
  }
}

async function streamInto(t: Extract<Target, { kind: 'stream' }>, content: Content): Promise<void> {
  if (t.type === 'socket') {
    const sock = createConnection({ path: t.target })
    await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej))
    for await (const c of chunks(content)) if (!sock.write(c)) await new Promise((r) => sock.once('drain', r))
    await new Promise<void>((res, rej) => sock.end(() => res()).once('error', rej))
    return
  }
  // a FIFO waits here for its reader, like a shell's `>`; the open runs off the main thread so signals
  // are still handled while it waits. No O_TRUNC, no chmod: the node stays as it is.
  const fh = await open(t.target, constants.O_WRONLY | constants.O_NOCTTY)
  try {
    await writeAll(fh, content)
  } finally {
    await fh.close()
  }
}

/** A fresh temp file next to `target`: O_EXCL (never an existing file, never a link), 0600. */
async function createTemp(target: string): Promise<{ tmp: string; fh: FileHandle }> {
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`)
  track(tmp)
  try {
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
    return { tmp, fh }
  } catch (e) {
    untrack(tmp)
    throw e
  }
}

function fsyncFolder(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY)
    fsyncSync(fd)
  } catch {
    // some file systems cannot fsync a folder; the rename itself is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

async function writeFileAtomically(path: string, t: Extract<Target, { kind: 'file' }>, content: Content): Promise<void> {
  let temp: { tmp: string; fh: FileHandle }
  try {
    temp = await createTemp(t.target)
  } catch (e) {
    throw fail(`cannot write ${path}: ${why(e)} (creating a file in ${dirname(t.target)})`)
  }
  const { tmp, fh } = temp
  try {
    try {
      await fh.chmod(0o600) // whatever the umask: readable by the user only
      await writeAll(fh, content)
      await fh.sync()
    } finally {
      await fh.close()
    }
    if (t.exists) renameOver(path, tmp, t.target)
    else publishNew(path, tmp, t.target)
    fsyncFolder(dirname(t.target))
  } catch (e) {
    removeQuietly(tmp)
    if (e instanceof UserError) throw e
    throw fail(`cannot write ${path}: ${why(e)}`)
  } finally {
    untrack(tmp)
  }
}

function renameOver(path: string, tmp: string, target: string): void {
  // the target must still be a regular file (not swapped for a FIFO, a device or a link meanwhile)
  const now = lstatOrUndefined(target)
  if (now && !now.isFile()) throw fail(`cannot write ${path}: ${target} changed while it was being written; nothing was replaced`)
  renameSync(tmp, target)
}

function publishNew(path: string, tmp: string, target: string): void {
  try {
    linkSync(tmp, target) // fails with EEXIST rather than replace what appeared meanwhile
    removeQuietly(tmp)
    return
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw fail(`${path} appeared while it was being written; refusing to replace it`, 'run the command again')
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw e
  }
  // file systems without hard links: rename, after checking once more that nothing is there
  if (lstatOrUndefined(target)) throw fail(`${path} appeared while it was being written; refusing to replace it`, 'run the command again')
  renameSync(tmp, target)
}

/**
 * Writes `content` to the path a user named, by the rules in the module comment. Returns what it did.
 * Throws a UserError naming the path (and a link's target) for everything it refuses or cannot do.
 */
export async function writeUserFile(path: string, content: Content, opts: WriteOptions = {}): Promise<WriteResult> {
  const t = classify(path, opts)
  switch (t.kind) {
    case 'stdout':
      if (opts.stdout && typeof content === 'string') opts.stdout(content)
      else if (opts.stdout) for await (const c of chunks(content)) opts.stdout(c)
      else await writeToFd(1, content)
      return { kind: 'stdout' }
    case 'descriptor':
      try {
        await writeToFd(t.fd, content)
      } catch (e) {
        throw fail(`cannot write ${path}: ${why(e)}`)
      }
      return { kind: 'descriptor', fd: t.fd }
    case 'stream':
      try {
        await streamInto(t, content)
      } catch (e) {
        throw fail(`cannot write ${path} (a ${t.type}${t.target !== resolve(path) ? ` at ${t.target}` : ''}): ${why(e)}`)
      }
      return { kind: 'stream', path, target: t.target, type: t.type }
    case 'file':
      await writeFileAtomically(path, t, content)
      return { kind: t.exists ? 'replaced' : 'created', path, target: t.target }
  }
}

/** A one-line description of a write for the CLI ("wrote out.env (mode 0600)", "streamed into the FIFO p"). */
export function describeWrite(r: WriteResult): string | undefined {
  switch (r.kind) {
    case 'stdout':
    case 'descriptor':
      return undefined
    case 'stream':
      return `wrote into the ${r.type} ${r.path}`
    case 'created':
    case 'replaced':
      return `${r.kind === 'replaced' ? 'replaced' : 'wrote'} ${r.path}${r.target !== resolve(r.path) ? ` (through the link, to ${r.target})` : ''} (mode 0600)`
  }
}

// ---- private temp folders (run's `files:`, open's temp files, edit buffers) ----

/**
 * A new private folder under the system temp folder: created by mkdtemp (a fresh random name, never an
 * existing folder or link), 0700, checked to be a real folder owned by this user before anything goes in.
 */
export function createPrivateTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const st = lstatSync(dir)
  const uid = process.getuid?.()
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw fail(`the temp folder ${dir} is not private (mode ${(st.mode & 0o777).toString(8)})`, 'check TMPDIR')
  }
  return dir
}

/**
 * Creates a new file holding secrets: O_CREAT|O_EXCL|O_NOFOLLOW and 0600, so a file or link planted at
 * `path` is never written through or replaced (the write fails instead). Synchronous (for `run`'s start-up).
 */
export function writeNewPrivateFileSync(path: string, content: string | Uint8Array): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content
    let off = 0
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off)
  } finally {
    closeSync(fd)
  }
}
