/**
 * `fn::rotate::postgres`: password rotation with two users (the "alternating users" scheme).
 *
 * The database has two login roles with the same privileges, e.g. `app_blue` and `app_green`. The state
 * says which one is current. A rotation sets a new password on the OTHER (inactive) user and makes it
 * current; the user that was current becomes `previous` and keeps its password. So credentials handed out
 * before a rotation keep working until the next rotation, and the ones from two rotations ago stop working:
 * an application that re-reads the environment at least once between two rotations never sees a failed login.
 *
 *   inputs: {connection: <admin URL or object>, users: [app_blue, app_green], database?: <db for the URL>}
 *   state:  {current: {user, password}, previous?: {user, password}}
 *
 * Secret fields of the returned state are written as `{"fn::secret": "<password>"}` so that the store
 * encrypts them when it saves the state back into the document.
 */
import type pg from 'pg'
import type { JsonValue, ProviderContext, Rotator } from '../../shared/esc/host.ts'
import { connect, connectionSecrets, credentialUrl, parseConnection, quoteIdent, quoteLiteral } from './postgres.ts'
import type { AdminConnection } from './postgres.ts'
import { ProviderError, errorMessage, isObject, randomPassword, scramSha256Verifier, scrub, secretStrings, toEvalValue } from './util.ts'

const NAME = 'postgres rotator'

export const postgresRotatorSchema: JsonValue = {
  type: 'object',
  properties: {
    connection: { description: 'admin connection: postgres:// URL or {host, port, user, password, database}; keep it secret' },
    users: { type: 'array', items: { type: 'string' }, description: 'the two login roles that take turns' },
    database: { type: 'string', description: 'database named in the returned url (default: the admin connection database)' },
  },
  required: ['connection', 'users'],
}

/** The admin connection and the passwords in the state: what must never show in a message. */
function rotatorSecrets(inputs: JsonValue, state: JsonValue): string[] {
  const out = connectionSecrets(isObject(inputs) ? inputs.connection : undefined)
  if (isObject(state)) {
    for (const k of ['current', 'previous']) {
      const c = state[k]
      if (isObject(c)) out.push(...secretStrings(c.password))
    }
  }
  return out.sort((a, b) => b.length - a.length)
}

interface Cred {
  user: string
  password: string
}

/** `fn::secret` literals may come through unevaluated; take the plaintext either way. */
function plain(v: JsonValue | undefined): string | undefined {
  if (typeof v === 'string') return v
  if (isObject(v) && typeof v['fn::secret'] === 'string') return v['fn::secret']
  return undefined
}

function readCred(v: JsonValue | undefined, where: string): Cred | undefined {
  if (v === undefined || v === null) return undefined
  if (!isObject(v)) throw new Error(`state.${where} must be an object {user, password}`)
  const user = v.user
  const password = plain(v.password)
  if (typeof user !== 'string' || user === '') throw new Error(`state.${where}.user must be a role name`)
  if (password === undefined) throw new Error(`state.${where}.password must be a string`)
  return { user, password }
}

interface Parsed {
  conn: AdminConnection
  users: [string, string]
  database: string
  current?: Cred
  previous?: Cred
}

function parse(inputs: JsonValue, state: JsonValue): Parsed {
  if (!isObject(inputs)) throw new Error('inputs must be an object {connection, users: [userA, userB]}')
  const conn = parseConnection(inputs.connection)
  const users = inputs.users
  if (!Array.isArray(users) || users.length !== 2 || users.some((u) => typeof u !== 'string' || u === '') || users[0] === users[1]) {
    throw new Error('users must be a list of two different role names, e.g. [app_blue, app_green]')
  }
  const database = inputs.database === undefined ? conn.database : inputs.database
  if (typeof database !== 'string' || database === '') throw new Error('database must be a database name')
  if (state !== null && state !== undefined && !isObject(state)) throw new Error('state must be an object {current, previous}')
  const s = isObject(state) ? state : {}
  const current = readCred(s.current, 'current')
  const previous = readCred(s.previous, 'previous')
  if (current && !users.includes(current.user)) throw new Error(`state.current.user ${JSON.stringify(current.user)} is not one of users`)
  return { conn, users: users as [string, string], database, current, previous }
}

function credValue(p: Parsed, c: Cred): JsonValue {
  return {
    username: c.user,
    password: c.password,
    host: p.conn.host,
    port: p.conn.port,
    database: p.database,
    url: credentialUrl(p.conn, c.user, c.password, p.database),
  }
}

export function createPostgresRotator(options: { timeoutMs?: number } = {}): Rotator {
  const timeoutMs = options.timeoutMs ?? 10_000
  return {
    inputsSchema: postgresRotatorSchema,
    open(inputs: JsonValue, state: JsonValue, ctx: ProviderContext) {
      let p: Parsed
      try {
        p = parse(inputs, state)
      } catch (err) {
        return Promise.reject(new ProviderError(NAME, errorMessage(err)))
      }
      if (!p.current) {
        return Promise.reject(
          new ProviderError(NAME, `no credentials yet: run \`envelope env rotate ${ctx.environment}\` once to set the first password`, {
            hint: 'rotation writes the first credentials into the state',
          }),
        )
      }
      const value = credValue(p, p.current) as { [key: string]: JsonValue }
      const secretPaths: string[][] = [['password'], ['url']]
      if (p.previous) {
        value.previous = credValue(p, p.previous)
        secretPaths.push(['previous', 'password'], ['previous', 'url'])
      }
      return Promise.resolve(toEvalValue(value, secretPaths))
    },
    async rotate(inputs: JsonValue, state: JsonValue, ctx: ProviderContext) {
      const secrets = rotatorSecrets(inputs, state)
      const safe = (err: unknown): string => scrub(errorMessage(err), secrets)
      // diagnostics carry only the message: the hint is appended to it
      const fail = (message: string, hint?: string): ProviderError =>
        new ProviderError(NAME, hint ? `${message}; ${hint}` : message, hint ? { hint } : undefined)
      let p: Parsed
      try {
        p = parse(inputs, state)
      } catch (err) {
        throw fail(errorMessage(err))
      }
      const next = p.current ? (p.users[0] === p.current.user ? p.users[1] : p.users[0]) : p.users[0]
      const password = randomPassword()
      let admin: pg.Client
      try {
        admin = await connect(p.conn, { signal: ctx.signal, timeoutMs })
      } catch (err) {
        throw fail(`cannot connect to ${p.conn.host}:${p.conn.port}/${p.conn.database} as admin: ${safe(err)}`)
      }
      try {
        const exists = await admin.query('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [next])
        if (exists.rowCount === 0) {
          throw fail(
            `role ${JSON.stringify(next)} does not exist`,
            `create both users with the same privileges first, e.g. CREATE ROLE ${quoteIdent(next)} LOGIN IN ROLE <app_role>`,
          )
        }
        await admin.query(`ALTER ROLE ${quoteIdent(next)} WITH LOGIN PASSWORD ${quoteLiteral(scramSha256Verifier(password))}`)
      } catch (err) {
        if (err instanceof ProviderError) throw err
        throw fail(`changing the password of ${JSON.stringify(next)} failed: ${safe(err)}`)
      } finally {
        await admin.end().catch(() => {})
      }
      const newState: { [key: string]: JsonValue } = { current: { user: next, password: { 'fn::secret': password } } }
      if (p.current) newState.previous = { user: p.current.user, password: { 'fn::secret': p.current.password } }
      return newState
    },
  }
}
