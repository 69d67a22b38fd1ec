/**
 * Commands started from the UI, run by the process launcher (electron/services/launcher) with the
 * environment injected and secrets masked in the output. Output is buffered per run and read by polling
 * (`run.poll`), which works the same over Electron IPC and the web transport. Finished runs are
 * forgotten after 10 minutes.
 */
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import type { RunChunk, RunPoll } from '../../shared/ipc.ts'
import { UserError } from '../../shared/errors.ts'

/** What a run needs from the launcher: streams to write to, an abort signal, and a spawn callback. */
export interface RunIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  signal: AbortSignal
}

interface Run {
  chunks: RunChunk[]
  done: boolean
  exitCode?: number | null
  signal?: string | null
  abort: AbortController
  timer?: NodeJS.Timeout
}

const maxChunks = 20000
const keepFinishedMs = 10 * 60 * 1000

export class RunManager {
  private runs = new Map<string, Run>()

  /** Starts `exec` (which resolves to the exit code) and returns the run id at once. */
  start(exec: (io: RunIo) => Promise<number>): string {
    const runId = randomUUID()
    const abort = new AbortController()
    const run: Run = { chunks: [], done: false, abort }
    this.runs.set(runId, run)
    const push = (stream: RunChunk['stream'], text: string): void => {
      if (run.chunks.length > maxChunks) return
      if (run.chunks.length === maxChunks) run.chunks.push({ stream: 'system', text: '\n[output truncated]\n' })
      else run.chunks.push({ stream, text })
    }
    const sink = (stream: 'stdout' | 'stderr') =>
      new Writable({
        decodeStrings: false,
        write(chunk: Buffer | string, _enc, cb) {
          push(stream, typeof chunk === 'string' ? chunk : chunk.toString('utf8'))
          cb()
        },
      })
    const finish = (code: number | null, signal: string | null): void => {
      run.done = true
      run.exitCode = code
      run.signal = signal
      run.timer = setTimeout(() => this.runs.delete(runId), keepFinishedMs)
      run.timer.unref()
    }
    exec({ stdout: sink('stdout'), stderr: sink('stderr'), signal: abort.signal }).then(
      (code) => finish(abort.signal.aborted ? null : code, abort.signal.aborted ? 'SIGTERM' : null),
      (err: unknown) => {
        push('system', `${err instanceof Error ? err.message : String(err)}\n`)
        if (err instanceof UserError && err.hint) push('system', `What to do: ${err.hint}\n`)
        finish(null, null)
      },
    )
    return runId
  }

  poll(runId: string, since: number): RunPoll {
    const run = this.get(runId)
    const chunks = run.chunks.slice(since)
    return { chunks, next: since + chunks.length, done: run.done, exitCode: run.exitCode ?? null, signal: run.signal ?? null }
  }

  kill(runId: string): void {
    const run = this.get(runId)
    if (!run.done) run.abort.abort()
  }

  killAll(): void {
    for (const run of this.runs.values()) if (!run.done) run.abort.abort()
  }

  private get(runId: string): Run {
    const run = this.runs.get(runId)
    if (!run) throw new UserError('not_found', `no such run ${runId}`, { hint: 'the run finished more than 10 minutes ago or the app restarted' })
    return run
  }
}
