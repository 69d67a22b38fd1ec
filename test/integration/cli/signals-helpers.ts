/**
 * For the signal tests (run-signals, edit-signals): a command on a pseudo-terminal, as its foreground
 * process group (util-linux `script`), so that keys typed there (Ctrl-C, Ctrl-\) become signals sent by the
 * terminal to the whole group, as for a user; whether a process is gone; waiting for a condition; killing
 * what a failing test left running.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { after } from 'node:test'

/** Processes a failing test may leave running: killed when the test file ends. */
export const leftovers = new Set<number>()
after(() => {
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone already
    }
  }
})

/** Whether process `pid` is gone (a zombie waiting for its reaper counts as gone). */
export function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.startsWith('Z')
  } catch {
    return true
  }
}

/** Resolves once `check()` holds; fails after `ms`, naming `what`. */
export async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

export interface TerminalRun {
  /** the pid of `script` (killing it hangs the terminal up) */
  pid: number
  /** everything the terminal showed (\r\n turned into \n) */
  output(): string
  /** resolves when the output matches `re` */
  waitFor(re: RegExp): Promise<void>
  /** types `keys` on the terminal */
  type(keys: string): void
  /** the command's exit code (script -e passes it through), once it ended */
  exit: Promise<number | null>
}

export function inTerminal(argv: string[], env: Record<string, string | undefined>, cwd?: string): TerminalRun {
  const child = spawn('script', ['-qefc', `exec ${argv.map(shq).join(' ')}`, '/dev/null'], {
    env: { ...process.env, SHELL: '/bin/sh', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  })
  let out = ''
  const waiters: { re: RegExp; resolve: () => void }[] = []
  const onData = (d: Buffer): void => {
    out += d.toString().replace(/\r\n/g, '\n')
    for (const w of [...waiters]) {
      if (!w.re.test(out)) continue
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  child.stdin.on('error', () => {})
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return {
    pid: child.pid!,
    output: () => out,
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(out)) return resolve()
        waiters.push({ re, resolve })
        void exit.then(() => reject(new Error(`the command ended before ${re}: ${out}`)))
      }),
    type: (keys) => void child.stdin.write(keys),
    exit,
  }
}
