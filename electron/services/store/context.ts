/**
 * What the store's service modules (tags.ts, revisions.ts) work with: the rows, the audit log, the acting
 * user (its own module, so rows.ts and audit-log.ts do not import each other).
 */
import type { AuditLog } from './audit-log.ts'
import type { StoreRows } from './rows.ts'

export interface StoreContext {
  rows: StoreRows
  audit: AuditLog
  user: string
}
