/**
 * HTTP client for an Envelope team server (the ESC API subset in server/). Errors become UserErrors that say
 * what failed: unreachable → `io` (offline: local changes are kept), 401 → `unauthorized`, 403 → `forbidden`,
 * 404 → `not_found`, 409 → `conflict`.
 */
import { parseRef } from '../../../shared/domain/names.ts'
import { UserError } from '../../../shared/errors.ts'

export interface RemoteDefinition {
  yaml: string
  revision: number
  etag: string
}

export interface RemoteUser {
  login: string
  organizations: string[]
}

export class Remote {
  readonly url: string
  readonly org: string
  private readonly token: string

  constructor(url: string, token: string, org: string) {
    this.url = url.replace(/\/+$/, '')
    this.token = token
    this.org = org
  }

  private env(id: string): string {
    const { project, name } = parseRef(id)
    return `/api/esc/environments/${encodeURIComponent(this.org)}/${encodeURIComponent(project)}/${encodeURIComponent(name)}`
  }

  async request(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Headers; text: string }> {
    let res: Response
    try {
      res = await fetch(this.url + path, {
        method,
        headers: { authorization: `token ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/x-yaml' } : {}), ...headers },
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(30_000),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      throw new UserError('io', `cannot reach the sync server ${this.url} (${cause?.code ?? cause?.message ?? (err as Error).message})`, {
        hint: 'you seem to be offline or the server is down; local changes are kept and will sync next time',
        cause: err,
      })
    }
    const text = await res.text()
    if (res.status < 400) return { status: res.status, headers: res.headers, text }
    let message = text
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text
    } catch {
      /* plain text */
    }
    const what = `${method} ${path} on ${this.url}: ${message}`
    if (res.status === 401) throw new UserError('unauthorized', what, { hint: 'log in again with a valid token (envelope sync login)' })
    if (res.status === 403) throw new UserError('forbidden', what, { hint: 'ask an administrator of the server for a role on this environment' })
    if (res.status === 404) throw new UserError('not_found', what)
    if (res.status === 409) throw new UserError('conflict', what)
    if (res.status === 429) throw new UserError('io', what, { hint: 'too many failed logins from this address; wait and retry' })
    throw new UserError(res.status < 500 ? 'invalid_input' : 'io', `${what} (HTTP ${res.status})`)
  }

  async user(): Promise<RemoteUser> {
    const r = await this.request('GET', '/api/user')
    const u = JSON.parse(r.text) as { githubLogin: string; organizations: { githubLogin: string }[] }
    return { login: u.githubLogin, organizations: u.organizations.map((o) => o.githubLogin) }
  }

  /** `project/name` ids of the org's environments the token can read */
  async list(): Promise<string[]> {
    const out: string[] = []
    let token = ''
    for (let page = 0; page < 10_000; page++) {
      const r = await this.request(
        'GET',
        `/api/esc/environments/${encodeURIComponent(this.org)}${token ? `?continuationToken=${encodeURIComponent(token)}` : ''}`,
      )
      const body = JSON.parse(r.text) as { environments: { project: string; name: string }[]; nextToken?: string }
      out.push(...body.environments.map((e) => `${e.project}/${e.name}`))
      if (!body.nextToken) break
      token = body.nextToken
    }
    return out
  }

  async exists(id: string): Promise<boolean> {
    try {
      await this.request('HEAD', this.env(id))
      return true
    } catch (err) {
      if (err instanceof UserError && err.code === 'not_found') return false
      throw err
    }
  }

  async create(id: string): Promise<void> {
    const { project, name } = parseRef(id)
    await this.request('POST', `/api/esc/environments/${encodeURIComponent(this.org)}`, JSON.stringify({ project, name }), {
      'content-type': 'application/json',
    })
  }

  /** Plaintext definition (needs the opener role) at `version` (default latest). */
  async definition(id: string, version?: number): Promise<RemoteDefinition> {
    const r = await this.request('GET', `${this.env(id)}${version === undefined ? '' : `/versions/${version}`}/decrypt`)
    return { yaml: r.text, revision: Number(r.headers.get('pulumi-esc-revision')), etag: r.headers.get('etag') ?? '' }
  }

  /** Saves a new revision only if the environment is still at `etag`; returns the new revision and ETag. */
  async update(id: string, yaml: string, etag: string): Promise<{ revision: number; etag: string }> {
    const r = await this.request('PATCH', this.env(id), yaml, { etag })
    return { revision: Number(r.headers.get('pulumi-esc-revision')), etag: r.headers.get('etag') ?? '' }
  }
}
