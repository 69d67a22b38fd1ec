/**
 * The one IPC contract between the renderer and the main side (style.md items 1–2).
 *
 * Every request/response channel maps to a signature taking ONE request object and returning a
 * promise. The same contract is served over Electron IPC (preload `window.envelope`) and over the
 * loopback web transport (electron/app-api/) for web mode; the renderer picks a transport behind one
 * client (renderer/src/api/client.ts). Main-side handlers validate every request with zod
 * (electron/app-api/schemas.ts) before calling the services.
 *
 * Channel names are dotted and namespaced (`env.*`, `run.*`, ...). Errors cross the boundary as
 * SerializedError (shared/errors.ts) and are rebuilt with fromSerialized().
 */
import type { Diagnostic, EvalValue } from './esc/host.ts'
import type { AuditEvent, Definition, EnvironmentSummary, Importer, KeyStatus, OpenResult, RevisionInfo, RotationResult } from './models.ts'
import type { SerializedError } from './errors.ts'
import type { SyncRequestChannels } from './sync-ipc.ts'
import { syncChannels } from './sync-ipc.ts'

export type ExportFormat = 'dotenv' | 'json' | 'yaml' | 'shell'
export const exportFormats: readonly ExportFormat[] = ['dotenv', 'json', 'yaml', 'shell']

export interface AppInfo {
  /** how the renderer reaches the main side */
  mode: 'electron' | 'web'
  version: string
  platform: string
  dataDir: string
}

export interface Settings {
  /** command line used to launch a terminal; empty = the OS default (see defaultTerminal) */
  terminalCommand: string
}

export interface SettingsInfo extends Settings {
  /** what an empty terminalCommand resolves to on this OS */
  defaultTerminalCommand: string
}

/**
 * The command-line agent of this data folder (electron/services/agent: a background process that keeps the
 * store unlocked so `envelope run` starts faster) and whether `envelope run` starts one by itself.
 */
export interface AgentInfo {
  running: boolean
  /** of the running agent */
  pid?: number
  /** when the running agent started (ISO time) */
  started?: string
  /** runs it has served */
  served?: number
  /** it stops after this many minutes without a served run */
  idleMinutes?: number
  /** the store setting `agent.autostart` (default on) */
  autostart: boolean
  /** the store's key backend (undefined before the first save); `envelope run` starts an agent only for `keychain` */
  keyBackend?: KeyStatus['backend']
}

export interface GraphNode {
  id: string
  project: string
  /** the environment exists in the store (false for broken import targets) */
  exists: boolean
  /** a problem reading/parsing the definition, if any */
  error?: string
}

export interface GraphEdge {
  /** importer */
  from: string
  /** imported environment (normalised `project/name`, version stripped) */
  to: string
  /** the import text as written (e.g. `base@3`) */
  raw: string
  broken: boolean
  /** part of an import cycle */
  cycle: boolean
}

export interface ImportGraph {
  nodes: GraphNode[]
  edges: GraphEdge[]
}

export interface ExportResult {
  content: string
  /** suggested file name */
  filename: string
  /** the rendered content includes plaintext secret values */
  containsSecrets: boolean
  /** count of secret values in the exported part of the environment (whether or not revealed) */
  secretCount: number
  diagnostics: Diagnostic[]
}

export interface RunStarted {
  runId: string
  /** the injected variable names (values are never sent back) */
  variables: string[]
}

export interface RunChunk {
  stream: 'stdout' | 'stderr' | 'system'
  text: string
}

export interface RunPoll {
  chunks: RunChunk[]
  /** index to pass as `since` next time */
  next: number
  done: boolean
  exitCode?: number | null
  signal?: string | null
}

/** Request/response channels. Keys are channel names; each signature takes one request object. */
export interface RequestChannels extends SyncRequestChannels {
  'app.info': (req: Record<string, never>) => Promise<AppInfo>
  /**
   * An opaque token that changes whenever anything commits to the store (this app, the CLI, the agent,
   * sync): the app polls it and refreshes the list and the open environment when it changes.
   */
  'store.version': (req: Record<string, never>) => Promise<{ version: string }>

  'env.list': (req: Record<string, never>) => Promise<EnvironmentSummary[]>
  'env.create': (req: { id: string; yaml?: string; message?: string }) => Promise<RevisionInfo>
  'env.get': (req: { id: string; version?: string | number; decrypt?: boolean }) => Promise<Definition>
  'env.update': (req: { id: string; yaml: string; baseRevision: number; message?: string }) => Promise<RevisionInfo>
  /**
   * Deletes an environment and its whole history. While other environments use it (list it in `imports:`
   * or read it through `${environments.<project>.<env>…}`), it is refused with an error of code `in_use`
   * (name `InUseError`) whose `data.importers` is the `Importer[]` of `env.importers`, and nothing is
   * deleted. The app's delete dialog asks `env.importers` first; when the list is not empty it shows it
   * and deletes only after an explicit confirmation of that list, with `force: true` (the store checks
   * again under its write lock: an importer saved meanwhile refuses a delete without `force`).
   */
  'env.delete': (req: { id: string; force?: boolean }) => Promise<void>
  /** Who uses `id`: one entry per use (environment, `import` or `reference`, as written, line), sorted; [] when none. */
  'env.importers': (req: { id: string }) => Promise<Importer[]>
  'env.clone': (req: { from: string; to: string; keepHistory?: boolean }) => Promise<RevisionInfo>
  'env.revisions': (req: { id: string; before?: number; count?: number }) => Promise<RevisionInfo[]>
  'env.tagRevision': (req: { id: string; tag: string; revision: number }) => Promise<void>
  'env.untagRevision': (req: { id: string; tag: string }) => Promise<void>
  'env.retract': (req: { id: string; revision: number; replacement?: number; reason?: string }) => Promise<void>
  'env.rollback': (req: { id: string; revision: number; message?: string }) => Promise<RevisionInfo>
  'env.getTags': (req: { id: string }) => Promise<Record<string, string>>
  'env.setTag': (req: { id: string; key: string; value: string }) => Promise<void>
  'env.deleteTag': (req: { id: string; key: string }) => Promise<void>
  'env.open': (req: { id: string; version?: string | number }) => Promise<OpenResult>
  /** live preview of an unsaved buffer (evaluated in the main process, off the UI thread) */
  'env.check': (req: { id: string; yaml: string }) => Promise<OpenResult>
  'env.audit': (req: { target?: string; limit?: number }) => Promise<AuditEvent[]>
  /**
   * Rotates the `fn::rotate` secrets of the latest saved revision (all, or those under `paths`) and saves
   * their new state as a new revision; one entry per rotation with its status (never the credentials).
   */
  'env.rotate': (req: { id: string; paths?: string[] }) => Promise<RotationResult>
  'env.graph': (req: Record<string, never>) => Promise<ImportGraph>

  'key.status': (req: Record<string, never>) => Promise<KeyStatus>
  'key.rotate': (req: Record<string, never>) => Promise<{ rewrapped: number }>

  /**
   * Opens the environment once for a visit of the Export screen (providers run once); the session is passed
   * to export.render/export.save so option changes re-render from it, and dropped with export.close.
   */
  'export.open': (req: { id: string }) => Promise<{ session: string }>
  /**
   * renders an export (from the visit `session`, else it opens the environment); `reveal` includes plaintext
   * secrets, audited as `export` the first time per visit and format
   */
  'export.render': (req: { id: string; format: ExportFormat; reveal: boolean; session?: string }) => Promise<ExportResult>
  /** Electron only: asks for a file in a native save dialog and writes the export there (audited as `export`) */
  'export.save': (req: { id: string; format: ExportFormat; reveal: boolean; session?: string }) => Promise<{ path?: string; cancelled: boolean }>
  /** ends a visit of the Export screen: the opened values are dropped */
  'export.close': (req: { session: string }) => Promise<void>

  /** runs `argv` (not through a shell) with the environment's variables injected */
  'run.start': (req: { id: string; argv: string[] }) => Promise<RunStarted>
  'run.poll': (req: { runId: string; since: number }) => Promise<RunPoll>
  'run.kill': (req: { runId: string }) => Promise<void>
  /** launches the configured terminal with the environment's variables injected */
  'terminal.launch': (req: { id: string }) => Promise<{ command: string }>

  'settings.get': (req: Record<string, never>) => Promise<SettingsInfo>
  'settings.set': (req: Partial<Settings>) => Promise<SettingsInfo>

  'agent.status': (req: Record<string, never>) => Promise<AgentInfo>
  /** turning it off also stops a running agent (as `envelope agent autostart off`) */
  'agent.setAutostart': (req: { autostart: boolean }) => Promise<AgentInfo>
  'agent.stop': (req: Record<string, never>) => Promise<AgentInfo>
}

export type Channel = keyof RequestChannels
export type RequestOf<C extends Channel> = Parameters<RequestChannels[C]>[0]
export type ResponseOf<C extends Channel> = Awaited<ReturnType<RequestChannels[C]>>

/** Channel names, in one list, so the preload and the web transport can reject anything else. */
export const channels = [
  'app.info',
  'store.version',
  'env.list',
  'env.create',
  'env.get',
  'env.update',
  'env.delete',
  'env.importers',
  'env.clone',
  'env.revisions',
  'env.tagRevision',
  'env.untagRevision',
  'env.retract',
  'env.rollback',
  'env.getTags',
  'env.setTag',
  'env.deleteTag',
  'env.open',
  'env.check',
  'env.audit',
  'env.rotate',
  'env.graph',
  'key.status',
  'key.rotate',
  'export.open',
  'export.render',
  'export.save',
  'export.close',
  'run.start',
  'run.poll',
  'run.kill',
  'terminal.launch',
  'settings.get',
  'settings.set',
  'agent.status',
  'agent.setAutostart',
  'agent.stop',
  ...syncChannels,
] as const satisfies readonly Channel[]

// Compile-time check that `channels` lists every key of RequestChannels.
type MissingChannels = Exclude<Channel, (typeof channels)[number]>
const _allChannelsListed: MissingChannels extends never ? true : MissingChannels = true
void _allChannelsListed

export function isChannel(name: string): name is Channel {
  return (channels as readonly string[]).includes(name)
}

/** Prefix of the Electron IPC channel names (`envelope:env.list`); the main side drops anything else. */
export const ipcPrefix = 'envelope:'

/** Wire envelope of a response, on both transports. */
export type Reply<T> = { ok: true; result: T } | { ok: false; error: SerializedError }

/** The API the preload exposes as `window.envelope`. */
export interface PreloadApi {
  invoke<C extends Channel>(channel: C, req: RequestOf<C>): Promise<Reply<ResponseOf<C>>>
  platform: string
}

/** A value-tree helper type used by the renderer (re-exported for convenience). */
export type { EvalValue }
