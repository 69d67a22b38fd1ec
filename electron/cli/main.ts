/**
 * `envelope` CLI entry: builds the commander tree from the registry, runs it, and turns errors into
 * messages and exit codes:
 *   0 ok · 1 error (user error, definition errors, failed rotation) · 2 usage error (bad flags/arguments)
 *   · `run`: the child's own exit code.
 * User errors print `error: <what>` and `hint: <what to do>`, never a stack trace (ENVELOPE_DEBUG=1 shows
 * stacks of unexpected errors).
 */
import { Command, CommanderError } from 'commander'
import { UserError } from '../../shared/errors.ts'
import { createCli, type Cli } from './context.ts'
import { commandModules } from './registry.ts'
import './commands/index.ts'

export const VERSION = '0.1.0'

/** The modules needed for `argv` (all of them for help, unknown commands and modules without a `commands` list). */
function modulesFor(argv: string[] | undefined): typeof commandModules {
  const own = argv === undefined ? undefined : argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  const first = own?.find((a) => !a.startsWith('-'))
  if (first === undefined || own?.some((a) => a === '-h' || a === '--help' || a === 'help')) return commandModules
  const wanted = commandModules.filter((m) => m.commands === undefined || m.commands.includes(first))
  return wanted.some((m) => m.commands !== undefined) ? wanted : commandModules
}

export function buildProgram(cli: Cli, argv?: string[]): Command {
  const program = new Command('envelope')
    .description('Envelope: Pulumi ESC-compatible environments, offline-first (local store, keys in the OS keychain)')
    .version(VERSION, '--version')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => cli.out(s), writeErr: (s) => cli.err(s) })
    .exitOverride()
  const env = program.command('env').description('manage environments (init, ls, get, set, edit, rm, clone, diff, open, run, version, tag)')
  env.enablePositionalOptions().exitOverride()
  for (const m of modulesFor(argv)) m.register(program, env, cli)
  const applyRecursively = (c: Command): void => {
    c.exitOverride().configureOutput({ writeOut: (s) => cli.out(s), writeErr: (s) => cli.err(s) }).showSuggestionAfterError(true)
    c.commands.forEach(applyRecursively)
  }
  applyRecursively(program)
  return program
}

/** Prints an error the way users should see it; returns the exit code. */
export function reportError(cli: Cli, err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (help/version are not errors)
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0
    return err.exitCode === 0 ? 0 : 2
  }
  if (err instanceof UserError) {
    // diagnostics (if any) were printed where they arose; this is the one-line summary
    cli.err(`error: ${err.message}\n`)
    if (err.hint) cli.err(`hint: ${err.hint}\n`)
    return 1
  }
  const e = err instanceof Error ? err : new Error(String(err))
  cli.err(`error: unexpected failure: ${e.message}\n`)
  if (process.env.ENVELOPE_DEBUG) cli.err(`${e.stack ?? ''}\n`)
  else cli.err('hint: this is a bug in envelope; run again with ENVELOPE_DEBUG=1 for details and report it\n')
  return 1
}

export async function main(argv: string[], cli: Cli = createCli()): Promise<number> {
  try {
    const program = buildProgram(cli, argv)
    if (argv.length === 0) {
      program.outputHelp()
      return 0
    }
    await program.parseAsync(argv, { from: 'user' })
    return cli.exitCode
  } catch (err) {
    return reportError(cli, err)
  } finally {
    try {
      cli.close()
    } catch {
      // closing must not hide the real outcome
    }
  }
}
