/**
 * Test harness for the team server: a real server on 127.0.0.1 (random port) over a real SQLite file in a temp
 * directory, or a fresh schema of the real PostgreSQL named by ENVELOPE_TEST_PG_URL (dropped afterwards), so
 * every test is independent. Setup goes through the HTTP management API, as an operator would.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { openDriver } from '../../server/db/driver.ts'
import { SqlRepository } from '../../server/db/repository.ts'
import { DataKeys, KeyRing, LocalKek } from '../../server/keys.ts'
import { buildServer } from '../../server/app.ts'
import type { ServerOptions } from '../../server/app.ts'
import { hashToken, mintToken } from '../../server/auth.ts'

export type Backend = 'sqlite' | 'postgres'

export const PG_URL = process.env.ENVELOPE_TEST_PG_URL

/** The backends to run: SQLite always, PostgreSQL when ENVELOPE_TEST_PG_URL is set. */
export const BACKENDS: Backend[] = PG_URL ? ['sqlite', 'postgres'] : ['sqlite']

export interface TestServer {
  url: string
  port: number
  adminToken: string
  repo: SqlRepository
  keys: DataKeys
  kek: LocalKek
  dbUrl: string
  schema: string | undefined
  /** JSON (or text) request with a token; returns status, headers and parsed body */
  call(
    token: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; body: unknown; text: string }>
  /** creates a user (and org membership when `org`), returns a token */
  user(login: string, opts?: { org?: string; orgRole?: 'admin' | 'member'; expiresInSeconds?: number }): Promise<string>
  close(): Promise<void>
}

export async function startServer(
  backend: Backend,
  opts: Partial<ServerOptions> & {
    org?: string
    kek?: LocalKek
    previous?: LocalKek[]
    /** another process on the same database */ sameDbAs?: TestServer
  } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'envelope-server-test-'))
  let schema: string | undefined
  let dbUrl: string
  const shared = opts.sameDbAs
  if (shared) {
    schema = shared.schema
    dbUrl = shared.dbUrl
  } else if (backend === 'postgres') {
    if (!PG_URL) throw new Error('ENVELOPE_TEST_PG_URL is not set (run: export ENVELOPE_TEST_PG_URL=$(bash test/pg.sh))')
    schema = 't_' + randomBytes(6).toString('hex')
    dbUrl = PG_URL
  } else {
    dbUrl = 'sqlite:' + join(dir, 'server.db')
  }
  const kek = opts.kek ?? new LocalKek(randomBytes(32))
  const keys = new DataKeys(new KeyRing(kek, opts.previous ?? []))
  const repo = await SqlRepository.open(openDriver(dbUrl, schema ? { pgSchema: schema } : {}))
  let adminToken = shared?.adminToken ?? ''
  if (!shared) {
    const admin = await repo.createUser({ login: 'root', name: 'Root Admin', siteAdmin: true })
    adminToken = mintToken()
    await repo.createToken(admin.id, hashToken(adminToken), { description: 'test bootstrap', expires: null })
  }
  const app = await buildServer({ repo, keys, logLevel: false, ...opts })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  const url = `http://127.0.0.1:${port}`

  const call: TestServer['call'] = async (token, method, path, body, headers = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: {
        ...(token ? { authorization: `token ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': typeof body === 'string' ? 'application/x-yaml' : 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, body: parsed, text }
  }

  if (opts.org && !shared) {
    const r = await call(adminToken, 'POST', '/api/orgs', { name: opts.org })
    if (r.status !== 201) throw new Error(`creating org failed: ${r.status} ${r.text}`)
  }

  const user: TestServer['user'] = async (login, o = {}) => {
    let r = await call(adminToken, 'POST', '/api/admin/users', { login, name: login.toUpperCase() })
    if (r.status !== 201 && r.status !== 409) throw new Error(`creating user failed: ${r.status} ${r.text}`)
    if (o.org) {
      r = await call(adminToken, 'PUT', `/api/orgs/${o.org}/members/${login}`, { role: o.orgRole ?? 'member' })
      if (r.status !== 204) throw new Error(`adding member failed: ${r.status} ${r.text}`)
    }
    r = await call(adminToken, 'POST', `/api/admin/users/${login}/tokens`, {
      description: `${login} test token`,
      ...(o.expiresInSeconds ? { expiresInSeconds: o.expiresInSeconds } : {}),
    })
    if (r.status !== 201) throw new Error(`creating token failed: ${r.status} ${r.text}`)
    return (r.body as { token: string }).token
  }

  return {
    url,
    port,
    adminToken,
    repo,
    keys,
    kek,
    dbUrl,
    schema,
    call,
    user,
    async close() {
      await app.close()
      await repo.close()
      rmSync(dir, { recursive: true, force: true })
      if (shared) return
      if (schema && PG_URL) {
        const c = new pg.Client({ connectionString: PG_URL })
        await c.connect()
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        await c.end()
      }
    },
  }
}
