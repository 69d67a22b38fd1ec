/**
 * Importing a .env file into an environment definition: each variable becomes an entry under
 * `values.environmentVariables`; likely secrets (detect.ts), or those named by the caller, become
 * `fn::secret` (encrypted by the store when saved). An existing definition keeps everything else,
 * comments included; imported keys replace same-named ones.
 */
import { parse as parseDotenv } from 'dotenv'
import { isMap, parseDocument, type Document } from 'yaml'
import { UserError } from '../../../shared/errors.ts'
import { exactNode } from '../../../shared/format/yaml-exact.ts'
import { guessSecret, type SecretGuess } from './detect.ts'

export { guessSecret, entropy } from './detect.ts'

export interface ImportOptions {
  /** always secret */
  secret?: string[]
  /** never secret (wins over detection, not over `secret`) */
  plaintext?: string[]
  allSecret?: boolean
  /** guess from names/values (default true) */
  detect?: boolean
}

export interface ImportedVariable {
  name: string
  secret: boolean
  reason?: SecretGuess['reason'] | 'flag'
}

export interface ImportResult {
  yaml: string
  variables: ImportedVariable[]
}

/** Parses .env text (the `dotenv` package's grammar). */
export function parseEnvFile(text: string): Record<string, string> {
  return { ...parseDotenv(text) }
}

/** Merges the variables of `envText` into `existingYaml` (or a new definition). */
export function importDotenv(envText: string, existingYaml: string, opts: ImportOptions = {}): ImportResult {
  const vars = parseEnvFile(envText)
  const names = Object.keys(vars)
  if (names.length === 0) throw new UserError('invalid_input', 'the .env file defines no variables', { hint: 'lines look like NAME=value' })
  for (const n of [...(opts.secret ?? []), ...(opts.plaintext ?? [])]) {
    if (!(n in vars)) throw new UserError('invalid_input', `${n} (named by --secret/--plaintext) is not in the .env file`)
  }
  // uniqueKeys: false: the yaml package's duplicate check is quadratic; the core reports duplicates itself
  const doc: Document = parseDocument(existingYaml, { uniqueKeys: false })
  if (doc.contents === null) doc.contents = doc.createNode({})
  if (doc.errors.length > 0) throw new UserError('invalid_input', `the current definition is not valid YAML: ${doc.errors[0]!.message}`)
  if (!isMap(doc.contents)) throw new UserError('invalid_input', 'the current definition is not a YAML mapping')
  // an empty definition is stored as `{}`: grow it in block style
  if (doc.contents.items.length === 0) doc.contents.flow = false
  const result: ImportedVariable[] = []
  for (const name of names) {
    const value = vars[name]!
    let secret = false
    let reason: ImportedVariable['reason']
    if (opts.allSecret || opts.secret?.includes(name)) {
      secret = true
      reason = 'flag'
    } else if (!opts.plaintext?.includes(name) && opts.detect !== false) {
      const g = guessSecret(name, value)
      secret = g.secret
      reason = g.reason
    }
    // .env values are literal text: `${` would start an interpolation, `$${` is its escape
    const literal = value.replaceAll('${', () => '$${')
    doc.setIn(['values', 'environmentVariables', name], exactNode(doc, secret ? { 'fn::secret': literal } : literal))
    result.push({ name, secret, ...(reason ? { reason } : {}) })
  }
  return { yaml: doc.toString({ lineWidth: 0 }), variables: result }
}
