/** Runs the real `bin/envelope` as a child process (the way users run it). */
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const bin = join(root, 'bin', 'envelope')

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/**
 * Runs `envelope args…` (`opts.bin`: another copy of bin/envelope); resolves when it exits. Without an
 * agent (ENVELOPE_NO_AGENT=1: a built CLI would start one for `run`) unless `opts.env` unsets it.
 */
export function envelope(
  args: string[],
  opts: { env?: Record<string, string | undefined>; input?: string; cwd?: string; onSpawn?: (pid: number) => void; bin?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.bin ?? bin, ...args], {
      env: { ...process.env, NO_COLOR: '1', ENVELOPE_NO_AGENT: '1', ...opts.env },
      cwd: opts.cwd ?? root,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
    if (child.pid !== undefined) opts.onSpawn?.(child.pid)
    child.stdin.on('error', () => {}) // a child that exits before reading its input (EPIPE on a busy machine): its exit says the rest
    child.stdin.end(opts.input ?? '')
  })
}
