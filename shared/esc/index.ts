/**
 * The pure ESC language core: parse, check, evaluate and rotate environments; encrypt/decrypt secrets
 * inline. No I/O: everything outside the document reaches it through the host interfaces (host.ts).
 */
import type { Diagnostic, Limits } from './host.ts'
import type { EnvironmentDoc } from './ast.ts'
import { parseEnvironmentDoc } from './syntax.ts'

export type * from './host.ts'
export { evaluate } from './eval.ts'
export { toJSON, objectToJSON } from './value.ts'
export { encodeEnvelope, decodeEnvelope, crc32 } from './envelope.ts'
export { bytesToBase64, base64ToBytes } from './base64.ts'
export { DEFAULT_LIMITS, clearParseCache } from './syntax.ts'
export { encodeEnvironmentDoc, decodeEnvironmentDoc, SYNTAX_FORMAT } from './syntax-cache.ts'
export type { EnvironmentDoc, Expr, ObjectExpr, BuiltinExpr, InterpExpr, Accessor } from './ast.ts'

/** Parses an environment definition with positions (for editors); diagnostics are the load diagnostics. */
export function parseEnvironment(name: string, source: string, limits?: Partial<Limits>): { doc: EnvironmentDoc; diagnostics: Diagnostic[] } {
  const doc = parseEnvironmentDoc(name, source, limits)
  return { doc, diagnostics: doc.diagnostics }
}
export { encryptSecrets, decryptSecrets } from './crypt.ts'
