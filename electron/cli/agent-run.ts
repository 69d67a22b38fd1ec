/**
 * `envelope run` served by the agent (electron/services/agent): the environment's variables, files and
 * secrets come over the agent's socket and the command is launched here, exactly as after a local open.
 * Returns false (nothing done) when no agent of this build serves the data folder's store or it declines
 * the request: the caller then opens the environment itself. The request names the store (its id and
 * canonical folder, see services/agent/identity.ts) and the reply must come from that store's agent: a
 * symlink at agent.sock is not even connected to. Loads neither crypto nor the keychain; SQLite only to
 * read the store id.
 */
import { basename } from 'node:path'
import type { Declined, RunGranted } from '../services/agent/protocol.ts'
import type { Cli } from './context.ts'

/** Whether a run may be asked of the agent at all (the CLI is built, not disabled, no `${…}` in the arguments). */
export function agentMayServe(fast: { command: string[] }, build: string | undefined): build is string {
  return build !== undefined && !process.env.ENVELOPE_NO_AGENT && process.platform !== 'win32' && !fast.command.some((a) => a.includes('${'))
}

export async function runViaAgent(cli: Cli, fast: { ref: string; command: string[]; mask: boolean }, build: string): Promise<boolean> {
  const { AGENT_PROTOCOL, agentRequest, agentSocketPath } = await import('../services/agent/protocol.ts')
  const { isSocketFile, sameStore, storeIdentity } = await import('../services/agent/identity.ts')
  const { resolveDataDir } = await import('../services/paths.ts')
  const [command, ...args] = fast.command
  if (!command) return false
  const dataDir = resolveDataDir()
  // no agent (or a symlink where its socket would be): not even a connection attempt
  if (!isSocketFile(agentSocketPath(dataDir))) return false
  const store = storeIdentity(dataDir)
  if (!store) return false // no store there (yet): the local open says so
  let reply: RunGranted | Declined
  try {
    reply = await agentRequest(
      agentSocketPath(store.dataDir),
      { v: AGENT_PROTOCOL, op: 'run', store, ref: fast.ref, command: basename(command), mask: fast.mask, build },
      10_000,
    )
  } catch {
    return false // no agent (or a stale socket, or no answer in time)
  }
  // declined, or a reply that does not name this store (the agent must say which store it answers for)
  if (!reply.ok || !sameStore(reply.store, store)) return false
  const { launch } = await import('../services/launcher/index.ts')
  cli.exitCode = await launch({ command, args, variables: reply.variables, files: reply.files, secrets: reply.secrets, mask: fast.mask })
  return true
}
