/**
 * SQL drivers: one tiny async interface over node:sqlite (default) and PostgreSQL (`pg`).
 *
 * Statements are written once with `?` placeholders and portable SQL; the PostgreSQL driver rewrites the
 * placeholders to `$n`. The repository (repository.ts and its aggregate stores) is the only user, so both stores share one schema and
 * one behaviour. Transactions get their own handle: on SQLite they are serialised by an async mutex (one
 * connection, `BEGIN IMMEDIATE`), on PostgreSQL they run on a dedicated pooled client.
 */
import { DatabaseSync } from 'node:sqlite'
import { Worker } from 'node:worker_threads'
import pg from 'pg'

export type SqlValue = string | number | null
export type Row = Record<string, SqlValue>

export interface Queryable {
  all(sql: string, params?: SqlValue[]): Promise<Row[]>
  get(sql: string, params?: SqlValue[]): Promise<Row | undefined>
  run(sql: string, params?: SqlValue[]): Promise<number>
}

export interface Driver extends Queryable {
  readonly dialect: 'sqlite' | 'postgres'
  /** A write that may be lost if the database crashes right after it (ephemeral rows such as open sessions): no wait for durability. */
  runEphemeral(sql: string, params?: SqlValue[]): Promise<number>
  /** Runs `fn` in a transaction; rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  exec(script: string): Promise<void>
  /** Prepares the connection target (PostgreSQL: creates the schema when one was given). */
  init(): Promise<void>
  close(): Promise<void>
}

/** A FIFO async mutex (SQLite has one connection; a transaction must not interleave with other statements). */
class Mutex {
  private tail: Promise<void> = Promise.resolve()
  private held = false
  get locked(): boolean {
    return this.held
  }
  async lock(): Promise<() => void> {
    let release!: () => void
    const next = new Promise<void>((r) => (release = r))
    const prev = this.tail
    this.tail = prev.then(() => next)
    await prev
    this.held = true
    return () => {
      this.held = false
      release()
    }
  }
}

function normalizeRow(row: Record<string, unknown>): Row {
  const out: Row = {}
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === 'bigint') out[k] = Number(v)
    else if (v instanceof Uint8Array) out[k] = Buffer.from(v).toString('base64')
    else out[k] = v as SqlValue
  }
  return out
}

export class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const
  private readonly db: DatabaseSync
  private readonly mutex = new Mutex()
  private readonly cache = new Map<string, ReturnType<DatabaseSync['prepare']>>()

  private checkpointer: Worker | undefined

  constructor(file: string) {
    this.db = new DatabaseSync(file)
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;')
    if (file !== ':memory:' && process.env.ENVELOPE_SQLITE_INLINE_CHECKPOINT !== '1') {
      // WAL checkpoints copy pages back and fsync: done inline they stall the event loop now and then (tail
      // latency). A worker thread with its own connection checkpoints instead (PASSIVE: never blocks writers).
      this.db.exec('PRAGMA wal_autocheckpoint = 0')
      this.checkpointer = new Worker(
        `const { DatabaseSync } = require('node:sqlite')
         const { workerData, parentPort } = require('node:worker_threads')
         const db = new DatabaseSync(workerData.file)
         db.exec('PRAGMA busy_timeout = 5000')
         const t = setInterval(() => { try { db.exec('PRAGMA wal_checkpoint(PASSIVE)') } catch {} }, 500)
         parentPort.on('message', () => { clearInterval(t); try { db.exec('PRAGMA wal_checkpoint(PASSIVE)') } catch {} db.close(); process.exit(0) })`,
        { eval: true, workerData: { file } },
      )
      this.checkpointer.unref()
    }
  }

  private stmt(sql: string) {
    let s = this.cache.get(sql)
    if (!s) {
      s = this.db.prepare(sql)
      if (this.cache.size > 500) this.cache.clear()
      this.cache.set(sql, s)
    }
    return s
  }

  private direct: Queryable = {
    all: async (sql, params = []) =>
      this.stmt(sql)
        .all(...params)
        .map((r) => normalizeRow(r as Record<string, unknown>)),
    get: async (sql, params = []) => {
      const r = this.stmt(sql).get(...params)
      return r === undefined ? undefined : normalizeRow(r as Record<string, unknown>)
    },
    run: async (sql, params = []) => Number(this.stmt(sql).run(...params).changes),
  }

  private async outside<T>(fn: () => Promise<T>): Promise<T> {
    // Statements are synchronous; only wait when a transaction currently owns the connection.
    if (!this.mutex.locked) return fn()
    const release = await this.mutex.lock()
    try {
      return await fn()
    } finally {
      release()
    }
  }

  all(sql: string, params?: SqlValue[]) {
    return this.outside(() => this.direct.all(sql, params))
  }
  get(sql: string, params?: SqlValue[]) {
    return this.outside(() => this.direct.get(sql, params))
  }
  run(sql: string, params?: SqlValue[]) {
    return this.outside(() => this.direct.run(sql, params))
  }
  runEphemeral(sql: string, params?: SqlValue[]) {
    return this.run(sql, params)
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const release = await this.mutex.lock()
    try {
      this.db.exec('BEGIN IMMEDIATE')
      try {
        const out = await fn(this.direct)
        this.db.exec('COMMIT')
        return out
      } catch (err) {
        this.db.exec('ROLLBACK')
        throw err
      }
    } finally {
      release()
    }
  }

  async exec(script: string): Promise<void> {
    await this.outside(async () => this.db.exec(script))
  }

  async init(): Promise<void> {}

  async close(): Promise<void> {
    if (this.checkpointer) {
      const done = new Promise((r) => this.checkpointer!.once('exit', r))
      this.checkpointer.postMessage('close')
      await done
    }
    this.db.close()
  }
}

function toPg(sql: string): string {
  let i = 0
  return sql.replace(/\?/g, () => `$${++i}`)
}

function pgQueryable(q: { query: (text: string, values?: unknown[]) => Promise<pg.QueryResult> }): Queryable {
  return {
    all: async (sql, params = []) => (await q.query(toPg(sql), params)).rows.map((r) => normalizeRow(r as Record<string, unknown>)),
    get: async (sql, params = []) => {
      const r = (await q.query(toPg(sql), params)).rows[0] as Record<string, unknown> | undefined
      return r === undefined ? undefined : normalizeRow(r)
    },
    run: async (sql, params = []) => (await q.query(toPg(sql), params)).rowCount ?? 0,
  }
}

export class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const
  private readonly pool: pg.Pool
  /** connections with synchronous_commit=off, for ephemeral rows */
  private readonly fastPool: pg.Pool
  private readonly q: Queryable
  private readonly url: string
  private readonly schema: string | undefined

  /** `schema`: optional schema to create and use (search_path), so tests and tenants can be isolated. */
  constructor(url: string, opts: { schema?: string; max?: number } = {}) {
    // BIGINT (count(*), bigserial) comes back as a string by default; our values fit in a double.
    pg.types.setTypeParser(20, (v) => Number(v))
    const schema = opts.schema
    if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
      throw new Error(`invalid PostgreSQL schema name "${schema}" (use lower-case letters, digits, _)`)
    }
    this.url = url
    this.schema = schema
    // search_path as a startup parameter: every pooled connection uses the schema from its first query on.
    this.pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, ...(schema ? { options: `-c search_path=${schema}` } : {}) })
    this.fastPool = new pg.Pool({
      connectionString: url,
      max: 4,
      options: `${schema ? `-c search_path=${schema} ` : ''}-c synchronous_commit=off`,
    })
    this.fastPool.on('error', () => {})
    this.pool.on('error', () => {}) // idle-client errors surface on the next query instead of crashing
    this.q = pgQueryable(this.pool)
  }

  all(sql: string, params?: SqlValue[]) {
    return this.q.all(sql, params)
  }
  get(sql: string, params?: SqlValue[]) {
    return this.q.get(sql, params)
  }
  run(sql: string, params?: SqlValue[]) {
    return this.q.run(sql, params)
  }
  async runEphemeral(sql: string, params: SqlValue[] = []) {
    return (await this.fastPool.query(toPg(sql), params)).rowCount ?? 0
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      try {
        const out = await fn(pgQueryable(client))
        await client.query('COMMIT')
        return out
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw err
      }
    } finally {
      client.release()
    }
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script)
  }

  async init(): Promise<void> {
    if (!this.schema) return
    const c = new pg.Client({ connectionString: this.url })
    await c.connect()
    try {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`)
    } catch (err) {
      // Concurrent first starts may race on the catalog; the schema exists either way.
      if ((err as { code?: string }).code !== '23505') throw err
    } finally {
      await c.end()
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.fastPool.end()])
  }
}

/** `sqlite:<file>` / a plain file path → SQLite; `postgres://` / `postgresql://` → PostgreSQL. */
export function openDriver(url: string, opts: { pgSchema?: string } = {}): Driver {
  if (/^postgres(ql)?:\/\//.test(url)) return new PostgresDriver(url, { schema: opts.pgSchema })
  const file = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url
  return new SqliteDriver(file)
}
