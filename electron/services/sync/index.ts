/**
 * Sync client: log in to an Envelope team server (token in the OS keychain), list remote environments,
 * push/pull revisions so local and server histories match, conflicts as three-way diffs. See sync.ts.
 */
export { SyncService } from './sync.ts'
export type { SyncResult, SyncConflict, SyncServiceOptions, LocalStore, SyncEnvironmentStatus } from './sync.ts'
export { Remote } from './remote.ts'
export { threeWay } from './merge.ts'
export type { ThreeWayDiff } from './merge.ts'
