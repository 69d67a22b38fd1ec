/**
 * Sync between the local store and a team server, revision by revision, so both histories match.
 *
 * Per environment the sync state records the last revision pair known to be equal (local n ↔ remote m).
 *   - only local moved  → push local n+1… to the server, each PATCH conditional on the server's ETag;
 *   - only remote moved → pull remote m+1… into the local store (each update conditional on the local revision);
 *   - both moved        → conflict: nothing is written; the user gets a three-way diff (base = the last synced
 *                         revision) and a merge proposal, and calls `resolve` with the final text;
 *   - never synced      → created on the side that lacks it (all revisions copied); equal content → linked;
 *                         different content → conflict (two-way, empty base).
 * Nothing is ever overwritten silently: every write on either side is conditional, a lost race is a conflict.
 * Offline (server unreachable) → a clear `io` error; local work continues and syncs later.
 *
 * The server token lives in the OS keychain (service `Envelope`, account `sync:<url>`); `<dataDir>/sync.json`
 * holds only the server URL, org, login, revision numbers and pending conflict revision numbers (no secrets).
 * Definitions travel in plaintext over the connection (use https) and are re-encrypted by each side's keys.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Entry } from '@napi-rs/keyring'
import { UserError } from '../../../shared/errors.ts'
import { serializeError } from '../../../shared/errors.ts'
import type { EnvironmentService } from '../../../shared/models.ts'
import type { SyncConflictView, SyncEnvStatus, SyncOutcome } from '../../../shared/sync-ipc.ts'
import { Remote } from './remote.ts'
import { threeWay } from './merge.ts'

/** What sync needs from the local store (EnvironmentStore provides it). */
export type LocalStore = Pick<EnvironmentService, 'list' | 'create' | 'getDefinition' | 'update'> & {
  recordAudit?(e: {
    action: 'sync.push' | 'sync.pull'
    target: string
    result?: 'ok' | 'denied' | 'error'
    detail?: Record<string, string | number>
  }): Promise<void>
}

/** A conflict: the three-way diff plus the revisions involved (the type the app receives, shared/sync-ipc.ts). */
export type SyncConflict = SyncConflictView

/** What one environment's sync did (shared/sync-ipc.ts). */
export type SyncResult = SyncOutcome

interface PendingConflict {
  local: number
  remote: number
  etag: string
}

interface SyncFile {
  server?: { url: string; org: string; login: string }
  /** per environment: the last equal revision pair */
  state: Record<string, { local: number; remote: number }>
  conflicts: Record<string, PendingConflict>
}

export interface SyncServiceOptions {
  store: LocalStore
  dataDir: string
  /** keychain service name (default `Envelope`; tests use their own) */
  keychainService?: string
  /**
   * Keeps the tokens of several data folders on one machine apart: the keychain account becomes
   * `sync:<url>#<scope>` (the CLI and the app pass their data folder, so both share one login per folder).
   */
  keychainScope?: string
}

/** Where one environment stands between the local store and the server (see `SyncService.environmentStatus`). */
/** Where an environment stands (shared/sync-ipc.ts); `synced` is the last revision pair known equal. */
export type SyncEnvironmentStatus = SyncEnvStatus

export class SyncService {
  private readonly store: LocalStore
  private readonly file: string
  private readonly service: string
  private readonly scope: string | undefined

  constructor(opts: SyncServiceOptions) {
    this.store = opts.store
    this.file = join(opts.dataDir, 'sync.json')
    this.service = opts.keychainService ?? 'Envelope'
    this.scope = opts.keychainScope
  }

  // ---------------------------------------------------------------- state and credentials
  private read(): SyncFile {
    try {
      const s = JSON.parse(readFileSync(this.file, 'utf8')) as SyncFile
      return { state: s.state ?? {}, conflicts: s.conflicts ?? {}, ...(s.server ? { server: s.server } : {}) }
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return { state: {}, conflicts: {} }
      throw new UserError('io', `cannot read the sync state ${this.file}: ${(err as Error).message}`)
    }
  }
  private write(s: SyncFile) {
    const tmp = `${this.file}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(s, null, 2), { mode: 0o600 })
    renameSync(tmp, this.file)
  }
  private entry(url: string): Entry {
    return new Entry(this.service, this.scope ? `sync:${url}#${this.scope}` : `sync:${url}`, { linux: { store: 'secret-service' } })
  }
  private keychain<T>(what: string, fn: () => T): T {
    try {
      return fn()
    } catch (err) {
      throw new UserError('keychain_unavailable', `the OS keychain is unavailable: cannot ${what} (${(err as Error).message})`, {
        hint: 'start or unlock your keyring (gnome-keyring/KWallet, macOS Keychain, Windows Credential Manager) and log in again',
        cause: err,
      })
    }
  }

  private remote(): { remote: Remote; file: SyncFile } {
    const file = this.read()
    if (!file.server) throw new UserError('unauthorized', 'not logged in to a sync server', { hint: 'log in first: envelope sync login <url> (with a token)' })
    const token = this.keychain('read the sync token', () => this.entry(file.server!.url).getPassword())
    if (!token) throw new UserError('unauthorized', `no token for ${file.server.url} in the OS keychain`, { hint: 'log in again' })
    return { remote: new Remote(file.server.url, token, file.server.org), file }
  }

  /** Checks the token against the server, stores it in the keychain, remembers the server. */
  async login(url: string, token: string, opts: { org?: string } = {}): Promise<{ url: string; login: string; org: string }> {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new UserError('invalid_input', `"${url}" is not a URL (expected e.g. https://envelope.example.com)`)
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new UserError('invalid_input', `unsupported scheme ${parsed.protocol} in ${url}`)
    const base = url.replace(/\/+$/, '')
    const user = await new Remote(base, token, opts.org ?? '').user()
    const org = opts.org ?? user.organizations[0]
    if (!org) throw new UserError('invalid_input', `${user.login} is not a member of any organization on ${base}`, { hint: 'pass the organization explicitly' })
    this.keychain('store the sync token', () => this.entry(base).setPassword(token))
    const file = this.read()
    const same = file.server?.url === base && file.server.org === org
    this.write({ server: { url: base, org, login: user.login }, state: same ? file.state : {}, conflicts: same ? file.conflicts : {} })
    return { url: base, login: user.login, org }
  }

  async logout(): Promise<void> {
    const file = this.read()
    if (!file.server) return
    this.keychain('delete the sync token', () => this.entry(file.server!.url).deleteCredential())
    this.write({ state: {}, conflicts: {} })
  }

  status(): { url: string; org: string; login: string } | undefined {
    return this.read().server
  }

  async listRemote(): Promise<string[]> {
    return this.remote().remote.list()
  }

  // ---------------------------------------------------------------- sync
  /** Syncs every local and remote environment (or the given ones). Offline → throws an `io` UserError. */
  async sync(opts: { environments?: string[] } = {}): Promise<SyncResult[]> {
    const { remote } = this.remote()
    const ids = opts.environments ?? [...new Set([...(await this.store.list()).map((e) => e.id), ...(await remote.list())])].sort()
    const results = new Map<string, SyncResult>()
    // Several passes: an environment whose import is not there yet (on either side) succeeds once it is.
    let todo = ids
    for (let pass = 0; pass < 3 && todo.length; pass++) {
      const again: string[] = []
      for (const id of todo) {
        const r = await this.syncOne(id, remote)
        results.set(id, r)
        if (r.action === 'error' && r.error?.code === 'invalid_input') again.push(id)
      }
      todo = again
    }
    return ids.map((id) => results.get(id)!)
  }

  private async localLatest(id: string): Promise<number | undefined> {
    try {
      return (await this.store.getDefinition(id)).revision
    } catch (err) {
      if (err instanceof UserError && err.code === 'not_found') return undefined
      throw err
    }
  }
  private async remoteLatest(remote: Remote, id: string): Promise<{ revision: number; etag: string; yaml: string } | undefined> {
    try {
      return await remote.definition(id)
    } catch (err) {
      if (err instanceof UserError && err.code === 'not_found') return undefined
      throw err
    }
  }
  /** A local revision's plaintext, or undefined when it was retracted (it cannot be read any more). */
  private async liveLocalYaml(id: string, version: number): Promise<string | undefined> {
    try {
      return await this.localYaml(id, version)
    } catch (err) {
      if (err instanceof UserError && err.code === 'not_found') return undefined
      throw err
    }
  }
  private localYaml(id: string, version: number) {
    return this.store.getDefinition(id, { version, decrypt: true }).then((d) => d.yaml)
  }

  private save(id: string, pair: { local: number; remote: number } | undefined, conflict?: PendingConflict) {
    const file = this.read()
    if (pair) file.state[id] = pair
    if (conflict) file.conflicts[id] = conflict
    else delete file.conflicts[id]
    this.write(file)
  }

  async syncOne(id: string, remoteArg?: Remote): Promise<SyncResult> {
    const remote = remoteArg ?? this.remote().remote
    const result: SyncResult = { environment: id, action: 'up-to-date', pushed: [], pulled: [] }
    try {
      return await this.syncInner(id, remote, result)
    } catch (err) {
      if (err instanceof UserError && err.code === 'io') throw err // offline: stop the whole sync
      await this.store.recordAudit?.({ action: 'sync.push', target: id, result: 'error', detail: { server: remote.url } }).catch(() => {})
      return { ...result, action: 'error', error: serializeError(err) }
    }
  }

  private async syncInner(id: string, remote: Remote, result: SyncResult): Promise<SyncResult> {
    const file = this.read()
    const state = file.state[id]
    const L = await this.localLatest(id)
    const R = await this.remoteLatest(remote, id)

    if (L === undefined && R === undefined) return result
    if (R === undefined) {
      // only local: create remotely and push every revision
      if (state) {
        throw new UserError(
          'not_found',
          `${id} was deleted on ${remote.url} after it was last synced; delete it locally or push it again after removing its sync state`,
        )
      }
      await remote.create(id)
      let head = await remote.definition(id)
      const first = await this.localYaml(id, 1)
      const from = first === '' ? 2 : 1
      for (let k = from; k <= L!; k++) {
        const yaml = await this.liveLocalYaml(id, k)
        if (yaml === undefined) continue // retracted locally: never published
        const up = await remote.update(id, yaml, head.etag)
        head = { ...head, revision: up.revision, etag: up.etag }
        result.pushed.push(k)
      }
      this.save(id, { local: L!, remote: head.revision })
      await this.store.recordAudit?.({ action: 'sync.push', target: id, detail: { server: remote.url, revisions: result.pushed.length } })
      return { ...result, action: 'created-remote' }
    }
    if (L === undefined) {
      if (state) throw new UserError('not_found', `${id} was deleted locally after it was last synced; it still exists on ${remote.url}`)
      const first = (await remote.definition(id, 1).catch(() => ({ yaml: '' }))).yaml
      let local = (
        await this.store.create(
          id,
          first ? { yaml: first, message: `sync: pulled revision 1 from ${remote.url}` } : { message: `sync: created from ${remote.url}` },
        )
      ).number
      for (let k = 2; k <= R.revision; k++) {
        const def = await remote.definition(id, k).catch((err: unknown) => {
          if (err instanceof UserError && err.code === 'not_found') return undefined // retracted on the server
          throw err
        })
        if (!def) continue
        local = (await this.store.update(id, def.yaml, { baseRevision: local, message: `sync: pulled revision ${k} from ${remote.url}` })).number
        result.pulled.push(k)
      }
      this.save(id, { local, remote: R.revision })
      await this.store.recordAudit?.({ action: 'sync.pull', target: id, detail: { server: remote.url, revisions: result.pulled.length } })
      return { ...result, action: 'created-local' }
    }

    if (!state) {
      const mine = await this.localYaml(id, L)
      if (mine === R.yaml) {
        this.save(id, { local: L, remote: R.revision })
        return { ...result, action: 'linked' }
      }
      return this.conflict(id, remote, result, { base: '', L, R })
    }

    const localMoved = L > state.local
    const remoteMoved = R.revision > state.remote
    if (!localMoved && !remoteMoved) {
      if (file.conflicts[id]) this.save(id, undefined)
      return result
    }
    if (localMoved && remoteMoved) {
      const [base, mine] = await Promise.all([this.localYaml(id, state.local), this.localYaml(id, L)])
      if (mine === R.yaml) {
        this.save(id, { local: L, remote: R.revision })
        return { ...result, action: 'linked' }
      }
      return this.conflict(id, remote, result, { base, L, R, pair: state })
    }
    if (localMoved) {
      let etag = R.etag
      let rev = R.revision
      for (let k = state.local + 1; k <= L; k++) {
        const yaml = await this.liveLocalYaml(id, k)
        if (yaml === undefined) continue // retracted locally: never published
        try {
          const up = await remote.update(id, yaml, etag)
          etag = up.etag
          rev = up.revision
        } catch (err) {
          // someone pushed in between: record what landed, then report the conflict
          if (err instanceof UserError && err.code === 'conflict') {
            if (result.pushed.length) this.save(id, { local: k - 1, remote: rev })
            return this.syncInner(id, remote, result)
          }
          throw err
        }
        result.pushed.push(k)
        this.save(id, { local: k, remote: rev })
      }
      await this.store.recordAudit?.({ action: 'sync.push', target: id, detail: { server: remote.url, revisions: result.pushed.length } })
      return { ...result, action: 'pushed' }
    }
    // remote moved only
    let local = L
    for (let k = state.remote + 1; k <= R.revision; k++) {
      const def = await remote.definition(id, k).catch((err: unknown) => {
        if (err instanceof UserError && err.code === 'not_found') return undefined
        throw err
      })
      if (!def) continue
      // conditional on the local revision: a local save racing with the pull is never overwritten
      local = (await this.store.update(id, def.yaml, { baseRevision: local, message: `sync: pulled revision ${k} from ${remote.url}` })).number
      result.pulled.push(k)
      this.save(id, { local, remote: k })
    }
    this.save(id, { local, remote: R.revision })
    await this.store.recordAudit?.({ action: 'sync.pull', target: id, detail: { server: remote.url, revisions: result.pulled.length } })
    return { ...result, action: 'pulled' }
  }

  private async conflict(
    id: string,
    remote: Remote,
    result: SyncResult,
    c: { base: string; L: number; R: { revision: number; etag: string; yaml: string }; pair?: { local: number; remote: number } },
  ): Promise<SyncResult> {
    const mine = await this.localYaml(id, c.L)
    const diff = threeWay(c.base, mine, c.R.yaml, { local: `local ${id}@${c.L}`, remote: `${remote.url} ${id}@${c.R.revision}` })
    this.save(id, undefined, { local: c.L, remote: c.R.revision, etag: c.R.etag })
    return {
      ...result,
      action: 'conflict',
      conflict: { ...diff, environment: id, localRevision: c.L, remoteRevision: c.R.revision, ...(c.pair ? { basePair: c.pair } : {}) },
    }
  }

  /**
   * Per environment (local ∪ remote, or the given ones): in sync, ahead (local revisions to push), behind
   * (server revisions to pull), diverged (both moved, or never synced with different text — the next sync
   * reports a conflict), conflict (a sync reported one that is not resolved yet), local-only, remote-only.
   * Reads the server; writes nothing. Offline → an `io` UserError.
   */
  async environmentStatus(opts: { environments?: string[] } = {}): Promise<SyncEnvironmentStatus[]> {
    const { remote, file } = this.remote()
    const ids = opts.environments ?? [...new Set([...(await this.store.list()).map((e) => e.id), ...(await remote.list())])].sort()
    const out: SyncEnvironmentStatus[] = []
    for (const id of ids) {
      const L = await this.localLatest(id)
      const R = await this.remoteLatest(remote, id)
      const synced = file.state[id]
      const st: SyncEnvironmentStatus = {
        environment: id,
        state: 'in-sync',
        ...(L !== undefined ? { localRevision: L } : {}),
        ...(R ? { remoteRevision: R.revision } : {}),
        ...(synced ? { synced } : {}),
      }
      const pending = file.conflicts[id]
      if (L === undefined && R === undefined) continue
      if (R === undefined) st.state = 'local-only'
      else if (L === undefined) st.state = 'remote-only'
      else if (pending && L === pending.local && R.revision === pending.remote) st.state = 'conflict'
      else if (!synced) st.state = (await this.localYaml(id, L)) === R.yaml ? 'in-sync' : 'diverged'
      else {
        const ahead = L > synced.local
        const behind = R.revision > synced.remote
        st.state = ahead && behind ? 'diverged' : ahead ? 'ahead' : behind ? 'behind' : 'in-sync'
      }
      out.push(st)
    }
    return out
  }

  /** The three-way diff of a pending conflict (as the sync that found it reported it). */
  async conflictDetails(id: string): Promise<SyncConflict> {
    const { remote, file } = this.remote()
    const c = file.conflicts[id]
    if (!c) throw new UserError('not_found', `no pending sync conflict for ${id}`, { hint: 'run `envelope sync` first; conflicts are found by a sync' })
    const pair = file.state[id]
    const [base, mine, theirs] = await Promise.all([
      pair ? this.localYaml(id, pair.local) : Promise.resolve(''),
      this.localYaml(id, c.local),
      remote.definition(id, c.remote).then((d) => d.yaml),
    ])
    const diff = threeWay(base, mine, theirs, { local: `local ${id}@${c.local}`, remote: `${remote.url} ${id}@${c.remote}` })
    return { ...diff, environment: id, localRevision: c.local, remoteRevision: c.remote, ...(pair ? { basePair: pair } : {}) }
  }

  /** Pending conflicts (environment → the revision pair the user must merge). */
  pendingConflicts(): Record<string, { local: number; remote: number }> {
    const out: Record<string, { local: number; remote: number }> = {}
    for (const [id, c] of Object.entries(this.read().conflicts)) out[id] = { local: c.local, remote: c.remote }
    return out
  }

  /**
   * Resolves a conflict with the user's final text: saved locally (conditional on the local revision the
   * conflict showed) and pushed (conditional on the server revision it showed). If either side moved again,
   * nothing is lost: the next sync reports a new conflict against the newer text.
   */
  async resolve(id: string, yaml: string): Promise<SyncResult> {
    const { remote, file } = this.remote()
    const c = file.conflicts[id]
    if (!c) throw new UserError('not_found', `no pending sync conflict for ${id}`, { hint: 'run sync first' })
    const local = (await this.store.update(id, yaml, { baseRevision: c.local, message: `sync: merged with ${remote.url} revision ${c.remote}` })).number
    // The local merge is now the newest local revision; the base stays the old pair until the push lands.
    let up: { revision: number }
    try {
      up = await remote.update(id, yaml, c.etag)
    } catch (err) {
      if (err instanceof UserError && err.code === 'conflict') {
        this.save(id, undefined)
        return this.syncOne(id, remote)
      }
      throw err
    }
    this.save(id, { local, remote: up.revision })
    await this.store.recordAudit?.({ action: 'sync.push', target: id, detail: { server: remote.url, merged: 1 } })
    return { environment: id, action: 'pushed', pushed: [local], pulled: [] }
  }
}
