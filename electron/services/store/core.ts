/**
 * The language core's functions the store uses (shared/esc/index.ts), behind one seam so the store's
 * calls into the core are easy to find.
 */
import { decryptSecrets, encodeEnvironmentDoc, encryptSecrets, evaluate, parseEnvironment, SYNTAX_FORMAT } from '../../../shared/esc/index.ts'
import type { EnvironmentDoc } from '../../../shared/esc/index.ts'
import { parseEnvironmentDoc } from '../../../shared/esc/syntax.ts'

/** The cached form of a definition's syntax tree (see shared/esc/syntax-cache.ts); undefined when not cacheable. */
function syntaxOf(name: string, yaml: string): string | undefined {
  return encodeEnvironmentDoc(parseEnvironment(name, yaml).doc)
}

/** A stored definition's syntax tree: decoded from its cached form when there is one, else parsed. */
function treeOf(name: string, doc: { yaml: string; syntax?: string | undefined }): EnvironmentDoc {
  return parseEnvironmentDoc(name, doc.yaml, undefined, doc.syntax)
}

export const core = { evaluate, encryptSecrets, decryptSecrets, syntaxOf, treeOf, SYNTAX_FORMAT }
export type Core = typeof core

export async function loadCore(): Promise<Core> {
  return core
}
