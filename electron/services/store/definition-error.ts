/**
 * How the local store reports a refused save: the first error with `file:line:col`, and all diagnostics as
 * data (the app marks them in the editor, the CLI prints them).
 */
import { UserError } from '../../../shared/errors.ts'
import type { Diagnostic } from '../../../shared/esc/host.ts'

/** The definition has errors: saving was refused. The message names the first one with file:line:col. */
export class DefinitionError extends UserError {
  readonly diagnostics: Diagnostic[]
  constructor(environment: string, diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error')
    const first = errors[0]!
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : ''
    super('invalid_input', `${formatDiagnostic(environment, first)}${more}; the definition was not saved`, {
      hint: 'fix the definition and save again',
    })
    this.name = 'DefinitionError'
    this.diagnostics = diagnostics
  }
}

/** `project/env:3:7: summary` (`values.a.b` when there is no range). */
export function formatDiagnostic(environment: string, d: Diagnostic): string {
  if (d.range) return `${d.range.environment}:${d.range.begin.line}:${d.range.begin.column}: ${d.summary}`
  return `${environment}${d.path ? ` (${d.path})` : ''}: ${d.summary}`
}
