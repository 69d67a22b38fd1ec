/** Small helpers shared by command implementations (input files, hidden prompts, diagnostics, writing `-o` files). */
import { readFileSync } from 'node:fs'
import { UserError } from '../../shared/errors.ts'
import type { Diagnostic } from '../../shared/esc/host.ts'
import { renderDiagnostics, countErrors, type DiagnosticSource } from '../../shared/format/diagnostics.ts'
import type { Cli } from './context.ts'
import { describeWrite, writeUserFile, type WriteResult } from '../services/files/write.ts'

/**
 * Reads a file argument (`-` = stdin) with a clear error. Text must be UTF-8: a file that is not is refused (decoding
 * it would silently replace bytes). `-` on a terminal reads without echo (what is typed may be a secret), until Ctrl-D.
 */
export async function readInput(path: string): Promise<string> {
  if (path === '-') {
    const { isatty } = await import('node:tty')
    if (isatty(0)) return hiddenRead('(reading from the terminal, not echoed; end with Ctrl-D on an empty line)\n', true)
  }
  let bytes: Buffer
  try {
    bytes = readFileSync(path === '-' ? 0 : path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (e as Error).message
    throw new UserError('io', `cannot read ${path === '-' ? 'stdin' : path}: ${why}`)
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    throw new UserError('invalid_input', `${path === '-' ? 'stdin' : path} is not UTF-8 text`, {
      hint: 'convert it to UTF-8 (or base64-encode binary data) first',
    })
  }
}

/**
 * Writes a command's `-o/--output` file through the one writer of user-named paths
 * (electron/services/files/write.ts): `-` is stdout, a FIFO or device is streamed into, an existing file
 * is replaced only with `--force` (atomically, 0600), links are followed to a file or refused. Tells on
 * stderr what was written (`note`: what the file holds, e.g. secrets in plaintext), except for stdout or
 * when `quiet` (the caller says it).
 */
export async function writePrivateFile(
  cli: Cli,
  path: string,
  text: string,
  opts: { force?: boolean | undefined; note?: string; quiet?: boolean } = {},
): Promise<WriteResult> {
  const r = await writeUserFile(path, text, {
    force: Boolean(opts.force),
    forceFlag: '--force',
    stdout: (t) => (typeof t === 'string' ? cli.out(t) : process.stdout.write(t)),
  })
  const said = describeWrite(r)
  const file = r.kind === 'created' || r.kind === 'replaced'
  if (said && !opts.quiet) cli.err(`${said}${opts.note && file ? `; ${opts.note}` : ''}\n`)
  return r
}

/** Reads a line from the terminal without echoing it; undefined at end of input. Ctrl-C cancels (a UserError). */
export async function hiddenPrompt(question: string): Promise<string | undefined> {
  try {
    return await hiddenRead(question, false)
  } catch (e) {
    if (e instanceof EndOfInput) return undefined
    throw e
  }
}

class EndOfInput extends Error {}

/**
 * Reads from the terminal with echo off (readline in raw mode, its output muted): one line, or with `lines` every
 * line until Ctrl-D on an empty line (each line with its newline, like a file). Ctrl-C cancels with a UserError and
 * the terminal is restored either way.
 */
async function hiddenRead(question: string, lines: boolean): Promise<string> {
  const { createInterface } = await import('node:readline')
  const { Writable } = await import('node:stream')
  let muted = false
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) process.stderr.write(chunk)
      cb()
    },
  })
  const rl = createInterface({ input: process.stdin, output, terminal: true, historySize: 0 })
  process.stderr.write(question)
  muted = true
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = ''
      let done = false
      rl.on('line', (line) => {
        if (!lines) {
          done = true
          resolve(line)
          return
        }
        text += line + '\n'
      })
      rl.on('SIGINT', () => {
        done = true
        reject(new UserError('cancelled', 'cancelled; nothing was read'))
      })
      rl.once('close', () => {
        if (done) return
        if (lines) resolve(text)
        else reject(new EndOfInput())
      })
    })
  } finally {
    muted = false
    if (!lines) process.stderr.write('\n')
    rl.close()
    // readline resumed stdin: let it go so the process can exit
    process.stdin.pause()
  }
}

/** Prints diagnostics compiler-style to stderr; returns the number of errors. */
export function printDiagnostics(cli: Cli, diags: readonly Diagnostic[], source: (env: string) => DiagnosticSource | undefined, fallback?: string): number {
  if (diags.length > 0) cli.err(renderDiagnostics(diags, { source, color: cli.color, ...(fallback ? { fallback } : {}) }))
  return countErrors(diags)
}

/** Diagnostics for stored environments: excerpts come from the stored definitions (ciphertext, never plaintext). */
export async function printStoreDiagnostics(cli: Cli, diags: readonly Diagnostic[], fallback: string, extra: Record<string, string> = {}): Promise<number> {
  const store = await cli.store()
  const texts = new Map<string, string | undefined>(Object.entries(extra))
  for (const d of diags) {
    const env = d.range?.environment
    if (env && !texts.has(env)) {
      try {
        texts.set(env, (await store.getDefinition(env)).yaml)
      } catch {
        texts.set(env, undefined)
      }
    }
  }
  return printDiagnostics(
    cli,
    diags,
    (env) => {
      const text = texts.get(env)
      return { display: env, ...(text !== undefined ? { text } : {}) }
    },
    fallback,
  )
}

/** Failure after diagnostics were printed: main adds this one-line summary and exits 1. */
export class ReportedError extends UserError {
  constructor(message: string, hint?: string) {
    super('invalid_input', message, hint ? { hint } : undefined)
  }
}
