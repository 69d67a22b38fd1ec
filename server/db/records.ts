/**
 * The records the server's repository stores and returns, and the role order. Kept apart from the SQL so the
 * per-aggregate stores (identity.ts, environments.ts, tags.ts, sessions.ts, audit.ts), the auth layer and the
 * routes share one definition of each shape.
 */

export type Role = 'none' | 'reader' | 'opener' | 'editor' | 'admin'
export const ROLES: Role[] = ['none', 'reader', 'opener', 'editor', 'admin']
export const roleRank = (r: Role): number => ROLES.indexOf(r)
export const isRole = (r: unknown): r is Role => typeof r === 'string' && (ROLES as string[]).includes(r)

export interface User {
  id: string
  login: string
  name: string
  email: string
  siteAdmin: boolean
}

export interface TokenRecord {
  id: string
  userId: string
  description: string
  created: string
  expires: string | null
  revoked: string | null
}

export interface EnvRecord {
  id: string
  org: string
  project: string
  name: string
  created: string
  modified: string
  latest: number
  dataKey: string
  kekId: string
  deletionProtected: boolean
}

export interface RevisionRecord {
  number: number
  yaml: string
  created: string
  creatorLogin: string
  creatorName: string
  retracted?: { replacement: number; at: string; by: string; reason: string }
}

export interface TagRecord {
  name: string
  created: string
  modified: string
  editorLogin: string
  editorName: string
}
export interface RevisionTagRecord extends TagRecord {
  revision: number
}
export interface EnvTagRecord extends TagRecord {
  value: string
}

export interface SessionRecord {
  id: string
  envId: string
  userId: string
  revision: number
  resultKey: string
  expires: string
}

export interface AuditRecord {
  id: number
  time: string
  user: string | null
  tokenId: string | null
  ip: string | null
  method: string
  action: string
  org: string | null
  target: string
  status: number
  result: 'ok' | 'denied' | 'error'
  detail?: Record<string, unknown>
}

export interface Grant {
  org: string
  project: string
  /** '' for a project-wide grant */
  env: string
  subjectKind: 'user' | 'team'
  subject: string
  role: Role
}
