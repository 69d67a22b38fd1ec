/**
 * Asking the agent serving a data folder (./server.ts) for its status, and stopping it: used by the CLI
 * (`envelope agent …`, `envelope key rotate`) and by the desktop app's Settings (electron/app-api/context.ts).
 * `envelope run` asks the agent through its own, smaller path (electron/cli/agent-run.ts).
 */
import { existsSync, lstatSync, realpathSync, statSync } from 'node:fs'
import { isSocketFile, storeIdentity, type StoreIdentity } from './identity.ts'
import { AGENT_PROTOCOL, agentRequest, agentSocketFits, agentSocketPath, WRONG_STORE } from './protocol.ts'
import type { AgentStatus, Declined } from './protocol.ts'

/** What keeps any agent from serving a data folder (each caller says it its own way). */
export type AgentObstacle = { kind: 'windows' } | { kind: 'path-too-long'; socketPath: string } | { kind: 'readable-by-others'; mode: number }

/**
 * Why no agent can serve `dataDir` (the agent refuses to start: prepareSocket; `envelope run` does not
 * start one; `agent status` says why), or undefined. A data folder that does not exist yet has none.
 */
export function agentObstacle(dataDir: string): AgentObstacle | undefined {
  if (process.platform === 'win32') return { kind: 'windows' }
  const socketPath = agentSocketPath(dataDir)
  if (!agentSocketFits(socketPath)) return { kind: 'path-too-long', socketPath }
  let mode: number
  try {
    mode = statSync(dataDir).mode & 0o777
  } catch {
    return undefined
  }
  return (mode & 0o077) !== 0 ? { kind: 'readable-by-others', mode } : undefined
}

/**
 * Whether the agent that answered `s` serves `store`. An agent of an earlier build names no store id (and
 * answers whatever store a request names): its data folder, canonical, must then be the store's.
 */
export function servesStore(s: AgentStatus, store: StoreIdentity): boolean {
  if (s.storeId !== undefined) return s.storeId === store.id
  try {
    return realpathSync(s.dataDir) === store.dataDir
  } catch {
    return false
  }
}

/**
 * The status of the agent serving the store in `dataDir`; undefined when none answers (none runs, a killed
 * one left its socket, the socket there leads to another store's agent, there is no store).
 */
export async function agentStatus(dataDir: string): Promise<AgentStatus | undefined> {
  const store = storeIdentity(dataDir)
  const socketPath = agentSocketPath(dataDir)
  if (!store || !isSocketFile(socketPath)) return undefined
  try {
    const s = await agentRequest<AgentStatus | Declined>(socketPath, { v: AGENT_PROTOCOL, op: 'status', store }, 5000)
    return s.ok && servesStore(s, store) ? s : undefined
  } catch {
    return undefined
  }
}

/**
 * The inode of what is at `dataDir`'s agent.sock when no agent of this store answers there: a socket that
 * nobody listens on (an agent killed with -9, a power loss), one whose agent serves another store (a link
 * to another data folder's socket), or something that is not a socket (a symlink): a new agent may replace
 * it. Undefined when there is nothing, or this store's agent answers or may still answer there (an agent
 * that is busy is not stale).
 */
export async function staleAgentSocket(dataDir: string): Promise<number | undefined> {
  const socketPath = agentSocketPath(dataDir)
  let ino: number
  try {
    const st = lstatSync(socketPath)
    if (!st.isSocket()) return st.ino
    ino = st.ino
  } catch {
    return undefined
  }
  const store = storeIdentity(dataDir)
  if (!store) return undefined // no store: nothing to serve
  try {
    const s = await agentRequest<AgentStatus | Declined>(socketPath, { v: AGENT_PROTOCOL, op: 'status', store }, 1000)
    const foreign = s.ok ? !servesStore(s, store) : s.reason === WRONG_STORE
    return foreign ? ino : undefined
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? ino : undefined
  }
}

/** Stops the agent serving the store in `dataDir` and waits for its socket to go; its pid, or undefined when none ran. */
export async function stopAgent(dataDir: string): Promise<number | undefined> {
  const store = storeIdentity(dataDir)
  const s = await agentStatus(dataDir)
  if (!s || !store) return undefined
  await agentRequest(agentSocketPath(dataDir), { v: AGENT_PROTOCOL, op: 'stop', store }, 5000)
  for (const end = Date.now() + 10_000; existsSync(agentSocketPath(dataDir)) && Date.now() < end;) await new Promise((r) => setTimeout(r, 25))
  return s.pid
}
