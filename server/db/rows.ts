/**
 * Small helpers every SQL store uses to turn driver rows into records: the same text conversions and the same
 * test for a unique-key violation on SQLite and PostgreSQL, written once.
 */
import type { Row, SqlValue } from './driver.ts'
import type { TagRecord } from './records.ts'

/** The current time as stored in every `created`/`modified` column (ISO 8601, UTC). */
export const now = () => new Date().toISOString()
/** A text column; NULL reads as ''. */
export const str = (v: SqlValue | undefined): string => (v === null || v === undefined ? '' : String(v))
/** A nullable text column. */
export const optStr = (v: SqlValue | undefined): string | null => (v === null || v === undefined ? null : String(v))

/** The columns both tag tables share. */
export const toTag = (r: Row): TagRecord => ({
  name: str(r.name),
  created: str(r.created),
  modified: str(r.modified),
  editorLogin: str(r.editor_login),
  editorName: str(r.editor_name),
})

/** true when the error is a unique/primary-key violation on either database */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errcode?: number; message?: string }
  return e?.code === '23505' || /UNIQUE constraint failed|PRIMARY KEY/i.test(String(e?.message ?? ''))
}

/** Runs an insert/update; a unique-key violation answers `onDuplicate` instead of throwing. */
export async function unlessDuplicate<T, D>(write: () => Promise<T>, onDuplicate: D): Promise<T | D> {
  try {
    return await write()
  } catch (err) {
    if (isUniqueViolation(err)) return onDuplicate
    throw err
  }
}
