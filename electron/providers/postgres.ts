/**
 * PostgreSQL plumbing shared by the `postgres-login` provider and the `postgres` rotator: the admin
 * connection input (URL or object), client lifetime bound to the evaluation's abort signal, and the
 * connection details handed back to applications.
 */
import type pg from 'pg'
import type { JsonValue } from '../../shared/esc/host.ts'
import { isObject, secretStrings } from './util.ts'

export interface AdminConnection {
  /** what pg.Client gets */
  config: pg.ClientConfig
  host: string
  port: number
  database: string
  /** query string of the admin URL (e.g. `sslmode=require`), kept for the URLs handed out */
  search: string
}

/**
 * Reads `connection`: a `postgres://user:password@host:port/db?sslmode=...` URL or an object
 * `{host, port?, user, password?, database?, ssl?}`. Errors name the input, never its value.
 */
export function parseConnection(input: JsonValue | undefined): AdminConnection {
  if (typeof input === 'string') {
    let url: URL
    try {
      url = new URL(input)
    } catch {
      throw new Error('connection is not a valid URL (expected postgres://user:password@host:port/database)')
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      throw new Error(`connection URL must start with postgres:// or postgresql:// (got ${url.protocol}//)`)
    }
    const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres'
    return {
      config: { connectionString: input },
      host: url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
      port: url.port ? Number(url.port) : 5432,
      database,
      search: url.search,
    }
  }
  if (isObject(input)) {
    const str = (k: string): string | undefined => {
      const v = input[k]
      if (v === undefined || v === null) return undefined
      if (typeof v !== 'string') throw new Error(`connection.${k} must be a string`)
      return v
    }
    const host = str('host')
    const user = str('user') ?? str('username')
    if (!host) throw new Error('connection.host is required')
    if (!user) throw new Error('connection.user is required')
    const portIn = input.port
    const port = portIn === undefined || portIn === null ? 5432 : Number(portIn)
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error('connection.port must be a port number')
    const database = str('database') ?? 'postgres'
    const ssl = input.ssl
    const config: pg.ClientConfig = { host, port, user, database }
    const password = str('password')
    if (password !== undefined) config.password = password
    if (ssl === true) config.ssl = true
    else if (isObject(ssl)) config.ssl = ssl as pg.ClientConfig['ssl']
    return { config, host, port, database, search: ssl === true ? '?sslmode=require' : '' }
  }
  if (input === undefined || input === null) throw new Error('connection is required (an admin connection URL or object; keep it in fn::secret)')
  throw new Error('connection must be a postgres:// URL or an object {host, port, user, password, database}')
}

/** The strings of a connection input that must never show in a message: the URL and its password. */
export function connectionSecrets(input: JsonValue | undefined): string[] {
  const out = secretStrings(input)
  if (typeof input === 'string') {
    try {
      const pw = new URL(input).password
      if (pw) out.push(pw, decodeURIComponent(pw))
    } catch {
      // not a URL: the whole string is already listed
    }
  }
  return out.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length)
}

/** Connects; the client is closed when `signal` aborts. Caller must `end()` it. */
export async function connect(conn: AdminConnection, opts: { database?: string; signal?: AbortSignal; timeoutMs: number }): Promise<pg.Client> {
  const config: pg.ClientConfig = { ...conn.config, connectionTimeoutMillis: opts.timeoutMs, statement_timeout: opts.timeoutMs }
  if (opts.database !== undefined && opts.database !== conn.database) {
    if (config.connectionString !== undefined) {
      const url = new URL(config.connectionString)
      url.pathname = `/${encodeURIComponent(opts.database)}`
      config.connectionString = url.toString()
    } else config.database = opts.database
  }
  // loaded on first connection: the CLI and the app should not pay for the driver at every start
  const { default: pgDriver } = await import('pg')
  const client = new pgDriver.Client(config)
  // a dropped connection emits 'error'; without a listener that would crash the process
  client.on('error', () => {})
  if (opts.signal?.aborted) throw new Error('cancelled')
  const onAbort = (): void => void client.end().catch(() => {})
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await client.connect()
  } catch (err) {
    opts.signal?.removeEventListener('abort', onAbort)
    await client.end().catch(() => {})
    throw err
  }
  client.once('end', () => opts.signal?.removeEventListener('abort', onAbort))
  return client
}

/** The URL an application uses for a credential (password URL-encoded). */
export function credentialUrl(conn: AdminConnection, user: string, password: string, database: string): string {
  const host = conn.host.includes(':') ? `[${conn.host}]` : conn.host
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${conn.port}/${encodeURIComponent(database)}${conn.search}`
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

export function quoteLiteral(s: string): string {
  // standard_conforming_strings is on by default since 9.1; E'' is not needed for our inputs
  return `'${s.replace(/'/g, "''")}'`
}
