/**
 * `fn::open::postgres-login`: short-lived PostgreSQL logins (Vault's database secrets engine, inside an
 * environment). Each open creates a role with a random name and password, `VALID UNTIL` now + ttl, and the
 * requested grant; PostgreSQL itself refuses the login once it expires. Roles it created (marked by a role
 * comment) are dropped by later opens once expired, or by `cleanupExpiredLogins`.
 *
 * The password never appears in SQL text: PostgreSQL gets a SCRAM-SHA-256 verifier computed here.
 */
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { JsonValue, Provider, ProviderContext } from '../../shared/esc/host.ts'
import { connect, connectionSecrets, credentialUrl, parseConnection, quoteIdent, quoteLiteral } from './postgres.ts'
import type { AdminConnection } from './postgres.ts'
import { ProviderError, errorMessage, isObject, parseDuration, randomPassword, scramSha256Verifier, scrub, toEvalValue } from './util.ts'

const NAME = 'postgres-login'
/** Role comment marking roles this provider created (and may drop); the grant database follows. */
const MARKER = 'envelope postgres-login; db='
/** pg_advisory_xact_lock key serializing this provider's GRANTs (any 64-bit number; "envelope" in ASCII) */
const GRANT_LOCK = '7310309012697836389'
const TABLE_PRIVILEGES = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'])
const PRESETS: Record<string, { table: string[]; sequence: string[]; schema: string[]; database: string[] }> = {
  readonly: { table: ['SELECT'], sequence: ['SELECT'], schema: ['USAGE'], database: ['CONNECT'] },
  readwrite: { table: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], sequence: ['USAGE', 'SELECT', 'UPDATE'], schema: ['USAGE'], database: ['CONNECT'] },
  all: { table: ['ALL'], sequence: ['ALL'], schema: ['ALL'], database: ['ALL'] },
}

export interface PostgresLoginOptions {
  /** connect / statement timeout (default 10 s) */
  timeoutMs?: number
  /** longest ttl accepted (default 24 h) */
  maxTtlMs?: number
}

interface Grant {
  database: string
  roles: string[]
  table: string[]
  sequence: string[]
  schema: string[]
  dbPrivileges: string[]
  schemas: string[]
}

export const postgresLoginSchema: JsonValue = {
  type: 'object',
  properties: {
    connection: { description: 'admin connection: postgres:// URL or {host, port, user, password, database}; keep it secret' },
    grant: { type: 'object', description: '{database?, role? | roles?, privileges?: readonly|readwrite|all|[SELECT, ...], schemas?}' },
    ttl: { description: 'lifetime, e.g. "15m" (default 15m)' },
    prefix: { type: 'string', description: 'role name prefix (default "envelope_")' },
  },
  required: ['connection'],
}

function readGrant(input: JsonValue | undefined, conn: AdminConnection): Grant {
  const grant: Grant = { database: conn.database, roles: [], table: [], sequence: [], schema: [], dbPrivileges: ['CONNECT'], schemas: ['public'] }
  if (input === undefined || input === null) return grant
  if (!isObject(input)) throw new Error('grant must be an object {database?, role?, roles?, privileges?, schemas?}')
  for (const key of Object.keys(input)) {
    if (!['database', 'role', 'roles', 'privileges', 'schemas'].includes(key))
      throw new Error(`grant.${key} is not a known grant field (database, role, roles, privileges, schemas)`)
  }
  if (input.database !== undefined) {
    if (typeof input.database !== 'string' || input.database === '') throw new Error('grant.database must be a database name')
    grant.database = input.database
  }
  const roles = input.roles ?? (input.role === undefined ? [] : [input.role])
  if (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string' || r === ''))
    throw new Error('grant.role must be a role name (grant.roles a list of role names)')
  grant.roles = roles as string[]
  if (input.schemas !== undefined) {
    if (!Array.isArray(input.schemas) || input.schemas.length === 0 || input.schemas.some((s) => typeof s !== 'string' || s === ''))
      throw new Error('grant.schemas must be a non-empty list of schema names')
    grant.schemas = input.schemas as string[]
  }
  const p = input.privileges
  if (typeof p === 'string') {
    const preset = PRESETS[p.toLowerCase()]
    if (!preset) throw new Error(`grant.privileges ${JSON.stringify(p)} is not a preset (readonly, readwrite, all) nor a list of table privileges`)
    grant.table = preset.table
    grant.sequence = preset.sequence
    grant.schema = preset.schema
    grant.dbPrivileges = preset.database
  } else if (Array.isArray(p)) {
    const list = p.map((x) => (typeof x === 'string' ? x.toUpperCase() : ''))
    const bad = list.find((x) => !TABLE_PRIVILEGES.has(x))
    if (bad !== undefined) throw new Error(`grant.privileges: ${JSON.stringify(bad)} is not a table privilege (${[...TABLE_PRIVILEGES].join(', ')})`)
    grant.table = list
    grant.schema = ['USAGE']
  } else if (p !== undefined) throw new Error('grant.privileges must be readonly, readwrite, all, or a list such as [SELECT, INSERT]')
  if (grant.roles.length === 0 && grant.table.length === 0) {
    throw new Error('grant needs a role (grant.role) or privileges (grant.privileges: readonly | readwrite | all | [SELECT, ...])')
  }
  return grant
}

function grantStatements(user: string, g: Grant): { database: string[]; inDatabase: string[] } {
  const u = quoteIdent(user)
  const database = [`GRANT ${g.dbPrivileges.join(', ')} ON DATABASE ${quoteIdent(g.database)} TO ${u}`]
  for (const r of g.roles) database.push(`GRANT ${quoteIdent(r)} TO ${u}`)
  const inDatabase: string[] = []
  for (const s of g.schemas) {
    const q = quoteIdent(s)
    if (g.schema.length) inDatabase.push(`GRANT ${g.schema.join(', ')} ON SCHEMA ${q} TO ${u}`)
    if (g.table.length) inDatabase.push(`GRANT ${g.table.join(', ')} ON ALL TABLES IN SCHEMA ${q} TO ${u}`)
    if (g.sequence.length) inDatabase.push(`GRANT ${g.sequence.join(', ')} ON ALL SEQUENCES IN SCHEMA ${q} TO ${u}`)
  }
  return { database, inDatabase }
}

/** Drops one role this provider created: its objects go to the admin, its privileges in `db` are revoked. */
async function dropLogin(admin: pg.Client, conn: AdminConnection, role: string, db: string, timeoutMs: number): Promise<void> {
  const inDb = db === conn.database ? admin : await connect(conn, { database: db, timeoutMs })
  try {
    await inDb.query('BEGIN')
    await inDb.query('SELECT pg_advisory_xact_lock($1)', [GRANT_LOCK])
    await inDb.query(`REASSIGN OWNED BY ${quoteIdent(role)} TO CURRENT_USER`)
    await inDb.query(`DROP OWNED BY ${quoteIdent(role)}`)
    await inDb.query('COMMIT')
  } catch (err) {
    await inDb.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    if (inDb !== admin) await inDb.end().catch(() => {})
  }
  await admin.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`)
}

/**
 * Drops the expired roles created by postgres-login with this prefix. Returns the names dropped and the
 * ones that could not be (with the reason); never throws for one role.
 */
export async function cleanupExpiredLogins(
  connection: JsonValue,
  opts: { prefix?: string; timeoutMs?: number; now?: Date } = {},
): Promise<{ dropped: string[]; failed: { role: string; error: string }[] }> {
  const conn = parseConnection(connection)
  const timeoutMs = opts.timeoutMs ?? 10_000
  const admin = await connect(conn, { timeoutMs })
  try {
    return await cleanupWith(admin, conn, opts.prefix ?? 'envelope_', timeoutMs, opts.now)
  } finally {
    await admin.end().catch(() => {})
  }
}

async function cleanupWith(admin: pg.Client, conn: AdminConnection, prefix: string, timeoutMs: number, now?: Date) {
  const likePrefix = prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%'
  const res = await admin.query<{ rolname: string; note: string }>(
    `SELECT r.rolname, shobj_description(r.oid, 'pg_authid') AS note FROM pg_roles r
      WHERE r.rolname LIKE $1 AND r.rolvaliduntil IS NOT NULL AND r.rolvaliduntil < COALESCE($2::timestamptz, now())
        AND starts_with(COALESCE(shobj_description(r.oid, 'pg_authid'), ''), $3)`,
    [likePrefix, now ? now.toISOString() : null, MARKER],
  )
  const dropped: string[] = []
  const failed: { role: string; error: string }[] = []
  for (const { rolname, note } of res.rows) {
    try {
      await dropLogin(admin, conn, rolname, note.slice(MARKER.length), timeoutMs)
      dropped.push(rolname)
    } catch (err) {
      failed.push({ role: rolname, error: errorMessage(err) })
    }
  }
  return { dropped, failed }
}

export function createPostgresLoginProvider(options: PostgresLoginOptions = {}): Provider {
  const timeoutMs = options.timeoutMs ?? 10_000
  const maxTtlMs = options.maxTtlMs ?? 24 * 3_600_000
  return {
    inputsSchema: postgresLoginSchema,
    async open(inputs: JsonValue, ctx: ProviderContext) {
      const secrets = connectionSecrets(isObject(inputs) ? inputs.connection : undefined)
      // messages from pg / the network are scrubbed of the admin URL and password; our own name only fields
      const safe = (err: unknown): string => scrub(errorMessage(err), secrets)
      const fail = (message: string, cause?: unknown): ProviderError => new ProviderError(NAME, message, cause === undefined ? undefined : { cause })
      let conn: AdminConnection
      let grant: Grant
      let ttlMs: number
      let prefix: string
      try {
        if (!isObject(inputs)) throw new Error('inputs must be an object {connection, grant, ttl}')
        conn = parseConnection(inputs.connection)
        grant = readGrant(inputs.grant, conn)
        ttlMs = parseDuration(inputs.ttl ?? '15m', 'ttl')
        if (ttlMs < 1000) throw new Error('ttl must be at least 1s')
        if (ttlMs > maxTtlMs) throw new Error(`ttl must be at most ${maxTtlMs / 1000}s`)
        prefix = inputs.prefix === undefined ? 'envelope_' : String(inputs.prefix)
        if (!/^[a-z_][a-z0-9_]{0,30}$/.test(prefix)) throw new Error('prefix must be 1-31 lowercase letters, digits or _ and start with a letter or _')
      } catch (err) {
        throw fail(errorMessage(err))
      }
      const user = `${prefix}${Date.now().toString(36)}_${randomBytes(5).toString('hex')}`
      const password = randomPassword()
      const expiresAt = new Date(Date.now() + ttlMs)
      let admin: pg.Client
      try {
        admin = await connect(conn, { signal: ctx.signal, timeoutMs })
      } catch (err) {
        throw fail(`cannot connect to ${conn.host}:${conn.port}/${conn.database} as admin: ${safe(err)}`, err)
      }
      let created = false
      try {
        // best effort: expired logins from earlier opens go first; a failure here never fails the open
        await cleanupWith(admin, conn, prefix, timeoutMs).catch(() => undefined)
        const stmts = grantStatements(user, grant)
        await admin.query('BEGIN')
        // GRANTs rewrite the ACL of the database / schema / table rows: concurrent opens would fail with
        // "tuple concurrently updated", so grants by this provider take turns (a transaction-scoped lock)
        await admin.query('SELECT pg_advisory_xact_lock($1)', [GRANT_LOCK])
        await admin.query(
          `CREATE ROLE ${quoteIdent(user)} LOGIN PASSWORD ${quoteLiteral(scramSha256Verifier(password))} VALID UNTIL ${quoteLiteral(expiresAt.toISOString())}`,
        )
        await admin.query(`COMMENT ON ROLE ${quoteIdent(user)} IS ${quoteLiteral(MARKER + grant.database)}`)
        for (const s of stmts.database) await admin.query(s)
        await admin.query('COMMIT')
        created = true
        if (stmts.inDatabase.length) {
          const target = grant.database === conn.database ? admin : await connect(conn, { database: grant.database, signal: ctx.signal, timeoutMs })
          try {
            await target.query('BEGIN')
            await target.query('SELECT pg_advisory_xact_lock($1)', [GRANT_LOCK])
            for (const s of stmts.inDatabase) await target.query(s)
            await target.query('COMMIT')
          } catch (err) {
            await target.query('ROLLBACK').catch(() => {})
            throw err
          } finally {
            if (target !== admin) await target.end().catch(() => {})
          }
        }
      } catch (err) {
        await admin.query('ROLLBACK').catch(() => {})
        if (created) await dropLogin(admin, conn, user, grant.database, timeoutMs).catch(() => {})
        await admin.end().catch(() => {})
        throw fail(`creating a login in ${conn.host}:${conn.port}/${grant.database} failed: ${safe(err)}`, err)
      }
      await admin.end().catch(() => {})
      const value: JsonValue = {
        username: user,
        password,
        host: conn.host,
        port: conn.port,
        database: grant.database,
        url: credentialUrl(conn, user, password, grant.database),
        expiresAt: expiresAt.toISOString(),
      }
      return toEvalValue(value, [['password'], ['url']])
    },
  }
}
