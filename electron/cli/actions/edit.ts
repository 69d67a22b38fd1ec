/**
 * `env edit`: the decrypted definition in $VISUAL/$EDITOR, saved against the revision the edit started
 * from. A definition with errors reopens in the editor with the diagnostics as comments at the top (like
 * `git commit` / `kubectl edit`); saving it unchanged gives up and keeps the edits in a private file whose
 * path is printed. A concurrent save (conflict) also keeps the edits there. The temp file is private
 * (folder 0700, file 0600) and removed otherwise.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConflictError, UserError } from '../../../shared/errors.ts'
import { splitCommandLine } from '../../../shared/cmdline.ts'
import type { Diagnostic } from '../../../shared/esc/host.ts'
import { renderDiagnostics } from '../../../shared/format/diagnostics.ts'
import type { Cli } from '../context.ts'
import { printDiagnostics, readInput } from '../util.ts'
import { saveOrReport } from './env.ts'

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
  const dir = mkdtempSync(join(tmpdir(), 'envelope-edit-'))
  const file = join(dir, `${def.environment.replace('/', '-')}.yaml`)
  let keep = false
  try {
    let text = def.yaml
    let header = ''
    for (;;) {
      writeFileSync(file, header + text, { mode: 0o600 })
      const r = spawnSync(argv[0]!, [...argv.slice(1), file], { stdio: 'inherit' })
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
      if (r.status !== 0) throw new UserError('cancelled', `the editor exited with ${r.status ?? r.signal}; nothing was saved`)
      const edited = stripHeader(readFileSync(file, 'utf8'))
      if (edited.trim() === '') {
        cli.err('Aborting edit due to empty definition.\n')
        return
      }
      if (edited === def.yaml) {
        cli.err('No changes.\n')
        return
      }
      if (header !== '' && edited === text) {
        keep = true
        writeFileSync(file, edited, { mode: 0o600 })
        throw new UserError('invalid_input', `the definition still has errors; nothing was saved. Your edits are kept in ${file}`, {
          hint: `fix them and run \`envelope env edit ${def.environment} -f ${file}\`, then delete the file (it may hold secrets)`,
        })
      }
      try {
        const rev = await store.update(def.environment, edited, { baseRevision: def.revision, message })
        cli.out(`Environment updated (revision ${rev.number}).\n`)
        return
      } catch (e) {
        const diags = (e as { diagnostics?: Diagnostic[] }).diagnostics
        if (e instanceof UserError && !(e instanceof ConflictError) && Array.isArray(diags)) {
          printDiagnostics(cli, diags, (env) => (env === def.environment ? { display: env, text: edited } : { display: env }))
          cli.err('The definition has errors; reopening the editor.\n')
          header = diagnosticsHeader(def.environment, diags, edited)
          text = edited
          continue
        }
        keep = true
        writeFileSync(file, edited, { mode: 0o600 })
        if (e instanceof ConflictError) {
          throw new UserError('conflict', `${e.message}. Your edits are kept in ${file}`, {
            hint: `run \`envelope env edit ${def.environment}\` again and merge them (then delete the file: it may hold secrets)`,
          })
        }
        cli.err(`note: your edits are kept in ${file} (it may hold secrets: delete it when done)\n`)
        throw e
      }
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true })
  }
}
