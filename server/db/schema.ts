/**
 * The server schema, identical on SQLite and PostgreSQL except for the auto-increment key of the audit log.
 * Audit ids only grow (rows are never deleted, so SQLite's rowid needs no AUTOINCREMENT table).
 * Times are RFC 3339 strings (UTC, `toISOString()`), booleans are 0/1 integers, ids are text.
 * Version 1. Migrations append to MIGRATIONS; `schema_version` records what ran.
 */
import type { Driver } from './driver.ts'

const V1 = (dialect: 'sqlite' | 'postgres') => `
CREATE TABLE IF NOT EXISTS orgs (
  name TEXT PRIMARY KEY,
  default_role TEXT NOT NULL DEFAULT 'none',
  created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  login TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  site_admin INTEGER NOT NULL DEFAULT 0,
  created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  created TEXT NOT NULL,
  expires TEXT,
  revoked TEXT
);
CREATE TABLE IF NOT EXISTS org_members (
  org TEXT NOT NULL REFERENCES orgs(name) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  PRIMARY KEY (org, user_id)
);
CREATE TABLE IF NOT EXISTS teams (
  org TEXT NOT NULL REFERENCES orgs(name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  created TEXT NOT NULL,
  PRIMARY KEY (org, name)
);
CREATE TABLE IF NOT EXISTS team_members (
  org TEXT NOT NULL,
  team TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (org, team, user_id),
  FOREIGN KEY (org, team) REFERENCES teams(org, name) ON DELETE CASCADE
);
-- scope: project grant when env = '', environment grant otherwise, subject_kind: user | team
CREATE TABLE IF NOT EXISTS grants (
  org TEXT NOT NULL REFERENCES orgs(name) ON DELETE CASCADE,
  project TEXT NOT NULL,
  env TEXT NOT NULL,
  subject_kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  role TEXT NOT NULL,
  PRIMARY KEY (org, project, env, subject_kind, subject)
);
CREATE TABLE IF NOT EXISTS environments (
  id TEXT PRIMARY KEY,
  org TEXT NOT NULL REFERENCES orgs(name) ON DELETE CASCADE,
  project TEXT NOT NULL,
  name TEXT NOT NULL,
  created TEXT NOT NULL,
  modified TEXT NOT NULL,
  latest INTEGER NOT NULL,
  data_key TEXT NOT NULL,
  kek_id TEXT NOT NULL,
  deletion_protected INTEGER NOT NULL DEFAULT 0,
  UNIQUE (org, project, name)
);
CREATE TABLE IF NOT EXISTS revisions (
  env_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  yaml TEXT NOT NULL,
  created TEXT NOT NULL,
  creator_login TEXT NOT NULL,
  creator_name TEXT NOT NULL,
  retracted_replacement INTEGER,
  retracted_at TEXT,
  retracted_by TEXT,
  retracted_reason TEXT,
  PRIMARY KEY (env_id, number)
);
CREATE TABLE IF NOT EXISTS revision_tags (
  env_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  revision INTEGER NOT NULL,
  created TEXT NOT NULL,
  modified TEXT NOT NULL,
  editor_login TEXT NOT NULL,
  editor_name TEXT NOT NULL,
  PRIMARY KEY (env_id, name)
);
CREATE TABLE IF NOT EXISTS env_tags (
  env_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  created TEXT NOT NULL,
  modified TEXT NOT NULL,
  editor_login TEXT NOT NULL,
  editor_name TEXT NOT NULL,
  PRIMARY KEY (env_id, name)
);
-- Open sessions are shared by all server processes. The evaluated value (an open result, shared by the sessions
-- that opened the same revision while it was cached) is sealed with the environment's data key.
CREATE TABLE IF NOT EXISTS open_results (
  key TEXT PRIMARY KEY,
  env_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  sealed TEXT NOT NULL,
  created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS open_sessions (
  id TEXT PRIMARY KEY,
  env_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  revision INTEGER NOT NULL,
  result_key TEXT NOT NULL,
  created TEXT NOT NULL,
  expires TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
  id ${dialect === 'sqlite' ? 'INTEGER PRIMARY KEY' : 'BIGSERIAL PRIMARY KEY'},
  time TEXT NOT NULL,
  user_login TEXT,
  token_id TEXT,
  ip TEXT,
  method TEXT NOT NULL,
  action TEXT NOT NULL,
  org TEXT,
  target TEXT NOT NULL,
  status INTEGER NOT NULL,
  result TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_org_time ON audit (org, id);
CREATE INDEX IF NOT EXISTS open_sessions_expires ON open_sessions (expires);
CREATE INDEX IF NOT EXISTS tokens_user ON tokens (user_id);
`

export async function migrate(db: Driver): Promise<void> {
  await db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
  const row = await db.get('SELECT MAX(version) AS v FROM schema_version')
  const current = Number(row?.v ?? 0)
  if (current >= 1) return
  // Several processes may start at once on one PostgreSQL: the DDL is idempotent (IF NOT EXISTS).
  if (db.dialect === 'postgres') {
    await db.transaction(async (tx) => {
      await tx.run('SELECT pg_advisory_xact_lock(424242)')
      const again = await tx.get('SELECT MAX(version) AS v FROM schema_version')
      if (Number(again?.v ?? 0) >= 1) return
      for (const stmt of V1('postgres')
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean))
        await tx.run(stmt)
      await tx.run('INSERT INTO schema_version (version) VALUES (1)')
    })
  } else {
    await db.exec(`BEGIN; ${V1('sqlite')} INSERT INTO schema_version (version) VALUES (1); COMMIT;`)
  }
}
