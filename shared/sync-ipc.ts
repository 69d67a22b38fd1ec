/**
 * IPC channels of the sync client (electron/services/sync): the settings screen's sync section and the
 * conflict view. Merged into RequestChannels (shared/ipc.ts); handlers and zod schemas in
 * electron/app-api/sync.ts. The token goes main-ward only (login) and is never sent back.
 */
import type { SerializedError } from './errors.ts'

export interface SyncAccount {
  url: string
  org: string
  login: string
}

export type SyncState = 'in-sync' | 'ahead' | 'behind' | 'diverged' | 'conflict' | 'local-only' | 'remote-only'

/** How a state reads to a user (the CLI's `sync status` and the app's sync table). */
export const syncStateLabel: Record<SyncState, string> = {
  'in-sync': 'in sync',
  ahead: 'ahead',
  behind: 'behind',
  diverged: 'diverged',
  conflict: 'conflict',
  'local-only': 'ahead (new)',
  'remote-only': 'behind (new)',
}

export interface SyncEnvStatus {
  environment: string
  state: SyncState
  localRevision?: number
  remoteRevision?: number
  synced?: { local: number; remote: number }
}

/** A three-way diff of one environment's definition (electron/services/sync/merge.ts computes it). */
export interface ThreeWayDiff {
  base: string
  local: string
  remote: string
  /** unified diffs base→local and base→remote */
  localPatch: string
  remotePatch: string
  /** the merge proposal; contains conflict markers when `conflicts` > 0 */
  merged: string
  conflicts: number
}

export interface SyncConflictView extends ThreeWayDiff {
  environment: string
  localRevision: number
  remoteRevision: number
  basePair?: { local: number; remote: number }
}

export interface SyncOutcome {
  environment: string
  action: 'up-to-date' | 'pushed' | 'pulled' | 'created-remote' | 'created-local' | 'linked' | 'conflict' | 'error'
  pushed: number[]
  pulled: number[]
  conflict?: SyncConflictView
  error?: SerializedError
}

export interface SyncRequestChannels {
  /** the account in use (undefined when not logged in); no server call */
  'sync.account': (req: Record<string, never>) => Promise<SyncAccount | null>
  /** `insecure`: the user confirmed sending the token over plain http:// to another machine (refused otherwise) */
  'sync.login': (req: { url: string; token: string; org?: string; insecure?: boolean }) => Promise<SyncAccount>
  'sync.logout': (req: Record<string, never>) => Promise<void>
  /** per environment, from the server (offline → `io` error) */
  'sync.status': (req: { environments?: string[] }) => Promise<SyncEnvStatus[]>
  'sync.now': (req: { environments?: string[] }) => Promise<SyncOutcome[]>
  'sync.conflict': (req: { id: string }) => Promise<SyncConflictView>
  'sync.resolve': (req: { id: string; yaml: string }) => Promise<SyncOutcome>
}

export const syncChannels = [
  'sync.account',
  'sync.login',
  'sync.logout',
  'sync.status',
  'sync.now',
  'sync.conflict',
  'sync.resolve',
] as const satisfies readonly (keyof SyncRequestChannels)[]
