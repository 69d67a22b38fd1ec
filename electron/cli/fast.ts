/**
 * `envelope run` without commander: the command that wraps every other command should not pay for
 * building the whole commander tree. bin/envelope loads this module alone (out/cli/run.cjs, with a V8
 * code cache) for `envelope run …`; main.ts uses it too. Exit codes and error reporting: see main.ts.
 */
import { UserError } from '../../shared/errors.ts'
import { createCli, type Cli } from './context.ts'
import { parseRunArgs } from './run-args.ts'

export { createCli }

/** Prints an error the way users should see it; returns the exit code. */
export function reportError(cli: Cli, err: unknown): number {
  const c = err as { code?: unknown; exitCode?: number }
  if (err instanceof Error && typeof c.code === 'string' && c.code.startsWith('commander.')) {
    // commander already printed its message (help/version are not errors)
    if (c.code === 'commander.helpDisplayed' || c.code === 'commander.version' || c.code === 'commander.help') return 0
    return c.exitCode === 0 ? 0 : 2
  }
  if (err instanceof UserError) {
    // diagnostics (if any) were printed where they arose; this is the one-line summary
    cli.err(`error: ${err.message}\n`)
    if (err.hint) cli.err(`hint: ${err.hint}\n`)
    // a status of its own: e.g. 127 / 126 for a command that could not start (launcher), as a shell gives
    return typeof c.exitCode === 'number' ? c.exitCode : 1
  }
  const e = err instanceof Error ? err : new Error(String(err))
  cli.err(`error: unexpected failure: ${e.message}\n`)
  if (process.env.ENVELOPE_DEBUG) cli.err(`${e.stack ?? ''}\n`)
  else cli.err('hint: this is a bug in envelope; run again with ENVELOPE_DEBUG=1 for details and report it\n')
  return 1
}

/**
 * `envelope run …` parsed by hand (the grammar: run-args.ts): the command that wraps every other command should not
 * pay for building the whole commander tree. Anything unusual (help, unknown options, no command) goes through commander.
 */
export function fastRunArgs(argv: string[]): { ref: string; command: string[]; mask: boolean } | undefined {
  if (argv[0] !== 'run') return undefined
  const p = parseRunArgs(argv.slice(1))
  if (p.help || p.unknown !== undefined || p.ref === undefined || p.command.length === 0) return undefined
  return { ref: p.ref, command: p.command, mask: p.mask }
}

/**
 * Runs `envelope run …` when `argv` is a plain run (see fastRunArgs); undefined otherwise (nothing done).
 * `agentAsked`: the agent was asked already (bin/envelope's agent-run bundle) and did not serve.
 */
export async function runFast(argv: string[], cli: Cli = createCli(), opts: { agentAsked?: boolean } = {}): Promise<number | undefined> {
  const fast = fastRunArgs(argv)
  if (!fast) return undefined
  return runWithCli(cli, async () => {
    // an agent of this build serves the environment when one runs (see electron/services/agent); arguments
    // with `${…}` placeholders need the evaluated tree, so those runs open the environment here
    const { agentMayServe, runViaAgent } = await import('./agent-run.ts')
    if (!opts.agentAsked && agentMayServe(fast, cli.build) && (await runViaAgent(cli, fast, cli.build))) return
    const { runCommand } = await import('./actions/run.ts')
    await runCommand(cli, fast.ref, fast.command, { mask: fast.mask })
  })
}

/** Runs one command body: its exit code, or the reported error's; the CLI is closed either way. */
export async function runWithCli(cli: Cli, body: () => Promise<void>): Promise<number> {
  try {
    await body()
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
