/**
 * `env edit`: the decrypted definition in $VISUAL/$EDITOR, saved against the revision the edit started
 * from. A definition with errors reopens in the editor with the diagnostics as comments at the top (like
 * `git commit` / `kubectl edit`); saving it unchanged gives up and keeps the edits in a private file whose
 * path is printed. A concurrent save (conflict) also keeps the edits there. The decrypted buffer's
 * lifecycle (where it lives, signals, SIGKILL): see openBuffer.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConflictError, UserError } from '../../../shared/errors.ts'
import { splitCommandLine } from '../../../shared/cmdline.ts'
import type { Diagnostic } from '../../../shared/esc/host.ts'
import { renderDiagnostics } from '../../../shared/format/diagnostics.ts'
import type { Cli } from '../context.ts'
import { printDiagnostics, readInput } from '../util.ts'
import { saveOrReport } from './env.ts'
import { ownedTempPrefix, privateRuntimeDir, signalStatus, startWatchdog, sweepStaleTempDirs, terminalPlace } from '../../services/launcher/guard.ts'

const MARK = '# envelope: '

export function editorCommand(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const text = flag || env.VISUAL || env.EDITOR || 'vi'
  const argv = splitCommandLine(text)
  if (argv.length === 0) throw new UserError('invalid_input', 'no available editor', { hint: 'use --editor or set VISUAL or EDITOR' })
  if (/(^|\/)code$/.test(argv[0]!) && !argv.includes('-w') && !argv.includes('--wait')) argv.push('-w')
  return argv
}

/** The comment block put above the definition when it has errors. */
export function diagnosticsHeader(env: string, diags: readonly Diagnostic[], text: string): string {
  const body = renderDiagnostics(diags, { source: (e) => (e === env ? { display: env, text } : { display: e }) })
  const lines = [
    'the definition was not saved because of these errors (line numbers count from the first line below this block);',
    'fix them and save. Saving it unchanged, or emptying it, gives up.',
    '',
    ...body.replace(/\n$/, '').split('\n'),
  ]
  return lines.map((l) => (l === '' ? MARK.trimEnd() : MARK + l)).join('\n') + '\n'
}

/** Removes the header block written by diagnosticsHeader. */
export function stripHeader(text: string): string {
  const lines = text.split('\n')
  let i = 0
  while (i < lines.length && (lines[i]!.startsWith(MARK) || lines[i] === MARK.trimEnd())) i++
  return lines.slice(i).join('\n')
}

export async function editCommand(cli: Cli, ref: string, opts: { editor?: string; file?: string; message?: string }): Promise<void> {
  if (ref.includes('@')) throw new UserError('invalid_input', `edit does not take a version (${ref})`, { hint: `use ${ref.replace(/@.*$/, '')}` })
  const store = await cli.store()
  const message = opts.message ?? 'edit'
  if (opts.file) {
    const text = await readInput(opts.file)
    const cur = await store.getDefinition(ref)
    const rev = await saveOrReport(cli, ref, text, () => store.update(ref, text, { baseRevision: cur.revision, message }))
    cli.out(`Environment updated (revision ${rev.number}).\n`)
    return
  }
  const argv = editorCommand(opts.editor)
  const def = await store.getDefinition(ref, { decrypt: true })
  const buffer = openBuffer(`${def.environment.replace('/', '-')}.yaml`)
  try {
    let text = def.yaml
    let header = ''
    for (;;) {
      buffer.write(header + text)
      const r = await buffer.edit(argv)
      if (r.error) {
        const code = (r.error as NodeJS.ErrnoException).code
        throw new UserError(
          'invalid_input',
          code === 'ENOENT' ? `no available editor: ${argv[0]} was not found` : `cannot start the editor ${argv[0]}: ${r.error.message}`,
          {
            hint: 'use --editor or set VISUAL or EDITOR',
          },
        )
      }
      if (r.signal) throw new Interrupted(r.signal, `the editor was stopped by ${r.signal}; nothing was saved`)
      if (r.status !== 0) throw new UserError('cancelled', `the editor exited with ${r.status}; nothing was saved`)
      const edited = stripHeader(buffer.read())
      if (edited.trim() === '') {
        cli.err('Aborting edit due to empty definition.\n')
        return
      }
      if (edited === def.yaml) {
        cli.err('No changes.\n')
        return
      }
      if (header !== '' && edited === text) {
        const kept = keepEdits(def.environment, edited)
        throw new UserError('invalid_input', `the definition still has errors; nothing was saved. Your edits are kept in ${kept}`, {
          hint: `fix them and run \`envelope env edit ${def.environment} -f ${kept}\`, then delete the file (it may hold secrets)`,
        })
      }
      try {
        const rev = await store.update(def.environment, edited, { baseRevision: def.revision, message })
        cli.out(`Environment updated (revision ${rev.number}).\n`)
        // a signal that came while saving: the save stands (it was acknowledged), the status says the signal
        const sig = buffer.endedBy()
        if (sig) cli.exitCode = signalStatus(sig)
        return
      } catch (e) {
        const diags = (e as { diagnostics?: Diagnostic[] }).diagnostics
        if (e instanceof UserError && !(e instanceof ConflictError) && Array.isArray(diags)) {
          printDiagnostics(cli, diags, (env) => (env === def.environment ? { display: env, text: edited } : { display: env }))
          cli.err('The definition has errors; reopening the editor.\n')
          header = diagnosticsHeader(def.environment, diags, edited)
          text = edited
          buffer.check()
          continue
        }
        const kept = keepEdits(def.environment, edited)
        if (e instanceof ConflictError) {
          throw new UserError('conflict', `${e.message}. Your edits are kept in ${kept}`, {
            hint: `run \`envelope env edit ${def.environment}\` again and merge them (then delete the file: it may hold secrets)`,
          })
        }
        cli.err(`note: your edits are kept in ${kept} (it may hold secrets: delete it when done)\n`)
        throw e
      }
    }
  } finally {
    buffer.close()
  }
}

/** The edit ended because of a signal: exits 128 + its number, as a shell gives. */
class Interrupted extends UserError {
  readonly exitCode: number
  constructor(signal: NodeJS.Signals, message: string) {
    super('cancelled', message)
    this.exitCode = signalStatus(signal)
  }
}

/** Signals that end an edit (a closed terminal is SIGHUP). */
const ENDING = ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP'] as const
/** How long an editor told to stop (SIGTERM, SIGHUP…) gets before SIGKILL: vim preserves its swap file. */
const EDITOR_GRACE_MS = 3000

interface Buffer {
  write(text: string): void
  read(): string
  /** runs the editor on the file; signals that end the edit are passed to it */
  edit(argv: string[]): Promise<{ status: number | null; signal: NodeJS.Signals | null; error?: Error }>
  /** throws Interrupted when a signal ended the edit meanwhile (e.g. while saving) */
  check(): void
  /** the signal that ended the edit, if one did */
  endedBy(): NodeJS.Signals | undefined
  /** removes the folder (and anything the editor put there: swap files) */
  close(): void
}

/**
 * The decrypted definition's one place on disk, for the editor: a new folder (mkdtemp, 0700) under
 * $XDG_RUNTIME_DIR when it is a private one (on Linux a tmpfs of the login session, never on disk),
 * else the temp folder; the file in it 0600, created with O_EXCL|O_NOFOLLOW (nothing planted is written
 * through). The folder is named after this process (guard.ts): a watchdog removes it, and stops the
 * editor, if envelope is SIGKILLed; the next edit or run sweeps it if the watchdog died too. SIGINT,
 * SIGQUIT, SIGTERM and SIGHUP never kill envelope before the folder is gone: they end the edit (passed to
 * the editor, except Ctrl-C / Ctrl-\ that the terminal gave it already; the edit then goes on if the
 * editor does), then the folder is removed and envelope exits 128 + the signal's number.
 */
function openBuffer(name: string): Buffer {
  sweepStaleTempDirs()
  let ended: NodeJS.Signals | undefined
  let editor: ChildProcess | undefined
  const onSignal = (sig: NodeJS.Signals): void => {
    const fromTerminal = (sig === 'SIGINT' || sig === 'SIGQUIT') && terminalPlace() === 'foreground'
    if (editor && editor.exitCode === null && editor.signalCode === null) {
      if (fromTerminal) return // the editor has it: Ctrl-C in an editor is its own business
      ended ??= sig
      editor.kill(sig)
      setTimeout(() => editor?.kill('SIGKILL'), EDITOR_GRACE_MS).unref()
    } else ended ??= sig
  }
  for (const s of ENDING) process.on(s, onSignal)
  const base = privateRuntimeDir() ?? tmpdir()
  let dir: string
  try {
    dir = mkdtempSync(join(base, ownedTempPrefix('edit')))
  } catch (e) {
    for (const s of ENDING) process.off(s, onSignal)
    throw e
  }
  const file = join(dir, name)
  const guard = startWatchdog({ dir, group: false, what: 'the editor' })
  const check = (): void => {
    if (ended) throw new Interrupted(ended, `interrupted by ${ended}; nothing was saved`)
  }
  return {
    write(text) {
      check()
      rmSync(file, { force: true })
      writeNewPrivate(file, text)
    },
    read: () => readFileSync(file, 'utf8'),
    async edit(argv) {
      const child = spawn(argv[0]!, [...argv.slice(1), file], { stdio: 'inherit' })
      editor = child
      guard.track(child)
      const r = await new Promise<{ status: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
        child.once('error', (error) => resolve({ status: null, signal: null, error }))
        child.once('exit', (status, signal) => resolve({ status, signal }))
      })
      editor = undefined
      check()
      return r
    },
    check,
    endedBy: () => ended,
    close() {
      rmSync(dir, { recursive: true, force: true })
      guard.release()
      for (const s of ENDING) process.off(s, onSignal)
    },
  }
}

/** Creates `path` 0600, failing rather than writing through anything already there (file or link). */
function writeNewPrivate(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  try {
    writeFileSync(fd, text)
  } finally {
    closeSync(fd)
  }
}

/**
 * Keeps edits that could not be saved in a private file of their own (a new 0700 folder, file 0600), out
 * of the buffer's folder, which goes: its path is printed for the user, who deletes it when done.
 */
function keepEdits(env: string, text: string): string {
  const dir = mkdtempSync(join(privateRuntimeDir() ?? tmpdir(), 'envelope-edit-kept-'))
  const file = join(dir, `${env.replace('/', '-')}.yaml`)
  writeNewPrivate(file, text)
  return file
}
