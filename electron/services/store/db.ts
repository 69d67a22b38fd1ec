/**
 * The single SQLite file behind the local store (node:sqlite, DatabaseSync).
 *
 * Durability and concurrency choices:
 * - `journal_mode=WAL`: readers never block the writer; the app and the CLI share the file.
 * - `synchronous=FULL`: every commit fsyncs the WAL before it returns, so an acknowledged save survives
 *   a kill -9 AND a power cut. NORMAL would survive kill -9 only (commits reach the OS but not the disk
 *   until a checkpoint); saves here are human-rate and the data is credentials, so one fsync per save is
 *   the right price.
 * - Writes run in `BEGIN IMMEDIATE` transactions (the write lock is taken up front, so a read-then-write
 *   never upgrades into SQLITE_BUSY) with a busy timeout: a second process waits instead of failing.
 * - Schema migrations are numbered and run inside one IMMEDIATE transaction guarded by `user_version`.
 */
import { DatabaseSync } from 'node:sqlite'
import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { UserError } from '../../../shared/errors.ts'

const MIGRATIONS: string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE keks (
    id TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    params TEXT NOT NULL,
    check_blob BLOB NOT NULL,
    created TEXT NOT NULL,
    retired TEXT
  ) STRICT;
  CREATE TABLE data_keys (
    id TEXT PRIMARY KEY,
    kek_id TEXT NOT NULL REFERENCES keks(id),
    wrapped BLOB NOT NULL,
    created TEXT NOT NULL
  ) STRICT;
  CREATE TABLE environments (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    latest INTEGER NOT NULL,
    data_key TEXT NOT NULL REFERENCES data_keys(id),
    UNIQUE (project, name)
  ) STRICT;
  CREATE TABLE revisions (
    env_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    yaml TEXT NOT NULL,
    author TEXT NOT NULL,
    created TEXT NOT NULL,
    message TEXT NOT NULL,
    retracted_by TEXT,
    retracted_at TEXT,
    retract_reason TEXT,
    replacement INTEGER,
    PRIMARY KEY (env_id, number)
  ) STRICT;
  CREATE TABLE revision_tags (
    env_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    editor TEXT NOT NULL,
    PRIMARY KEY (env_id, name)
  ) STRICT;
  CREATE TABLE env_tags (
    env_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    editor TEXT NOT NULL,
    PRIMARY KEY (env_id, name)
  ) STRICT;
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT
  ) STRICT;
  CREATE INDEX audit_target ON audit (target, id);
  `,
  // 2: the parsed form of each revision (shared/esc/syntax-cache.ts), a cache: opening an environment in a
  // fresh process (`envelope run`) decodes it instead of parsing YAML; rows of another format are ignored
  `
  CREATE TABLE revision_syntax (
    env_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    format INTEGER NOT NULL,
    tree TEXT NOT NULL,
    PRIMARY KEY (env_id, number),
    FOREIGN KEY (env_id, number) REFERENCES revisions (env_id, number) ON DELETE CASCADE
  ) STRICT;
  `,
]

export const SCHEMA_VERSION = MIGRATIONS.length

export interface OpenedDb {
  db: DatabaseSync
  storeId: string
}

/** Opens (creating if needed) the store file and brings its schema up to date. */
export function openDatabase(dataDir: string, file: string, opts: { busyTimeoutMs?: number } = {}): OpenedDb {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new UserError('io', `cannot create the data folder ${dataDir}: ${(err as Error).message}`, {
      hint: 'choose another folder with ENVELOPE_DATA_DIR',
    })
  }
  let db: DatabaseSync
  const fresh = !existsSync(file)
  try {
    db = new DatabaseSync(file, { timeout: opts.busyTimeoutMs ?? 15_000, enableForeignKeyConstraints: true })
    // owner-only: SQLite gives the -wal/-shm files the database file's permissions
    if (fresh && process.platform !== 'win32') chmodSync(file, 0o600)
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA synchronous = FULL')
  } catch (err) {
    throw new UserError('io', `cannot open the store ${file}: ${(err as Error).message}`, {
      hint: 'check the file permissions, or point ENVELOPE_DATA_DIR at another folder',
    })
  }
  const current = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version
  if (current > SCHEMA_VERSION) {
    db.close()
    throw new UserError('invalid_input', `the store ${file} was written by a newer Envelope (schema ${current}, this one knows ${SCHEMA_VERSION})`, {
      hint: 'upgrade Envelope',
    })
  }
  if (current < SCHEMA_VERSION) {
    immediate(db, () => {
      // re-read under the write lock: another process may have migrated meanwhile
      const v = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version
      for (let i = v; i < SCHEMA_VERSION; i++) db.exec(MIGRATIONS[i]!)
      if (v === 0) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('store_id', randomUUID())
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
    })
  }
  const row = db.prepare("SELECT value FROM meta WHERE key = 'store_id'").get() as { value: string } | undefined
  if (!row) throw new UserError('invalid_input', `the store ${file} has no store id (damaged?)`)
  return { db, storeId: row.value }
}

/**
 * Runs `fn` inside BEGIN IMMEDIATE … COMMIT; rolls back on any throw.
 * `durable: false` commits with synchronous=NORMAL (no fsync): used only for audit records of reads
 * (read/open/decrypt/run/export). They survive a process crash like everything else (the WAL is written
 * before COMMIT returns); a power cut may drop the last few of them, never a saved revision, a tag or a key.
 */
export function immediate<T>(db: DatabaseSync, fn: () => T, opts: { durable?: boolean } = {}): T {
  if (opts.durable === false) {
    db.exec('PRAGMA synchronous = NORMAL')
    try {
      return immediate(db, fn)
    } finally {
      db.exec('PRAGMA synchronous = FULL')
    }
  }
  try {
    db.exec('BEGIN IMMEDIATE')
  } catch (err) {
    const code = (err as { errcode?: number }).errcode
    if (code === 5 || code === 6) {
      throw new UserError('io', 'the store is busy: another Envelope process has held its write lock for too long', {
        hint: 'retry in a moment; if it persists, look for a stuck `envelope` process',
        cause: err,
      })
    }
    throw err
  }
  let result: T
  try {
    result = fn()
    db.exec('COMMIT')
  } catch (err) {
    try {
      db.exec('ROLLBACK')
    } catch {
      // the transaction may already be gone (e.g. SQLITE_FULL rolled it back)
    }
    throw err
  }
  return result
}
