/**
 * The Envelope agent's socket and messages (server: ./server.ts). The client side is used by the
 * `envelope run` fast path, so this module loads nothing but `node:net`.
 *
 * One connection carries one request and one reply, each a line of JSON. The socket lives in the data
 * folder (`agent.sock`, the folder is 0700): whoever may read the store's folder may ask the agent. Every
 * request names the store it is for (./identity.ts): an agent answers only requests for its own store, and
 * says so with WRONG_STORE otherwise.
 */
import { connect } from 'node:net'
import { join } from 'node:path'
import type { StoreIdentity } from './identity.ts'

export const AGENT_PROTOCOL = 1
/** largest message either side accepts */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024
/** sun_path is 108 bytes on Linux, 104 on macOS */
export const MAX_SOCKET_PATH = 100
/** minutes without a served run after which an agent stops (`--idle`) */
export const DEFAULT_IDLE_MINUTES = 15

export function agentSocketPath(dataDir: string): string {
  return join(dataDir, 'agent.sock')
}

/**
 * Claimed (created exclusively) by the `envelope run` that starts an agent, removed by the agent once it
 * serves: concurrent runs start one agent, not one each.
 */
export function agentStartingPath(dataDir: string): string {
  return join(dataDir, 'agent.starting')
}

/** Whether a socket at `socketPath` can be bound (the agent binds it as `<path>.<pid>` first, then renames it). */
export function agentSocketFits(socketPath: string): boolean {
  return Buffer.byteLength(socketPath) + 8 <= MAX_SOCKET_PATH
}

/** The reason an agent gives for a request that names another store than its own (see identity.ts). */
export const WRONG_STORE = 'this agent serves another store'

/** `envelope run` asks for an environment's variables; `build` names the CLI build asking (see Cli.build). */
export interface RunRequest {
  v: number
  op: 'run'
  /** the store the caller opens: the agent refuses the request unless it is its own */
  store: StoreIdentity
  ref: string
  /** the command's base name (for the audit record) */
  command: string
  mask: boolean
  build: string
}

export interface ControlRequest {
  v: number
  op: 'status' | 'stop'
  /** the store the caller means: the agent refuses the request unless it is its own */
  store: StoreIdentity
}

export type AgentRequest = RunRequest | ControlRequest

/** What `run` needs to launch the command, exactly as a local open would give it. */
export interface RunGranted {
  ok: true
  /** the store it came from (the caller checks it is the one it asked for) */
  store: StoreIdentity
  environment: string
  revision: number
  variables: Record<string, string>
  files: Record<string, string>
  secrets: string[]
}

/** The agent does not serve this request; the client opens the environment itself (and says why nothing). */
export interface Declined {
  ok: false
  reason: string
}

export interface AgentStatus {
  ok: true
  pid: number
  build: string
  dataDir: string
  /** the store it serves (absent from agents of earlier builds, which do not check the store named) */
  storeId?: string
  started: string
  served: number
  idleMinutes: number
}

/** Sends one request and resolves with the reply; rejects when there is no agent, on timeout or a bad reply. */
export function agentRequest<T>(socketPath: string, req: AgentRequest, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const sock = connect(socketPath)
    const chunks: Buffer[] = []
    let size = 0
    const fail = (err: Error): void => {
      sock.destroy()
      reject(err)
    }
    sock.setTimeout(timeoutMs, () => fail(new Error(`the agent did not answer within ${timeoutMs} ms`)))
    sock.on('error', fail)
    sock.on('connect', () => sock.end(`${JSON.stringify(req)}\n`))
    sock.on('data', (d: Buffer) => {
      size += d.length
      if (size > MAX_MESSAGE_BYTES) return fail(new Error("the agent's reply is too large"))
      chunks.push(d)
    })
    sock.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T)
      } catch {
        reject(new Error("the agent's reply is not JSON"))
      }
      sock.destroy()
    })
  })
}
