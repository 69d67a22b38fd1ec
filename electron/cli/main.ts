/**
 * `envelope` CLI entry: runs the command (program.ts: the commander tree from the registry; `run` has a
 * hand-parsed fast path) and turns errors into messages and exit codes:
 *   0 ok · 1 error (user error, definition errors, failed rotation) · 2 usage error (bad flags/arguments)
 *   · `run`: as a shell gives them (the child's code, 128 + n for signal n, 127 not found, 126 not runnable).
 * User errors print `error: <what>` and `hint: <what to do>`, never a stack trace (ENVELOPE_DEBUG=1 shows
 * stacks of unexpected errors).
 */
import { createCli, type Cli } from './context.ts'
import { runFast, runWithCli } from './fast.ts'

export { createCli, fastRunArgs, reportError } from './fast.ts'

export async function main(argv: string[], cli: Cli = createCli()): Promise<number> {
  const fast = await runFast(argv, cli)
  if (fast !== undefined) return fast
  return runWithCli(cli, async () => {
    const { runProgram } = await import('./program.ts')
    await runProgram(cli, argv)
  })
}
