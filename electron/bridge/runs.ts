/**
 * Commands started from the UI: output is buffered per run and read by polling (`run.poll`), which
 * works the same over Electron IPC and the HTTP bridge. Secret values (3+ characters) are replaced by
 * `[secret]` in the output, like `esc run` does. Finished runs are forgotten after a while.
 */
import { randomUUID } from 'node:crypto'
import type { ChildProcess } from 'node:child_process'
import type { RunChunk, RunPoll } from '../../shared/ipc.ts'
import { UserError } from '../../shared/errors.ts'

export interface StartedProcess {
  child: ChildProcess
  /** values to mask in the output */
  secrets: string[]
  /** called once the process has exited (temp files etc.) */
  cleanup?: () => Promise<void> | void
}

interface Run {
  chunks: RunChunk[]
  done: boolean
  exitCode?: number | null
  signal?: string | null
  child: ChildProcess
  timer?: NodeJS.Timeout
}

const maxChunks = 20000
const keepFinishedMs = 10 * 60 * 1000

export function maskSecrets(text: string, secrets: string[]): string {
  let out = text
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('[secret]')
  return out
}

export class RunManager {
  private runs = new Map<string, Run>()

  track(p: StartedProcess): string {
    const runId = randomUUID()
    const run: Run = { chunks: [], done: false, child: p.child }
    this.runs.set(runId, run)
    const secrets = [...p.secrets].sort((a, b) => b.length - a.length)
    const push = (stream: RunChunk['stream'], text: string): void => {
      if (run.chunks.length >= maxChunks) {
        if (run.chunks.length === maxChunks) run.chunks.push({ stream: 'system', text: '\n[output truncated]\n' })
        return
      }
      run.chunks.push({ stream, text: maskSecrets(text, secrets) })
    }
    p.child.stdout?.setEncoding('utf8')
    p.child.stderr?.setEncoding('utf8')
    p.child.stdout?.on('data', (d: string) => push('stdout', d))
    p.child.stderr?.on('data', (d: string) => push('stderr', d))
    p.child.once('error', (err) => {
      push('system', `could not start the command: ${err.message}\n`)
      finish(null, null)
    })
    const finish = (code: number | null, signal: string | null): void => {
      if (run.done) return
      run.done = true
      run.exitCode = code
      run.signal = signal
      void Promise.resolve(p.cleanup?.()).catch(() => undefined)
      run.timer = setTimeout(() => this.runs.delete(runId), keepFinishedMs)
      run.timer.unref()
    }
    p.child.once('close', (code, signal) => finish(code, signal))
    return runId
  }

  poll(runId: string, since: number): RunPoll {
    const run = this.get(runId)
    const chunks = run.chunks.slice(since)
    return { chunks, next: since + chunks.length, done: run.done, exitCode: run.exitCode ?? null, signal: run.signal ?? null }
  }

  kill(runId: string): void {
    const run = this.get(runId)
    if (!run.done) run.child.kill('SIGTERM')
  }

  killAll(): void {
    for (const run of this.runs.values()) if (!run.done) run.child.kill('SIGTERM')
  }

  private get(runId: string): Run {
    const run = this.runs.get(runId)
    if (!run) throw new UserError('not_found', `no such run ${runId}`, { hint: 'the run finished more than 10 minutes ago or the app restarted' })
    return run
  }
}
