/**
 * Glue between the HTTP layer and the pure language core (shared/esc): import loading inside one org with
 * permission checks, per-environment ciphers, the wire shapes (Value / Environment JSON, diagnostics), property
 * paths, and a cache of evaluated opens keyed by revision.
 *
 * Cache correctness: an open result is reused only when (a) no document in the import closure uses
 * `fn::open` / `fn::rotate` (dynamic values must be fetched on every open), (b) the root revision is the same
 * (revisions are immutable), and (c) every import that was resolved through `latest` still has the same latest
 * revision and the same environment id (checked against the database on every open, so several server processes
 * stay correct). Permissions on the imports are re-checked on every open.
 */
import type { CryptResult, Diagnostic, EvalResult, EvalValue, EvaluateOptions, JsonValue, ProviderRegistry, SecretCipher } from '../shared/esc/host.ts'
import { evaluateDocument, hasErrors, redact, showSecrets } from '../shared/domain/open.ts'
import { prepareSave } from '../shared/domain/save.ts'
import { parsePayload, payloadOwner } from '../shared/domain/envelope.ts'
import type { DomainKeys, Ownership } from '../shared/domain/keys.ts'
import { decryptSecrets, encryptSecrets, evaluate } from '../shared/esc/index.ts'
import type { EnvRecord, Repository, Role } from './db/repository.ts'
import { roleRank } from './db/repository.ts'
import type { DataKeys } from './keys.ts'
import { payloadEnvironmentId } from './keys.ts'
import type { OrgAuthz } from './auth.ts'
import { roleIn } from './auth.ts'
import { parseImportName, tryParseVersion } from '../shared/domain/names.ts'
import { tryParsePath } from '../shared/format/paths.ts'

export interface EscCore {
  evaluate(o: EvaluateOptions): Promise<EvalResult>
  encryptSecrets(source: string, key: SecretCipher): Promise<CryptResult>
  decryptSecrets(source: string, key: SecretCipher): Promise<CryptResult>
}

const core: EscCore = { evaluate, encryptSecrets, decryptSecrets }

/**
 * The team server does not run dynamic providers or rotators (they would act with the server's network access
 * and credentials). Every name is known, so definitions using them check and save normally (outputs unknown);
 * opening such an environment reports that it must be opened where providers run (the app or the CLI).
 */
const notRun = (kind: string, name: string) =>
  new Error(`${kind}::${name} is not run by the team server; open this environment with the Envelope app or CLI, where providers run`)
export const SERVER_PROVIDERS: ProviderRegistry = {
  provider: (name) => ({
    open: async () => {
      throw notRun('fn::open', name)
    },
  }),
  rotator: (name) => ({
    open: async () => {
      throw notRun('fn::rotate', name)
    },
    rotate: async () => {
      throw notRun('fn::rotate', name)
    },
  }),
}
/** The language core (shared/esc); async for callers written when it was loaded lazily. */
export async function loadCore(): Promise<EscCore> {
  return core
}

export class HttpError extends Error {
  readonly status: number
  readonly extra: Record<string, unknown> | undefined
  constructor(status: number, message: string, extra?: Record<string, unknown>) {
    super(message)
    this.status = status
    this.extra = extra
  }
}

/** Resolves a version reference (number, tag, `latest`; the domain's rule) to a live revision number, or undefined. */
export async function resolveVersion(repo: Repository, env: EnvRecord, version: string | undefined): Promise<number | undefined> {
  const v = tryParseVersion(version)
  if (v === undefined) return undefined
  const n = v.kind === 'latest' ? env.latest : v.kind === 'number' ? v.number : (await repo.getRevisionTag(env.id, v.tag))?.revision
  if (n === undefined || n < 1 || n > env.latest) return undefined
  if (v.kind === 'latest') return n
  const rev = await repo.getRevision(env.id, n)
  if (!rev || rev.retracted) return undefined
  return n
}

/** Wire shape of diagnostics (esc-api.md §0 Error body). */
export function wireDiagnostics(ds: Diagnostic[]): Record<string, unknown>[] {
  return ds.map((d) => ({
    summary: d.summary,
    severity: d.severity,
    ...(d.path ? { detail: d.path, path: d.path } : {}),
    ...(d.range ? { range: d.range } : {}),
  }))
}

export { hasErrors, redact }

/** Environment JSON: `{}` when empty, `properties` otherwise (secrets redacted unless `reveal`). */
export function environmentJson(value: Record<string, EvalValue> | undefined, opts: { reveal: boolean }): Record<string, unknown> {
  if (!value || Object.keys(value).length === 0) return {}
  return { properties: showSecrets(value, opts) }
}

/** A property path (`a.b[0]["c d"]`) by the one path rule (shared/format/paths.ts); a bad one is a 400 saying where. */
export function parsePropertyPath(path: string): (string | number)[] {
  const r = tryParsePath(path)
  if ('error' in r) throw new HttpError(400, `invalid property path "${path}" at offset ${r.error.offset}: ${r.error.message}`)
  return r.path
}

export function valueAtPath(props: Record<string, EvalValue> | undefined, path: (string | number)[]): EvalValue | undefined {
  const [first, ...rest] = path
  if (typeof first !== 'string' || !props) return undefined
  let cur: EvalValue | undefined = props[first]
  for (const seg of rest) {
    if (!cur) return undefined
    const v: EvalValue['value'] = cur.value
    if (typeof seg === 'number') cur = Array.isArray(v) ? v[seg] : undefined
    else cur = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, EvalValue>)[seg] : undefined
  }
  return cur
}

interface LoadedImport {
  envId: string
  revision: number
  pinned: boolean
  name: string
}

export interface CachedOpen {
  value: Record<string, EvalValue> | undefined
  diagnostics: Diagnostic[]
  imports: LoadedImport[]
}

const DYNAMIC = /fn::(open|rotate)\b/

/** Per-org evaluation: loader with permission checks and one cipher that picks each environment's data key. */
export class Evaluator {
  private readonly repo: Repository
  private readonly keys: DataKeys
  private readonly cache = new Map<string, CachedOpen>()
  /** `org/project/env` → ids of the environments its last cached open imported (fetched with the root next time) */
  private readonly importHints = new Map<string, string[]>()
  private readonly inflight = new Map<
    string,
    Promise<{ value: Record<string, EvalValue> | undefined; diagnostics: Diagnostic[]; cached: boolean; entry?: CachedOpen }>
  >()
  private readonly maxCache: number
  constructor(repo: Repository, keys: DataKeys, opts: { cacheEntries?: number } = {}) {
    this.repo = repo
    this.keys = keys
    this.maxCache = opts.cacheEntries ?? 2000
  }

  /**
   * A cipher for evaluations within `org`: a payload names its environment (keys.ts), which must be in `org`;
   * `guard` decides whether the caller may use another environment's secrets. Encryption goes by name.
   */
  orgCipher(org: string, known: EnvRecord[] = [], guard: (env: EnvRecord) => void = () => {}): SecretCipher {
    const envs = new Map<string, Promise<EnvRecord | undefined>>()
    const byId = new Map<string, Promise<EnvRecord | undefined>>()
    for (const e of known) {
      envs.set(`${e.project}/${e.name}`, Promise.resolve(e))
      byId.set(e.id, Promise.resolve(e))
    }
    const owner = async (id: string): Promise<EnvRecord> => {
      let e = byId.get(id)
      if (!e) {
        e = this.repo.getEnvironmentById(id)
        byId.set(id, e)
      }
      const env = await e
      if (!env || env.org !== org) throw new Error('this secret belongs to an environment that no longer exists or is outside this organization')
      guard(env)
      return env
    }
    const lookup = async (environment: string): Promise<EnvRecord> => {
      const p = parseImportName(environment)
      if (!p) throw new Error(`cannot find the data key of "${environment}"`)
      const k = `${p.project}/${p.env}`
      let e = envs.get(k)
      if (!e) {
        e = this.repo.getEnvironment(org, p.project, p.env)
        envs.set(k, e)
      }
      const env = await e
      if (!env) throw new Error(`cannot find the data key of "${environment}": no such environment`)
      return env
    }
    return {
      encrypt: async (plain, environment) => (await this.keys.cipher(await lookup(environment))).encrypt(plain, environment),
      decrypt: async (ct, environment) => {
        const id = payloadEnvironmentId(ct)
        const env = id !== undefined ? await owner(id) : await lookup(environment)
        return (await this.keys.cipher(env)).decrypt(ct, environment)
      },
    }
  }

  /**
   * The storage and keys of one evaluation in `org` (shared/domain/storage.ts, keys.ts): imports need
   * `importRole` on each imported environment, and so do secrets of other environments; what was refused is
   * collected in `denied` (the caller answers 403 once the evaluation is done), what was used in `imports`.
   */
  private session(opts: { org: string; authz: OrgAuthz; root?: EnvRecord | undefined; source: string; importRole: Role }) {
    const imports: LoadedImport[] = []
    const foreign = new Map<string, EnvRecord>()
    const denied: string[] = []
    const state = { dynamic: DYNAMIC.test(opts.source) }
    const repo = this.repo
    const loadImport = async (name: string) => {
      const p = parseImportName(name)
      if (!p) return undefined
      const env = await repo.getEnvironment(opts.org, p.project, p.env)
      if (!env) return undefined
      if (roleRank(roleIn(opts.authz, p.project, p.env)) < roleRank(opts.importRole)) {
        denied.push(`${p.project}/${p.env}`)
        return undefined
      }
      const n = await resolveVersion(repo, env, p.version)
      if (n === undefined) return undefined
      const rev = await repo.getRevision(env.id, n)
      if (!rev) return undefined
      if (DYNAMIC.test(rev.yaml)) state.dynamic = true
      imports.push({ envId: env.id, revision: n, pinned: p.version !== undefined && p.version !== 'latest', name })
      return { name: p.version ? `${p.project}/${p.env}@${p.version}` : `${p.project}/${p.env}`, yaml: rev.yaml }
    }
    const cipher = this.orgCipher(opts.org, opts.root ? [opts.root] : [], (env) => {
      if (env.id === opts.root?.id) return
      foreign.set(env.id, env)
      if (roleRank(roleIn(opts.authz, env.project, env.name)) < roleRank(opts.importRole)) {
        denied.push(`${env.project}/${env.name}`)
        throw new Error(`using secrets of ${env.project}/${env.name} requires the ${opts.importRole} role there`)
      }
    })
    const keys: DomainKeys = { cipher, ownership: (payload) => this.ownership(opts.org, opts.root, payload) }
    /** throws the 403 of what was refused; returns the imports (secrets of other environments count as pinned imports) */
    const finish = (what: string, name: string): LoadedImport[] => {
      if (denied.length) {
        const uniq = [...new Set(denied)]
        throw new HttpError(
          403,
          `forbidden: ${what} ${name} uses ${uniq.join(', ')} (imports or secrets), which requires the ${opts.importRole} role there; you do not have it`,
        )
      }
      // Secrets of other environments count like imports for the cache: their existence and the caller's role
      // are re-checked on every cached open (pinned: their content does not matter).
      for (const e of foreign.values()) imports.push({ envId: e.id, revision: 0, pinned: true, name: `${e.project}/${e.name}` })
      return imports
    }
    return { loadImport, keys, state, finish }
  }

  /**
   * The ciphertext ownership check of the save pipeline (shared/domain/save.ts) on the server: a payload of
   * `root` (or of the first format, which names no environment) is its own; another environment's payload
   * is kept when that environment is in the same organization and it authenticates with that environment's
   * key (using it checks the caller's role there, on every open), and refused otherwise.
   */
  private async ownership(org: string, root: EnvRecord | undefined, payload: Uint8Array): Promise<Ownership> {
    let owner: string | undefined
    try {
      owner = payloadOwner(parsePayload(payload, 'server'))
    } catch (err) {
      return { refused: (err as Error).message }
    }
    if (owner === undefined || owner === root?.id) return 'own'
    const env = await this.repo.getEnvironmentById(owner)
    if (!env || env.org !== org)
      return {
        refused:
          'this secret belongs to an environment that no longer exists or is outside this organization; re-enter its value instead of copying the ciphertext',
      }
    // authenticated with its owner's key (the plaintext is dropped; no role is needed to save it, only to use it)
    const cipher = await this.keys.cipher(env) // (a key that cannot be reached is the server's error, not the document's)
    try {
      await cipher.decrypt(payload, `${env.project}/${env.name}`)
    } catch {
      return { refused: `this secret of ${env.project}/${env.name} does not authenticate (corrupted); re-enter its value instead of copying the ciphertext` }
    }
    return 'foreign'
  }

  /**
   * Evaluates `source` as `project/env` in `org` (mode eval = open, check = symbolic). Imports need `importRole`
   * on each imported environment; a missing role is reported as a 403.
   */
  async run(opts: {
    org: string
    authz: OrgAuthz
    root?: EnvRecord
    name: string
    source: string
    mode: 'eval' | 'check'
    importRole: Role
    context?: Record<string, JsonValue>
  }): Promise<{ result: EvalResult; imports: LoadedImport[]; dynamic: boolean }> {
    const s = this.session(opts)
    const result = await evaluateDocument({
      name: opts.name,
      source: opts.source,
      mode: opts.mode,
      keys: s.keys,
      loadImport: s.loadImport,
      providers: SERVER_PROVIDERS,
      context: opts.context,
    })
    const imports = s.finish(opts.mode === 'eval' ? 'opening' : 'checking', opts.name)
    return { result, imports, dynamic: s.state.dynamic }
  }

  /**
   * The save pipeline (shared/domain/save.ts) for a PATCH of `env`'s definition: limits, parse, encryption of
   * plaintext secrets, validation (imports need the reader role), the ciphertext ownership check. Returns the
   * YAML to store and the warnings; a refused definition is a 400 with its diagnostics, a missing role on what
   * it uses a 403. The route appends the revision (with its ETag check).
   */
  async prepareSave(opts: {
    authz: OrgAuthz
    env: EnvRecord
    text: string
    context: Record<string, JsonValue>
  }): Promise<{ yaml: string; warnings: Diagnostic[] }> {
    const { env } = opts
    const name = `${env.project}/${env.name}`
    const s = this.session({ org: env.org, authz: opts.authz, root: env, source: opts.text, importRole: 'reader' })
    // plaintext secrets are sealed for `env` by its own data key (the org cipher encrypts by name)
    const own = await this.keys.cipher(env)
    const keys: DomainKeys = { ...s.keys, cipher: { encrypt: own.encrypt, decrypt: s.keys.cipher.decrypt } }
    const r = await prepareSave({ environment: name, text: opts.text, keys, loadImport: s.loadImport, providers: SERVER_PROVIDERS, context: opts.context })
    if (r.checked) s.finish('checking', name)
    if (!r.ok) throw new HttpError(400, 'the definition has errors', { diagnostics: wireDiagnostics(r.diagnostics) })
    return { yaml: r.yaml, warnings: r.diagnostics.filter((d) => d.severity === 'warning') }
  }

  /** Open (mode eval) with the revision cache. */
  async open(opts: {
    org: string
    authz: OrgAuthz
    env: EnvRecord
    revision: number
    /** the revision's stored YAML, read only when the cache cannot answer */
    source: () => Promise<string>
    context: Record<string, JsonValue>
    contextKey: string
    /** latest revisions already read with the root (see importHint) */
    knownLatest?: Map<string, number>
  }): Promise<{ value: Record<string, EvalValue> | undefined; diagnostics: Diagnostic[]; cached: boolean; entry?: CachedOpen }> {
    const key = `${opts.env.id}@${opts.revision}#${opts.contextKey}`
    const hit = this.cache.get(key)
    if (hit && (await this.stillValid(hit, opts.authz, opts.knownLatest))) return { value: hit.value, diagnostics: hit.diagnostics, cached: true, entry: hit }
    // Single flight: concurrent opens of the same revision share one evaluation.
    const running = this.inflight.get(key)
    if (running) {
      const r = await running
      if (r.entry) return { ...r, cached: true }
    }
    const p = this.evaluateOpen(key, opts)
    if (!running) this.inflight.set(key, p)
    try {
      return await p
    } finally {
      if (this.inflight.get(key) === p) this.inflight.delete(key)
    }
  }

  private async evaluateOpen(
    key: string,
    opts: Parameters<Evaluator['open']>[0],
  ): Promise<{ value: Record<string, EvalValue> | undefined; diagnostics: Diagnostic[]; cached: boolean; entry?: CachedOpen }> {
    const { result, imports, dynamic } = await this.run({
      org: opts.org,
      authz: opts.authz,
      root: opts.env,
      name: `${opts.env.project}/${opts.env.name}`,
      source: await opts.source(),
      mode: 'eval',
      importRole: 'opener',
      context: opts.context,
    })
    if (!dynamic && !hasErrors(result.diagnostics)) {
      if (this.cache.size >= this.maxCache) this.cache.delete(this.cache.keys().next().value!)
      const entry: CachedOpen = { value: result.value, diagnostics: result.diagnostics, imports }
      this.cache.set(key, entry)
      if (this.importHints.size > this.maxCache) this.importHints.clear()
      this.importHints.set(`${opts.env.org}/${opts.env.project}/${opts.env.name}`, [...new Set(imports.map((i) => i.envId))])
      return { value: result.value, diagnostics: result.diagnostics, cached: false, entry }
    }
    return { value: result.value, diagnostics: result.diagnostics, cached: false }
  }

  /** Ids to read together with the root environment, so a cached open needs one query. */
  importHint(org: string, project: string, name: string): string[] {
    return this.importHints.get(`${org}/${project}/${name}`) ?? []
  }

  private async stillValid(c: CachedOpen, authz: OrgAuthz, known?: Map<string, number>): Promise<boolean> {
    if (c.imports.length === 0) return true
    const floating = c.imports.filter((i) => !i.pinned)
    const ids = [...new Set(c.imports.map((i) => i.envId))]
    // `known` came from the same query as the root; an id missing from it means deleted (or not asked for).
    const latest = known && ids.every((id) => known.has(id)) ? known : await this.repo.latestRevisions(ids)
    for (const i of c.imports) {
      if (!latest.has(i.envId)) return false
      const p = parseImportName(i.name)!
      if (roleRank(roleIn(authz, p.project, p.env)) < roleRank('opener')) return false // re-evaluate → clear 403
    }
    for (const i of floating) if (latest.get(i.envId) !== i.revision) return false
    return true
  }
}
