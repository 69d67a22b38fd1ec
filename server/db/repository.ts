/**
 * The server's one repository interface, implemented once over the portable SQL driver (driver.ts), so the
 * SQLite and PostgreSQL stores share schema and behaviour. Holds no state of its own: several server processes
 * can share one PostgreSQL database.
 *
 * The implementation is split by aggregate (identity.ts, environments.ts, tags.ts, sessions.ts, audit.ts); this
 * module joins them into the one `Repository` the server passes around and re-exports the record types.
 */
import type { Driver } from './driver.ts'
import { migrate } from './schema.ts'
import type { IdentityStore } from './identity.ts'
import { identityStore } from './identity.ts'
import type { EnvironmentStore } from './environments.ts'
import { environmentStore } from './environments.ts'
import type { TagStore } from './tags.ts'
import { tagStore } from './tags.ts'
import type { SessionStore } from './sessions.ts'
import { sessionStore } from './sessions.ts'
import type { AuditStore } from './audit.ts'
import { auditStore } from './audit.ts'

export type {
  AuditRecord,
  EnvRecord,
  EnvTagRecord,
  Grant,
  RevisionRecord,
  RevisionTagRecord,
  Role,
  SessionRecord,
  TagRecord,
  TokenRecord,
  User,
} from './records.ts'
export { ROLES, isRole, roleRank } from './records.ts'

export interface Repository extends IdentityStore, EnvironmentStore, TagStore, SessionStore, AuditStore {
  readonly dialect: 'sqlite' | 'postgres'
  close(): Promise<void>
}

/** The repository over SQLite or PostgreSQL (the type of what `SqlRepository.open` returns). */
export type SqlRepository = Repository

export const SqlRepository = {
  /** Connects, migrates the schema, and joins the aggregate stores over the one driver. */
  async open(db: Driver): Promise<Repository> {
    await db.init()
    await migrate(db)
    return {
      dialect: db.dialect,
      close: () => db.close(),
      ...identityStore(db),
      ...environmentStore(db),
      ...tagStore(db),
      ...sessionStore(db),
      ...auditStore(db),
    }
  },
}
