/**
 * Helpers shared by the built-in providers and the plugin host: durations, secret-safe errors, output
 * values with per-field secrecy, SCRAM verifiers, bounded child-process output.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import type { EvalValue, JsonValue } from '../../shared/esc/host.ts'
import { UserError } from '../../shared/errors.ts'

/** A provider failure: becomes a diagnostic on the `fn::open` / `fn::rotate` call. Never carries a secret input. */
export class ProviderError extends UserError {
  readonly provider: string
  constructor(provider: string, message: string, options?: { hint?: string; cause?: unknown }) {
    super('provider_failed', `${provider}: ${message}`, options)
    this.name = 'ProviderError'
    this.provider = provider
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * Parses a duration: Go-style (`15m`, `1h30m`, `2s`, `500ms`, `1d`) or a number of seconds.
 * Throws a plain Error naming the bad input (the caller wraps it).
 */
export function parseDuration(input: JsonValue | undefined, what: string): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input <= 0) throw new Error(`${what} must be a positive number of seconds or a duration like "15m"`)
    return Math.round(input * 1000)
  }
  if (typeof input !== 'string') throw new Error(`${what} must be a duration like "15m", "1h30m" or "2s"`)
  const s = input.trim()
  if (/^\d+(\.\d+)?$/.test(s)) return parseDuration(Number(s), what)
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy
  let total = 0
  let matched = 0
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number)
    matched = re.lastIndex
  }
  if (matched !== s.length || s.length === 0 || total <= 0) {
    throw new Error(`${what} ${JSON.stringify(input)} is not a duration (use e.g. "15m", "1h30m", "2s", "500ms")`)
  }
  return Math.round(total)
}

/** Collects every string leaf of a JSON value (keys excluded), to scrub them from error text. */
export function secretStrings(...values: (JsonValue | undefined)[]): string[] {
  const out = new Set<string>()
  const walk = (v: JsonValue | undefined): void => {
    if (typeof v === 'string') {
      if (v.length >= 4) out.add(v)
    } else if (Array.isArray(v)) v.forEach(walk)
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk)
  }
  values.forEach(walk)
  // longest first so that a secret containing another is replaced whole
  return [...out].sort((a, b) => b.length - a.length)
}

/** Replaces every occurrence of the given strings with `[secret]`. */
export function scrub(text: string, secrets: string[]): string {
  let out = text
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[secret]')
  return out
}

/** Keeps the last `max` characters of a (stderr) text, one line per line, marked when cut. */
export function tail(text: string, max = 2000): string {
  const t = text.trim()
  return t.length <= max ? t : `…${t.slice(t.length - max)}`
}

/**
 * Builds an EvalValue tree from JSON, marking as secret the nodes at the given top-level keys or paths
 * (`secretPaths` entries are arrays of keys / indices), or everything when `allSecret`.
 */
export function toEvalValue(value: JsonValue, secretPaths: (string | number)[][] = [], allSecret = false): EvalValue {
  const build = (v: JsonValue, path: (string | number)[], secret: boolean): EvalValue => {
    const isSecret = secret || secretPaths.some((p) => p.length === path.length && p.every((k, i) => k === path[i]))
    let inner: EvalValue['value']
    if (Array.isArray(v)) inner = v.map((item, i) => build(item, [...path, i], isSecret))
    else if (v !== null && typeof v === 'object') {
      const o: { [key: string]: EvalValue } = {}
      for (const [k, item] of Object.entries(v)) o[k] = build(item, [...path, k], isSecret)
      inner = o
    } else inner = v
    return isSecret ? { value: inner, secret: true, trace: {} } : { value: inner, trace: {} }
  }
  return build(value, [], allSecret)
}

/** A random password: 32 bytes, base64url (no quoting issues in URLs, shells or SQL). */
export function randomPassword(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password. Sending the verifier instead of the
 * password keeps the plaintext out of PostgreSQL's statement log and pg_stat_activity.
 */
export function scramSha256Verifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16)
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  const storedKey = createHash('sha256').update(clientKey).digest()
  const serverKey = createHmac('sha256', salted).update('Server Key').digest()
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}

export function isObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
