/**
 * Runs a command with an environment's variables and files (`envelope run`), the way a shell runs a
 * foreground job:
 * - `files` are written to a private temp folder (0700, files 0600) named after this process, and the
 *   variable holds the path; the folder is removed when the child exits (also after a signal), by the
 *   watchdog when envelope is SIGKILLed, else by the next run's sweep (guard.ts);
 * - stdout/stderr pass through a secret masker unless `mask` is false;
 * - signals: see FORWARDED below; the child does not outlive envelope (the watchdog, guard.ts);
 * - the child's exit status is returned: its code, or 128 + the signal number when a signal killed it;
 *   a command that cannot start is a CommandNotStarted error carrying 127 (not found) or 126 (not
 *   runnable), as shells give.
 * No shell is involved: `command` is executed directly.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync, rmSync, statSync, type Stats } from 'node:fs'
import { basename, join } from 'node:path'
import { UserError } from '../../../shared/errors.ts'
import { maskingStream } from './mask.ts'
import { createPrivateTempDir, writeNewPrivateFileSync } from '../files/write.ts'
import { ownedTempPrefix, signalStatus, startWatchdog, sweepStaleTempDirs, terminalPlace, type Watchdog } from './guard.ts'

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

/**
 * The command could not be started. `exitCode` is what a shell gives: 127 when it is not found (or its
 * interpreter is not), 126 when it is found but cannot run (not executable, a folder, …).
 */
export class CommandNotStarted extends UserError {
  readonly exitCode: 126 | 127
  constructor(exitCode: 126 | 127, message: string, hint?: string) {
    super(exitCode === 127 ? 'not_found' : 'forbidden', message, hint ? { hint } : undefined)
    this.name = 'CommandNotStarted'
    this.exitCode = exitCode
  }
}

/** Why `command` did not start, in the words a shell uses (bash: "command not found", "Permission denied"…). */
export function notStarted(command: string, e: NodeJS.ErrnoException): CommandNotStarted {
  const path = command.includes('/')
  let st: Stats | undefined
  try {
    st = path ? statSync(command) : undefined
  } catch {
    st = undefined
  }
  if (e.code === 'ENOENT') {
    if (!path) return new CommandNotStarted(127, `command not found: ${command}`, NO_SHELL)
    if (!st) return new CommandNotStarted(127, `no such file: ${command}`)
    const interpreter = interpreterOf(command)
    return new CommandNotStarted(
      127,
      `cannot run ${command}: ${interpreter ? `its interpreter ${interpreter} was not found` : 'a file it needs was not found'}`,
    )
  }
  if (st?.isDirectory()) return new CommandNotStarted(126, `cannot run ${command}: it is a folder`)
  if (e.code === 'EACCES')
    return new CommandNotStarted(126, `permission denied: ${command} is not executable`, `chmod +x it, or run it through its interpreter`)
  return new CommandNotStarted(126, `cannot run ${command}: ${e.message.replace(/^spawn \S+ /, '')}`)
}

const NO_SHELL = 'check the spelling and your PATH; commands run without a shell, use `sh -c "..."` for shell syntax'

/** The interpreter named by a `#!` line, if the file starts with one. */
function interpreterOf(file: string): string | undefined {
  try {
    const head = readFileSync(file, { encoding: 'latin1', flag: 'r' }).slice(0, 256)
    return head.startsWith('#!') ? head.slice(2).split('\n')[0]!.trim().split(/\s+/)[0] : undefined
  } catch {
    return undefined
  }
}

/*
 * Signals envelope stands for while the command runs (a shell waiting for a foreground job does the same):
 * envelope never dies of them before the child, whose status it then exits with.
 * - Without a terminal the child runs in a process group (and session) of its own: a signal sent to
 *   envelope, or to envelope's whole group, reaches the child once, through envelope, which passes it to
 *   the child's group (as a terminal would to a foreground job).
 * - With a terminal the child stays in envelope's process group (it can read the terminal, and Ctrl-Z
 *   stops both). When that group is the terminal's foreground one, Ctrl-C and Ctrl-\ already reach the
 *   child from the terminal: SIGINT and SIGQUIT are not passed again (a `kill -INT` aimed at envelope
 *   alone is then not passed either: there is no telling them apart without siginfo). SIGTERM and SIGHUP
 *   are passed: they are sent to a process, not by the terminal.
 */
const FORWARDED = ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP'] as const

export async function launch(opts: LaunchOptions): Promise<number> {
  const mask = opts.mask !== false && (opts.secrets?.length ?? 0) > 0
  const out = opts.stdout ?? process.stdout
  const err = opts.stderr ?? process.stderr
  const detached = process.platform !== 'win32' && terminalPlace() === 'none'
  // in place before anything is written: a signal that arrives while the command starts is passed to it
  // once it runs (Node queues it until then) instead of killing envelope and leaving the files behind
  let running: ChildProcess | undefined
  const onSignal = (sig: NodeJS.Signals): void => {
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    if ((sig === 'SIGINT' || sig === 'SIGQUIT') && !detached && terminalPlace() === 'foreground') return
    try {
      if (detached && running.pid !== undefined) process.kill(-running.pid, sig)
      else running.kill(sig)
    } catch {
      // the child is gone already: its status is on its way
    }
  }
  for (const s of FORWARDED) process.on(s, onSignal)
  let temp: TempFiles | undefined
  let guard: Watchdog | undefined
  try {
    temp = writeTempFiles(opts.files ?? {}, ownedTempPrefix('run'))
    const env = { ...(opts.baseEnv ?? process.env), ...opts.variables, ...temp.paths }
    // pipe when masking, or when the caller gave its own streams (the UI collects output); else inherit
    const pipe = mask || opts.stdout !== undefined || opts.stderr !== undefined
    const child = spawn(opts.command, opts.args, {
      env,
      stdio: [opts.stdin ?? 'inherit', pipe ? 'pipe' : 'inherit', pipe ? 'pipe' : 'inherit'],
      detached,
      ...(opts.signal ? { signal: opts.signal, killSignal: 'SIGTERM' as const } : {}),
    })
    running = child
    // started once the command runs (its start-up does not wait for it; a SIGKILL in between leaves the
    // folder to the next sweep)
    if (child.pid !== undefined) {
      guard = startWatchdog({ dir: temp.dir, group: detached, what: basename(opts.command) })
      guard.track(child)
      // folders of runs whose envelope was SIGKILLed (with its watchdog): removed while this one runs
      setImmediate(sweepStaleTempDirs)
    }
    if (opts.onSpawn) child.once('spawn', opts.onSpawn)
    const drained: Promise<void>[] = []
    if (pipe) {
      for (const [from, to] of [
        [child.stdout!, out],
        [child.stderr!, err],
      ] as const) {
        const source = mask ? from.pipe(maskingStream(opts.secrets!)) : from
        source.pipe(to, { end: false })
        drained.push(new Promise((resolve) => source.once('end', resolve).once('error', () => resolve())))
      }
    }
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) => {
        if (e.name === 'AbortError') return // killed through opts.signal: 'close' reports the signal
        if (child.pid === undefined) reject(notStarted(opts.command, e))
        else reject(e)
      })
      // 'close' (not 'exit'): all masked output has been flushed through the pipes
      child.once('close', (code, signal) => resolve(code ?? (signal ? signalStatus(signal) : 128)))
    })
    await Promise.all(drained)
    return code
  } finally {
    for (const s of FORWARDED) process.off(s, onSignal)
    temp?.cleanup()
    guard?.release()
  }
}
