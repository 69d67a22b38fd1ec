/**
 * The commander program: the command tree from the registry (only the modules the first argument needs).
 * Loaded by main.ts for everything but the `run` fast path.
 */
import { Command } from 'commander'
import type { Cli } from './context.ts'
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
    c.exitOverride()
      .configureOutput({ writeOut: (s) => cli.out(s), writeErr: (s) => cli.err(s) })
      .showSuggestionAfterError(true)
    c.commands.forEach(applyRecursively)
  }
  applyRecursively(program)
  return program
}

/** Parses and runs `argv` (throws CommanderError for usage errors, after commander printed them). */
export async function runProgram(cli: Cli, argv: string[]): Promise<void> {
  const program = buildProgram(cli, argv)
  if (argv.length === 0) {
    program.outputHelp()
    return
  }
  await program.parseAsync(argv, { from: 'user' })
}
