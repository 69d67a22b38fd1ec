/**
 * Guessing which values are secrets (used by `envelope import` and by `env set`'s safety check, like the
 * `esc` CLI's "looks like a password" refusal): a secret-sounding NAME with a value that is not obviously
 * a placeholder, or a long high-entropy VALUE whatever its name.
 */

const SECRET_NAME =
  /(pass(word|wd|phrase)?|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|client[-_]?secret|credential|auth|signing[-_]?key|encryption[-_]?key|session[-_]?key|salt|dsn|webhook)/i
/** names that match the pattern but are not secrets */
const NOT_SECRET_NAME =
  /(^|_)(url|uri|host|port|user(name)?|id|file|path|dir|name|enabled|disabled|ttl|timeout|expir\w*|type|mode|region|version|length|count|header)$/i
const PLACEHOLDER = /^(|true|false|yes|no|on|off|null|none|changeme|change-me|todo|xxx+|\*+|<[^>]*>|\$\{[^}]*\})$/i

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  if (s.length === 0) return 0
  const counts = new Map<string, number>()
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1)
  let h = 0
  const n = [...s].length
  for (const k of counts.values()) {
    const p = k / n
    h -= p * Math.log2(p)
  }
  return h
}

/** Character classes present (lower, upper, digit, other). */
function classes(s: string): number {
  return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(s)).length
}

export interface SecretGuess {
  secret: boolean
  /** why (for the import summary) */
  reason?: 'name' | 'entropy' | 'credentials in URL' | 'private key'
}

export function guessSecret(name: string, value: string): SecretGuess {
  // `${…}` references are not literal secrets: the referenced value carries its own secretness
  // (`postgres://app:${db.password}@host` or `DB_PASSWORD: ${db.password}` store no secret)
  const v = value.trim().replace(/\$\{[^}]*\}/g, '')
  if (PLACEHOLDER.test(v)) return { secret: false }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v)) return { secret: true, reason: 'private key' }
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i.test(v)) return { secret: true, reason: 'credentials in URL' }
  if (SECRET_NAME.test(name) && !NOT_SECRET_NAME.test(name) && v.length >= 3) return { secret: true, reason: 'name' }
  // random-looking tokens: long, mixed, high entropy, no spaces (sentences and paths are not tokens)
  if (v.length >= 20 && !/\s/.test(v) && !/^[./~]/.test(v) && !/^https?:\/\//.test(v) && classes(v) >= 3 && entropy(v) >= 4)
    return { secret: true, reason: 'entropy' }
  return { secret: false }
}
