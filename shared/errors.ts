/**
 * Error taxonomy shared by main, CLI, server and renderer (see docs/architecture.md).
 * - UserError: expected, caused by input or state; shown to the user as is (what failed, why, what to do).
 * - BugError: a defect; never thrown for invalid user input.
 * Errors cross IPC / HTTP as SerializedError and are rebuilt with fromSerialized().
 */
import type { Importer } from './models.ts'

export type ErrorCode =
  | 'not_found'
  | 'conflict'
  | 'invalid_input'
  | 'already_exists'
  | 'keychain_unavailable'
  | 'forbidden'
  | 'unauthorized'
  | 'provider_failed'
  | 'io'
  | 'cancelled'
  | 'in_use'
  | 'internal'

export class UserError extends Error {
  readonly code: ErrorCode
  readonly hint: string | undefined
  constructor(code: ErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'UserError'
    this.code = code
    this.hint = options?.hint
  }
}

/** A stale save: the caller edited `expected` but the environment is now at `actual`. */
export class ConflictError extends UserError {
  readonly expected: number
  readonly actual: number
  constructor(environment: string, expected: number, actual: number) {
    super('conflict', `${environment} was changed since revision ${expected} (now at revision ${actual}); your save was refused`, {
      hint: 'reload the environment, merge your edits, and save again',
    })
    this.name = 'ConflictError'
    this.expected = expected
    this.actual = actual
  }
}

/**
 * A delete refused because other environments use the one deleted (code `in_use`): `importers` says which,
 * how and where, so a face can list them and ask for an explicit confirmation (then delete with `force`).
 */
export class InUseError extends UserError {
  readonly importers: Importer[]
  constructor(
    environment: string,
    importers: Importer[],
    hint = 'remove those uses first, or delete anyway (envelope env rm --force; the app asks to confirm)',
  ) {
    const ids = [...new Set(importers.map((i) => i.id))]
    super('in_use', `${environment} is used by ${ids.length} environment${ids.length === 1 ? '' : 's'}: ${describeUses(importers)}; nothing was deleted`, {
      hint,
    })
    this.name = 'InUseError'
    this.importers = importers
  }
}

/** "c/app (imports lib, line 2), c/web (${environments.c.lib…}, line 5)" */
export function describeUses(importers: Importer[]): string {
  return importers.map((i) => `${i.id} (${i.via === 'import' ? `imports ${i.raw}` : `\${${i.raw}…}`}, line ${i.line})`).join(', ')
}

export class BugError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BugError'
  }
}

export interface SerializedError {
  name: string
  message: string
  code?: ErrorCode
  hint?: string
  data?: Record<string, unknown>
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof ConflictError) {
    return { name: err.name, message: err.message, code: err.code, hint: err.hint, data: { expected: err.expected, actual: err.actual } }
  }
  if (err instanceof InUseError) {
    return { name: err.name, message: err.message, code: err.code, ...(err.hint ? { hint: err.hint } : {}), data: { importers: err.importers } }
  }
  if (err instanceof UserError) {
    // errors carrying evaluator diagnostics (a save refused by the store: DefinitionError) keep them, so the
    // editor can show markers; diagnostics never hold secret values
    const diagnostics = (err as { diagnostics?: unknown }).diagnostics
    return {
      name: err.name,
      message: err.message,
      code: err.code,
      ...(err.hint ? { hint: err.hint } : {}),
      ...(Array.isArray(diagnostics) ? { data: { diagnostics } } : {}),
    }
  }
  if (err instanceof Error) return { name: err.name, message: err.message, code: 'internal' }
  return { name: 'Error', message: String(err), code: 'internal' }
}

export function fromSerialized(s: SerializedError): Error {
  if (s.name === 'ConflictError' && s.data) {
    const [env] = s.message.split(' was changed')
    return new ConflictError(env ?? '', Number(s.data.expected), Number(s.data.actual))
  }
  if (s.name === 'InUseError' && Array.isArray(s.data?.importers)) {
    const err = new InUseError('', s.data.importers as Importer[], s.hint)
    Object.defineProperty(err, 'message', { value: s.message })
    return err
  }
  if (s.code && s.code !== 'internal') return new UserError(s.code, s.message, s.hint ? { hint: s.hint } : undefined)
  const e = new Error(s.message)
  e.name = s.name
  return e
}
