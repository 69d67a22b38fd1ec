/**
 * `envelope run …` served by the agent, as its own small bundle (out/cli/agent-run.cjs): bin/envelope
 * tries it before loading the whole run bundle, which a served run never needs. See agent-run.ts.
 */
import { agentMayServe, runViaAgent } from './agent-run.ts'
import type { Cli } from './context.ts'
import { fastRunArgs, runWithCli } from './fast.ts'

/**
 * The run's exit code when the agent served it (or the error's, when launching the command failed);
 * undefined when it did not (not a plain run, no agent, declined): the caller then runs it itself.
 */
export async function runAgentFast(argv: string[], build: string): Promise<number | undefined> {
  const fast = fastRunArgs(argv)
  if (!fast || !agentMayServe(fast, build)) return undefined
  // what a served run uses of the CLI context (createCli would bring the whole store into this bundle)
  const cli: Cli = {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    store: () => Promise.reject(new Error('the agent client has no store')),
    exitCode: 0,
    interactive: false,
    color: false,
    build,
    prompt: async () => undefined,
    close() {},
  }
  let declined = false
  const code = await runWithCli(cli, async () => {
    declined = !(await runViaAgent(cli, fast, build))
  })
  return declined ? undefined : code
}
