/**
 * Test doubles of the domain's two interfaces: keys (one AES-256-GCM key per environment, payloads in the
 * envelope.ts v3 format with the environment as owner) and an in-memory storage of revisions and tags.
 */
import { randomBytes } from 'node:crypto'
import { AEAD } from '../../../electron/services/crypto/aead.ts'
import { openPayload, parsePayload, payloadOwner, sealPayload } from '../../../shared/domain/envelope.ts'
import type { DomainKeys, Ownership } from '../../../shared/domain/keys.ts'
import type { DomainStorage, ImportedDocument } from '../../../shared/domain/storage.ts'

const base = (environment: string): string => environment.split('@')[0]!

/** Keys per environment; `foreign` lists owners accepted as foreign (like the server's same-organization rule). */
export function testKeys(opts: { foreign?: string[]; failure?: Error } = {}): DomainKeys & { keyOf(env: string): Uint8Array } {
  const keys = new Map<string, Uint8Array>()
  const keyOf = (env: string): Uint8Array => {
    let k = keys.get(base(env))
    if (!k) keys.set(base(env), (k = randomBytes(32)))
    return k
  }
  return {
    keyOf,
    cipher: {
      encrypt: async (plain, env) => sealPayload(AEAD, keyOf(env), new Uint8Array(0), base(env), plain),
      decrypt: async (ct, env) => {
        const p = parsePayload(ct, 'server')
        const owner = payloadOwner(p)
        // a foreign owner's secret opens with its owner's key (as the server does for its organization)
        if (owner !== base(env) && !(owner !== undefined && opts.foreign?.includes(owner))) throw new Error(`not a secret of ${base(env)}`)
        return openPayload(AEAD, keyOf(owner ?? env), p)
      },
    },
    ownership: (payload, env): Ownership => {
      const owner = payloadOwner(parsePayload(payload, 'server'))
      if (owner === base(env)) return 'own'
      if (owner !== undefined && opts.foreign?.includes(owner)) return 'foreign'
      return { refused: `this secret belongs to ${owner ?? 'no environment'}` }
    },
    ...(opts.failure ? { failure: () => opts.failure } : {}),
  }
}

/** Revisions by environment (index 0 = revision 1), tags by `env:tag`, retracted revisions by `env@n`. */
export function testStorage(
  revisions: Record<string, string[]>,
  tags: Record<string, number> = {},
  retracted: string[] = [],
): DomainStorage & { loads: string[] } {
  const loads: string[] = []
  const find = (environment: string, version: string | number | undefined): { number: number; yaml: string } | undefined => {
    const revs = revisions[environment]
    if (!revs) return undefined
    const n =
      version === undefined || version === 'latest'
        ? revs.length
        : typeof version === 'number' || /^[0-9]+$/.test(version)
          ? Number(version)
          : tags[`${environment}:${version}`]
    if (n === undefined || n < 1 || n > revs.length || retracted.includes(`${environment}@${n}`)) return undefined
    return { number: n, yaml: revs[n - 1]! }
  }
  return {
    loads,
    resolve: async (environment, version) => {
      const [env, v] = environment.split('@') as [string, string | undefined]
      const r = find(env, version ?? v)
      if (!r) throw new Error(`${environment} has no readable revision ${String(version ?? v ?? 'latest')}`)
      return { environment: env, ...r }
    },
    loadImport: async (name): Promise<ImportedDocument | undefined> => {
      loads.push(name)
      const [env, v] = name.split('@') as [string, string | undefined]
      const r = find(env, v)
      return r && { name, yaml: r.yaml }
    },
  }
}
