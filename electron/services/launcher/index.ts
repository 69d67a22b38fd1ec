/**
 * Runs a command with an environment's variables and files (`envelope run`):
 * - `files` are written to a private temp folder (0700, files 0600) and the variable holds the path;
 *   the folder is removed when the child exits (also after a signal);
 * - stdout/stderr pass through a secret masker unless `mask` is false;
 * - SIGINT/SIGTERM/SIGHUP are forwarded to the child; the child's exit code is returned
 *   (128 + signal number when it was killed by a signal, as shells do).
 * No shell is involved: `command` is executed directly.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { constants } from 'node:os'
import { UserError } from '../../../shared/errors.ts'
import { maskingStream } from './mask.ts'
import { createPrivateTempDir, writeNewPrivateFileSync } from '../files/write.ts'

export interface LaunchOptions {
  command: string
  args: string[]
  /** variables added to (and overriding) the base environment */
  variables: Record<string, string>
  /** variable name -> file content; the variable receives the temp file path */
  files?: Record<string, string>
  /** texts to replace with `[secret]` in the child's output */
  secrets?: string[]
  /** default true */
  mask?: boolean
  /** default process.env */
  baseEnv?: NodeJS.ProcessEnv
  stdout?: NodeJS.WritableStream
  stderr?: NodeJS.WritableStream
  /** child's stdin (default 'inherit'; the UI uses 'ignore') */
  stdin?: 'inherit' | 'ignore'
  /** aborting kills the child (SIGTERM), e.g. the UI's Stop button */
  signal?: AbortSignal
  /** called once the child has spawned (the UI shows "running") */
  onSpawn?: () => void
}

export interface TempFiles {
  dir: string | undefined
  paths: Record<string, string>
  cleanup(): void
}

/**
 * Writes `files` into a fresh private temp folder (electron/services/files/write.ts: mkdtemp, checked 0700
 * and ours; each file O_EXCL|O_NOFOLLOW 0600, so nothing planted there is written through).
 */
export function writeTempFiles(files: Record<string, string>, prefix = 'envelope-'): TempFiles {
  const names = Object.keys(files)
  if (names.length === 0) return { dir: undefined, paths: {}, cleanup() {} }
  const dir = createPrivateTempDir(prefix)
  const paths: Record<string, string> = {}
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true })
  try {
    names.forEach((name, i) => {
      const p = join(dir, `${i}-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`)
      writeNewPrivateFileSync(p, files[name]!)
      paths[name] = p
    })
  } catch (e) {
    cleanup()
    throw e
  }
  return { dir, paths, cleanup }
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

export async function launch(opts: LaunchOptions): Promise<number> {
  const mask = opts.mask !== false && (opts.secrets?.length ?? 0) > 0
  const temp = writeTempFiles(opts.files ?? {})
  const env = { ...(opts.baseEnv ?? process.env), ...opts.variables, ...temp.paths }
  const out = opts.stdout ?? process.stdout
  const err = opts.stderr ?? process.stderr
  // forwarding is in place before the child exists: a signal that arrives while it starts is delivered
  // once it runs (otherwise it would kill this process and orphan the child)
  let running: ChildProcess | undefined
  const early: NodeJS.Signals[] = []
  const forward = (sig: NodeJS.Signals): void => {
    if (running) running.kill(sig)
    else early.push(sig)
  }
  for (const s of FORWARDED) process.on(s, forward)
  try {
    // pipe when masking, or when the caller gave its own streams (the UI collects output); else inherit
    const pipe = mask || opts.stdout !== undefined || opts.stderr !== undefined
    const child = spawn(opts.command, opts.args, {
      env,
      stdio: [opts.stdin ?? 'inherit', pipe ? 'pipe' : 'inherit', pipe ? 'pipe' : 'inherit'],
      ...(opts.signal ? { signal: opts.signal, killSignal: 'SIGTERM' as const } : {}),
    })
    running = child
    for (const sig of early) child.kill(sig)
    if (opts.onSpawn) child.once('spawn', opts.onSpawn)
    const drained: Promise<void>[] = []
    if (pipe && !mask) {
      for (const [from, to] of [
        [child.stdout!, out],
        [child.stderr!, err],
      ] as const) {
        from.pipe(to, { end: false })
        drained.push(new Promise((resolve) => from.once('end', resolve).once('error', () => resolve())))
      }
    }
    if (mask) {
      for (const [from, to] of [
        [child.stdout!, out],
        [child.stderr!, err],
      ] as const) {
        const m = maskingStream(opts.secrets!)
        from.pipe(m).pipe(to, { end: false })
        drained.push(new Promise((resolve) => m.once('end', resolve).once('error', () => resolve())))
      }
    }
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT')
          reject(
            new UserError('not_found', `command not found: ${opts.command}`, {
              hint: 'check the spelling and your PATH; commands run without a shell, use `sh -c "..."` for shell syntax',
            }),
          )
        else if (e.code === 'EACCES') reject(new UserError('forbidden', `permission denied running ${opts.command}`))
        else if (e.name === 'AbortError')
          return // killed through opts.signal: 'close' reports the signal
        else reject(e)
      })
      // 'close' (not 'exit'): all masked output has been flushed through the pipes
      child.once('close', (code, signal) => {
        if (code !== null) resolve(code)
        else resolve(128 + (signal ? (constants.signals[signal] ?? 0) : 0))
      })
    })
    await Promise.all(drained)
    return code
  } finally {
    for (const s of FORWARDED) process.off(s, forward)
    temp.cleanup()
  }
}
