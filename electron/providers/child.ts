/**
 * Runs a child process with no shell, bounded in time and output: what the command provider and the
 * plugin host build on. On timeout, cancellation or too much output, the whole process group is killed.
 */
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'

export interface ChildResult {
  stdout: string
  stderr: string
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  cancelled: boolean
  /** stdout went past maxOutputBytes */
  overflow: boolean
  /** spawn itself failed (ENOENT, EACCES...) */
  spawnError?: NodeJS.ErrnoException
}

export interface ChildOptions {
  file: string
  args: string[]
  input?: string
  env?: NodeJS.ProcessEnv
  cwd?: string
  timeoutMs: number
  signal?: AbortSignal
  maxOutputBytes?: number
}

const MAX_STDERR = 64 * 1024

/** Envelope's own credentials (store passphrase, key file, sync tokens) never reach a child process. */
const PRIVATE_ENV = /^ENVELOPE_.*(PASSPHRASE|PASSWORD|TOKEN|SECRET|KEY)/i

/** This process's environment minus Envelope's own credentials: the base of every child's environment. */
export function childBaseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!PRIVATE_ENV.test(k)) env[k] = v
  return { ...env, ...extra }
}

export function runChild(o: ChildOptions): Promise<ChildResult> {
  return new Promise((resolve) => {
    const maxOut = o.maxOutputBytes ?? 16 * 1024 * 1024
    const out: Buffer[] = []
    let outBytes = 0
    let stderr = ''
    let timedOut = false
    let cancelled = false
    let overflow = false
    let settled = false
    const posix = process.platform !== 'win32'
    let child: ChildProcessWithoutNullStreams
    try {
      child = spawn(o.file, o.args, {
        shell: false,
        env: o.env ?? childBaseEnv(),
        cwd: o.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        // own process group, so a timeout also kills what the child started (POSIX)
        detached: posix,
        windowsHide: true,
      })
    } catch (err) {
      // invalid arguments are thrown synchronously; their message may quote an argument, so keep only the code
      const e = new Error('the program could not be started') as NodeJS.ErrnoException
      e.code = (err as NodeJS.ErrnoException).code ?? 'EINVAL'
      resolve({ stdout: '', stderr: '', code: null, signal: null, timedOut: false, cancelled: false, overflow: false, spawnError: e })
      return
    }
    const kill = (): void => {
      try {
        if (posix && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
        else child.kill('SIGKILL')
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(() => {
      timedOut = true
      kill()
    }, o.timeoutMs)
    const onAbort = (): void => {
      cancelled = true
      kill()
    }
    if (o.signal?.aborted) onAbort()
    else o.signal?.addEventListener('abort', onAbort, { once: true })
    const finish = (r: Partial<ChildResult>): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      o.signal?.removeEventListener('abort', onAbort)
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr, code: null, signal: null, timedOut, cancelled, overflow, ...r })
    }
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length
      if (outBytes > maxOut) {
        if (!overflow) {
          overflow = true
          kill()
        }
        return
      }
      out.push(b)
    })
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += b.toString('utf8')
    })
    child.on('error', (err: NodeJS.ErrnoException) => finish({ spawnError: err }))
    child.on('close', (code, signal) => finish({ code, signal }))
    // a child that exits without reading stdin gives EPIPE: not an error of ours
    child.stdin.on('error', () => {})
    child.stdin.end(o.input ?? '')
  })
}
