/**
 * Compiler-style diagnostics:
 *
 *   app.yaml:4:12: error: unknown property "hots"
 *     url: https://${app.hots}
 *                    ^^^^^^^^
 *
 * Pure: the caller maps environment names to display names and source text.
 */
import type { Diagnostic } from '../esc/host.ts'

export interface DiagnosticSource {
  /** name shown before `:line:col` (a file path or `project/env@3`) */
  display: string
  /** source text, for the excerpt line and caret; omitted -> no excerpt */
  text?: string
}

export interface RenderOptions {
  /** environment name -> display name and source */
  source(environment: string): DiagnosticSource | undefined
  /** ANSI colours */
  color?: boolean
  /** used when a diagnostic has no range */
  fallback?: string
}

function paint(on: boolean | undefined, code: string, s: string): string {
  return on ? `\x1b[${code}m${s}\x1b[0m` : s
}

/** Renders one diagnostic as `where: severity: message`, then the source line and a caret under the range. */
export function renderDiagnostic(d: Diagnostic, opts: RenderOptions): string {
  const sev = d.severity === 'warning' ? paint(opts.color, '1;33', 'warning') : paint(opts.color, '1;31', 'error')
  const msg = d.path && !d.range ? `${d.summary} (at ${d.path})` : d.summary
  if (!d.range) return `${opts.fallback ?? '<input>'}: ${sev}: ${msg}\n`
  const src = opts.source(d.range.environment)
  const where = `${src?.display ?? d.range.environment}:${d.range.begin.line}:${d.range.begin.column}`
  let out = `${paint(opts.color, '1', where)}: ${sev}: ${msg}\n`
  const text = src?.text
  if (text === undefined) return out
  const lines = text.split(/\r?\n/)
  const line = lines[d.range.begin.line - 1]
  if (line === undefined) return out
  out += `  ${line}\n`
  const chars = [...line]
  const startCol = Math.max(1, d.range.begin.column)
  const endCol = d.range.end.line === d.range.begin.line ? Math.max(d.range.end.column, startCol + 1) : chars.length + 1
  // keep tabs so the caret lines up under tab-indented text
  const pad = chars
    .slice(0, startCol - 1)
    .map((c) => (c === '\t' ? '\t' : ' '))
    .join('')
  const width = Math.max(1, Math.min(endCol, chars.length + 1) - startCol)
  out += `  ${pad}${paint(opts.color, '1;32', '^'.repeat(width))}\n`
  return out
}

export function renderDiagnostics(ds: readonly Diagnostic[], opts: RenderOptions): string {
  return ds.map((d) => renderDiagnostic(d, opts)).join('')
}

export function countErrors(ds: readonly Diagnostic[]): number {
  return ds.filter((d) => d.severity !== 'warning').length
}
