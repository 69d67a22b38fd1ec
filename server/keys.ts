/**
 * Secrets at rest: envelope encryption.
 *
 * Every environment has its own random 256-bit data key (DEK). Secret payloads inside definitions and sealed
 * open sessions are AES-256-GCM under that DEK. The DEK is stored wrapped by the server's key-encryption key
 * (KEK), together with the KEK id. KEK sources (bring your own key):
 *   - a key file (`--kek-file`, 32 bytes as base64 or hex, or 32 raw bytes),
 *   - an environment variable (`ENVELOPE_KEK`, base64),
 *   - an external KMS command (`--kms-command "<cmd>"`): run as `<cmd> wrap|unwrap|key-id`, base64 on stdin
 *     and stdout, so any KMS/HSM CLI can be plugged in.
 * Rotation without downtime: start processes with the new KEK as current and the old one as previous
 * (`--previous-kek-file` / `ENVELOPE_KEK_PREVIOUS`), then re-wrap (`--rewrap-keys` or POST /api/admin/keys/rewrap).
 * Both KEKs unwrap while the re-wrap runs; new DEKs are wrapped by the current KEK only.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { SecretCipher } from '../shared/esc/host.ts'
import { openPayload, parsePayload, payloadOwner, sealPayload } from '../shared/domain/envelope.ts'
import type { Aead } from '../shared/domain/envelope.ts'
import type { EnvRecord, Repository } from './db/repository.ts'

export interface Kek {
  readonly id: string
  wrap(dek: Buffer): Promise<string>
  unwrap(wrapped: string): Promise<Buffer>
}

const GCM_AAD_DEK = Buffer.from('envelope/dek/v1')

function gcmSeal(key: Buffer | KeyObject, plain: Uint8Array, aad?: Buffer): Buffer {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, iv)
  if (aad) c.setAAD(aad)
  const ct = Buffer.concat([c.update(plain), c.final()])
  return Buffer.concat([Buffer.from([1]), iv, ct, c.getAuthTag()])
}

function gcmOpen(key: Buffer | KeyObject, sealed: Uint8Array, aad?: Buffer): Buffer {
  const b = Buffer.from(sealed)
  if (b.length < 1 + 12 + 16 || b[0] !== 1) throw new Error('sealed data is malformed (unknown version or too short)')
  const d = createDecipheriv('aes-256-gcm', key, b.subarray(1, 13))
  if (aad) d.setAAD(aad)
  d.setAuthTag(b.subarray(b.length - 16))
  return Buffer.concat([d.update(b.subarray(13, b.length - 16)), d.final()])
}

/**
 * Secret payloads in definitions name their environment, so an org-wide evaluation (check, imports) finds the
 * right data key, and a ciphertext copied into another environment is recognised (and refused or permission-
 * checked) instead of being decrypted with the wrong authority. They are written in the one format shared with
 * the local store (shared/domain/envelope.ts, v3: no key id, as each environment has one data key; owner = the
 * environment id, bound as AAD). Payloads written before stay readable: v2 (0x02 ‖ id length ‖ environment id ‖
 * nonce ‖ ct ‖ tag, AAD = the id) and the first format (0x01 ‖ nonce ‖ ct ‖ tag, no AAD, no owner).
 */
export function payloadEnvironmentId(ct: Uint8Array): string | undefined {
  if (ct[0] !== 2 && ct[0] !== 3) return undefined
  try {
    return payloadOwner(parsePayload(ct, 'server'))
  } catch {
    return undefined
  }
}

/** node:crypto AES-256-GCM as the domain's payload format uses it (nonce ‖ ct ‖ tag). */
const AEAD: Aead<KeyObject> = {
  seal(key, plain, aad) {
    const iv = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', key, iv)
    c.setAAD(aad)
    const ct = Buffer.concat([c.update(plain), c.final()])
    return Buffer.concat([iv, ct, c.getAuthTag()])
  },
  open(key, sealed, aad) {
    if (sealed.length < 12 + 16) throw new Error('sealed data is malformed (too short)')
    const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
    const d = createDecipheriv('aes-256-gcm', key, b.subarray(0, 12))
    d.setAAD(aad)
    d.setAuthTag(b.subarray(b.length - 16))
    return Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()])
  },
}

const NO_KEY_ID = new Uint8Array(0)

function sealFor(key: KeyObject, envId: string, plain: Uint8Array): Uint8Array {
  return sealPayload(AEAD, key, NO_KEY_ID, envId, plain)
}

function openFor(key: KeyObject, envId: string, sealed: Uint8Array): Uint8Array {
  let env
  try {
    env = parsePayload(sealed, 'server')
  } catch {
    throw new Error('sealed data is malformed (unknown version or too short)')
  }
  const owner = payloadOwner(env)
  if (owner !== undefined && owner !== envId)
    throw new Error('this secret was encrypted for another environment; re-enter its value instead of copying the ciphertext')
  return openPayload(AEAD, key, env)
}

/** Parses 32 key bytes from base64, hex, or raw file content. */
export function parseKeyMaterial(raw: Buffer | string, where: string): Buffer {
  const text = typeof raw === 'string' ? raw.trim() : raw.toString('utf8').trim()
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex')
  const b64 = Buffer.from(text, 'base64')
  if (b64.length === 32 && /^[A-Za-z0-9+/_-]+=*$/.test(text)) return b64
  if (Buffer.isBuffer(raw) && raw.length === 32) return raw
  throw new Error(`${where}: a key-encryption key must be 32 bytes (base64 or hex encoded); got something else`)
}

export class LocalKek implements Kek {
  readonly id: string
  private readonly key: Buffer
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('a key-encryption key must be 32 bytes')
    this.key = key
    this.id = 'local:' + createHash('sha256').update(key).digest('hex').slice(0, 16)
  }
  async wrap(dek: Buffer) {
    return gcmSeal(this.key, dek, GCM_AAD_DEK).toString('base64')
  }
  async unwrap(wrapped: string) {
    return gcmOpen(this.key, Buffer.from(wrapped, 'base64'), GCM_AAD_DEK)
  }
}

function runCommand(command: string, arg: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `${command} ${arg}`], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(out.trim())
      // stderr of the KMS command is shown (it never sees plaintext on stderr from us), stdout is not.
      else reject(new Error(`KMS command "${command} ${arg}" failed with exit code ${code}: ${err.trim().slice(0, 500)}`))
    })
    child.stdin.end(input)
  })
}

/** An external KMS: `<cmd> wrap` / `<cmd> unwrap` read base64 on stdin and print base64; `<cmd> key-id` prints an id. */
export class CommandKek implements Kek {
  readonly id: string
  private readonly command: string
  private constructor(command: string, id: string) {
    this.command = command
    this.id = id
  }
  static async create(command: string): Promise<CommandKek> {
    const id = await runCommand(command, 'key-id', '')
    if (!id) throw new Error(`KMS command "${command} key-id" printed no key id`)
    return new CommandKek(command, 'kms:' + id)
  }
  async wrap(dek: Buffer) {
    return runCommand(this.command, 'wrap', dek.toString('base64'))
  }
  async unwrap(wrapped: string) {
    const out = Buffer.from(await runCommand(this.command, 'unwrap', wrapped), 'base64')
    if (out.length !== 32) throw new Error(`KMS command "${this.command} unwrap" returned ${out.length} bytes, expected 32`)
    return out
  }
}

export interface KeySourceOptions {
  kekFile?: string
  previousKekFiles?: string[]
  kekEnv?: string
  previousKekEnv?: string
  kmsCommand?: string
  /** KMS key ids still readable (a KMS command unwraps any of its own ids) */
}

/** The KEKs this process can use: the current one wraps, every one of them unwraps. */
export class KeyRing {
  readonly current: Kek
  private readonly all: Map<string, Kek>
  constructor(current: Kek, previous: Kek[] = []) {
    this.current = current
    this.all = new Map([current, ...previous].map((k) => [k.id, k]))
  }
  get(id: string): Kek | undefined {
    const k = this.all.get(id)
    if (k) return k
    // A KMS command can unwrap under its older key versions.
    if (id.startsWith('kms:') && this.current.id.startsWith('kms:')) return this.current
    return undefined
  }
  ids(): string[] {
    return [...this.all.keys()]
  }

  static async fromOptions(o: KeySourceOptions): Promise<KeyRing> {
    const previous: Kek[] = []
    for (const f of o.previousKekFiles ?? []) previous.push(new LocalKek(parseKeyMaterial(readFileSync(f), `previous KEK file ${f}`)))
    for (const v of (o.previousKekEnv ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      previous.push(new LocalKek(parseKeyMaterial(v, 'ENVELOPE_KEK_PREVIOUS')))
    }
    let current: Kek
    if (o.kmsCommand) current = await CommandKek.create(o.kmsCommand)
    else if (o.kekFile) current = new LocalKek(parseKeyMaterial(readFileSync(o.kekFile), `KEK file ${o.kekFile}`))
    else if (o.kekEnv) current = new LocalKek(parseKeyMaterial(o.kekEnv, 'ENVELOPE_KEK'))
    else {
      throw new Error(
        'no key-encryption key configured: pass --kek-file <file> (create one with --generate-kek <file>), set ENVELOPE_KEK, or pass --kms-command <cmd>',
      )
    }
    return new KeyRing(current, previous)
  }
}

/** Data keys: creation, unwrapping (cached per wrapped value), sealing, and re-wrapping on KEK rotation. */
export class DataKeys {
  private readonly ring: KeyRing
  private readonly cache = new Map<string, Buffer>()
  private readonly keyObjects = new WeakMap<Buffer, KeyObject>()
  constructor(ring: KeyRing) {
    this.ring = ring
  }
  get keyRing() {
    return this.ring
  }

  async create(): Promise<{ wrapped: string; kekId: string }> {
    const dek = randomBytes(32)
    const wrapped = await this.ring.current.wrap(dek)
    this.cache.set(wrapped, dek)
    return { wrapped, kekId: this.ring.current.id }
  }

  async dek(env: Pick<EnvRecord, 'dataKey' | 'kekId' | 'org' | 'project' | 'name'>): Promise<Buffer> {
    const hit = this.cache.get(env.dataKey)
    if (hit) return hit
    const kek = this.ring.get(env.kekId)
    if (!kek) {
      throw new Error(
        `the data key of ${env.org}/${env.project}/${env.name} is wrapped by KEK ${env.kekId}, which this server does not have (known: ${this.ring.ids().join(', ')}); start it with that key as --previous-kek-file`,
      )
    }
    const dek = await kek.unwrap(env.dataKey)
    if (this.cache.size > 10_000) this.cache.clear()
    this.cache.set(env.dataKey, dek)
    return dek
  }

  /** The data key as a KeyObject (built once per key: cheaper AES setup on every seal/open). */
  private async keyObject(env: Pick<EnvRecord, 'dataKey' | 'kekId' | 'org' | 'project' | 'name'>): Promise<KeyObject> {
    const dek = await this.dek(env)
    let k = this.keyObjects.get(dek)
    if (!k) {
      k = createSecretKey(dek)
      this.keyObjects.set(dek, k)
    }
    return k
  }

  /** The cipher of one environment's secrets (payloads carry its id; others' payloads are refused). */
  async cipher(env: EnvRecord): Promise<SecretCipher> {
    const key = await this.keyObject(env)
    return {
      encrypt: async (plaintext) => sealFor(key, env.id, plaintext),
      decrypt: async (ciphertext) => new Uint8Array(openFor(key, env.id, ciphertext)),
    }
  }

  async seal(env: EnvRecord, text: string): Promise<string> {
    return gcmSeal(await this.keyObject(env), Buffer.from(text, 'utf8')).toString('base64')
  }
  async unseal(env: EnvRecord, sealed: string): Promise<string> {
    return gcmOpen(await this.keyObject(env), Buffer.from(sealed, 'base64')).toString('utf8')
  }

  /** Re-wraps every data key not wrapped by the current KEK. Safe to run while serving and from several processes. */
  async rewrapAll(repo: Repository): Promise<{ rewrapped: number; total: number }> {
    let rewrapped = 0
    const all = await repo.listDataKeys()
    for (const k of all) {
      if (k.kekId === this.ring.current.id) continue
      const old = this.ring.get(k.kekId)
      if (!old) throw new Error(`cannot re-wrap the data key of environment ${k.id}: KEK ${k.kekId} is not configured`)
      const dek = await old.unwrap(k.dataKey)
      const wrapped = await this.ring.current.wrap(dek)
      if (await repo.replaceDataKey(k.id, k.dataKey, wrapped, this.ring.current.id)) {
        this.cache.set(wrapped, dek)
        rewrapped++
      }
    }
    return { rewrapped, total: all.length }
  }
}

export function generateKekText(): string {
  return randomBytes(32).toString('base64')
}
