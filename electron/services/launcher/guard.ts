/**
 * What keeps a process that holds decrypted data (`run`'s command and its `files:` folder, `env edit`'s
 * editor and its buffer) from outliving envelope, and how envelope stands between the terminal and it:
 * - the terminal: whether envelope shares its terminal's foreground process group (then the terminal itself
 *   delivers Ctrl-C / Ctrl-\ / Ctrl-Z to the child, and envelope must not deliver them a second time);
 * - temp folders named after their owner (`envelope-run-p<pid>-t<start time>-XXXXXX`: mkdtemp records the
 *   owner atomically, nothing extra is put inside the folder the child sees), and a sweep that removes the
 *   ones whose owner is gone (envelope was SIGKILLed and its watchdog with it). The pid alone could be
 *   reused; its start time (from /proc) could not, so a live run's folder is never swept;
 * - a watchdog: a tiny `sh` in a session of its own, started before the child, reading a pipe from
 *   envelope. A signal can be caught but SIGKILL cannot: when envelope dies, the pipe closes and the
 *   watchdog stops the child (SIGTERM, SIGKILL 5 s later; the child's whole process group when it has one
 *   of its own), says so on stderr, then removes the folder. When envelope ends normally it writes `done`
 *   and the watchdog exits at once. Chosen over PR_SET_PDEATHSIG (needs native code or `setpriv`, only
 *   reaches the direct child and only Linux) and over a Node supervisor (tens of ms and MB per run); `sh`
 *   costs about a millisecond and is there wherever envelope runs commands (not on Windows: no watchdog).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { lstatSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'

/** The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, session, tty_nr, tpgid, …). */
function procStat(pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** A process's start time (clock ticks since boot, Linux) as text; '0' where /proc is not available. */
export function startTime(pid: number | 'self'): string {
  return procStat(pid)?.[19] ?? '0'
}

/** Whether the process `pid` that started at `start` (startTime) still runs (a zombie does not count). */
export function processAlive(pid: number, start: string): boolean {
  const stat = procStat(pid)
  if (stat) return stat[0] !== 'Z' && (start === '0' || stat[19] === start)
  if (start !== '0' && procStat('self')) return false // /proc works: the process is gone
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Envelope's place relative to its controlling terminal: 'none' (no terminal: nothing is delivered by a
 * terminal), 'foreground' (Ctrl-C reaches our whole process group) or 'background'. Read when needed: job
 * control (fg, bg) moves it while envelope runs.
 */
export function terminalPlace(): 'none' | 'foreground' | 'background' {
  const stat = procStat('self')
  if (stat) {
    const tpgid = Number(stat[5])
    if (!(tpgid > 0)) return 'none'
    return tpgid === Number(stat[2]) ? 'foreground' : 'background'
  }
  // no /proc (macOS): a terminal on any of our standard streams is taken as the foreground one
  return process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY ? 'foreground' : 'none'
}

/** The exit status a shell gives for a process killed by `signal`: 128 + its number. */
export function signalStatus(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0)
}

// ---- temp folders named after their owner ----

const OWNED = /^envelope-(run|edit)-p(\d+)-t(\d+)-[A-Za-z0-9]{6}$/

/** The mkdtemp prefix of a folder owned by this process (`kind`: what holds it). */
export function ownedTempPrefix(kind: 'run' | 'edit'): string {
  return `envelope-${kind}-p${process.pid}-t${startTime('self')}-`
}

/** The folders that may hold owned temp folders: the temp folder, and $XDG_RUNTIME_DIR when usable. */
export function tempBases(): string[] {
  const runtime = privateRuntimeDir()
  return runtime && runtime !== tmpdir() ? [runtime, tmpdir()] : [tmpdir()]
}

/**
 * $XDG_RUNTIME_DIR when it is a private folder of ours (0700, owned by us): on Linux a tmpfs that lives as
 * long as the login session, never written to disk; undefined otherwise.
 */
export function privateRuntimeDir(): string | undefined {
  const dir = process.env.XDG_RUNTIME_DIR
  if (!dir || !dir.startsWith('/')) return undefined
  try {
    const st = lstatSync(dir)
    return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o077) === 0 ? dir : undefined
  } catch {
    return undefined
  }
}

/**
 * Removes the owned temp folders (ownedTempPrefix) whose owner process is gone. Only folders of this user,
 * never links. Returns the folders removed.
 */
export function sweepStaleTempDirs(bases: string[] = tempBases()): string[] {
  const removed: string[] = []
  const uid = process.getuid?.()
  for (const base of bases) {
    let names: string[]
    try {
      names = readdirSync(base)
    } catch {
      continue
    }
    for (const name of names) {
      const m = OWNED.exec(name)
      if (!m || processAlive(Number(m[2]), m[3]!)) continue
      const dir = join(base, name)
      try {
        const st = lstatSync(dir)
        if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue
        rmSync(dir, { recursive: true, force: true })
        removed.push(dir)
      } catch {
        // another envelope swept it first, or it is not ours to remove
      }
    }
  }
  return removed
}

// ---- the watchdog ----

/*
 * $1: the folder to remove ('' for none), $2: 'group' (stop the child's process group) or 'pid', $3: what
 * the child is, for the message. stdin: a line "<pid> <start time>" for each child started (the last one
 * counts), then "done".
 */
const WATCHDOG = `trap '' HUP INT QUIT TSTP PIPE
dir=$1 mode=$2 what=$3 pid= start=
while IFS=' ' read -r a b; do [ "$a" = done ] && exit 0; pid=$a start=$b; done
alive() {
  [ "$mode" = group ] && { kill -0 "-$pid" 2>/dev/null; return; }
  [ -r "/proc/$pid/stat" ] || { kill -0 "$pid" 2>/dev/null; return; }
  IFS= read -r s < "/proc/$pid/stat" || return 1
  set -- \${s##*) }
  [ "$1" != Z ] && [ "\${20}" = "$start" ]
}
t=$pid; [ "$mode" = group ] && t=-$pid
if [ -n "$pid" ] && alive; then
  printf 'envelope: envelope was killed; stopping %s (pid %s)\\n' "$what" "$pid" >&2
  kill -TERM "$t" 2>/dev/null
  i=0; while alive && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  alive && kill -KILL "$t" 2>/dev/null && sleep 0.2
fi
[ -n "$dir" ] && rm -rf -- "$dir"
exit 0`

export interface Watchdog {
  /** the child to stop if envelope dies */
  track(child: ChildProcess): void
  /** envelope is ending normally: the watchdog exits without touching anything */
  release(): void
}

/**
 * Starts the watchdog for `dir` (removed if envelope dies) and the child given to track() later. `group`:
 * the child leads a process group of its own (spawned detached), stopped as a whole.
 */
export function startWatchdog(opts: { dir?: string | undefined; group: boolean; what: string }): Watchdog {
  if (process.platform === 'win32') return { track() {}, release() {} }
  let wd: ChildProcess
  try {
    wd = spawn('/bin/sh', ['-c', WATCHDOG, 'envelope-watchdog', opts.dir ?? '', opts.group ? 'group' : 'pid', opts.what], {
      stdio: ['pipe', 'ignore', 'inherit'],
      detached: true,
    })
  } catch {
    return { track() {}, release() {} } // no sh: the start-up sweep still removes the folder later
  }
  wd.on('error', () => {})
  wd.unref()
  const pipe = wd.stdin!
  pipe.on('error', () => {})
  ;(pipe as unknown as { unref?: () => void }).unref?.()
  return {
    track(child) {
      if (child.pid !== undefined) pipe.write(`${child.pid} ${startTime(child.pid)}\n`)
    },
    release() {
      pipe.end('done\n')
    },
  }
}
