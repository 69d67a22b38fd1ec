/**
 * The language core's functions the store uses (shared/esc/index.ts), behind one seam so the store's
 * calls into the core are easy to find.
 */
import { decryptSecrets, encodeEnvironmentDoc, encryptSecrets, evaluate, parseEnvironment, SYNTAX_FORMAT } from '../../../shared/esc/index.ts'

/** The cached form of a definition's syntax tree (see shared/esc/syntax-cache.ts); undefined when not cacheable. */
function syntaxOf(name: string, yaml: string): string | undefined {
  return encodeEnvironmentDoc(parseEnvironment(name, yaml).doc)
}

export const core = { evaluate, encryptSecrets, decryptSecrets, syntaxOf, SYNTAX_FORMAT }
export type Core = typeof core

export async function loadCore(): Promise<Core> {
  return core
}
