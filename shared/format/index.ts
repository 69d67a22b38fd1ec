/**
 * Output formatters shared by `envelope open/eval/export` and the UI's copy-as actions. Pure.
 * Formats follow the `esc` CLI: json | yaml | dotenv | shell | string | detailed.
 */
import { setOwn } from '../esc/own.ts'
import { stringify as yamlStringify } from 'yaml'
import type { EvalValue, JsonValue } from '../esc/host.ts'
import { UserError } from '../errors.ts'
import { formatDotenv, formatShell } from './envfile.ts'
import { toPlain, UNKNOWN_MARK, SECRET_MARK } from './values.ts'
import { plainText } from './text.ts'

export { checkEnvironmentVariables, formatDotenv, formatShell, shellQuote, dotenvCanWrite } from './envfile.ts'
export { parsePath, formatPath, type PathSegment } from './paths.ts'
export * from './values.ts'
export { renderDiagnostic, renderDiagnostics, countErrors, type DiagnosticSource, type RenderOptions } from './diagnostics.ts'

export const VALUE_FORMATS = ['json', 'yaml', 'dotenv', 'shell', 'string', 'detailed'] as const
export type ValueFormat = (typeof VALUE_FORMATS)[number]

export function parseFormat(text: string, allowed: readonly ValueFormat[] = VALUE_FORMATS): ValueFormat {
  if ((allowed as readonly string[]).includes(text)) return text as ValueFormat
  throw new UserError('invalid_input', `unknown format ${JSON.stringify(text)}`, { hint: `use one of: ${allowed.join(', ')}` })
}

export function formatJson(v: JsonValue): string {
  return JSON.stringify(v, null, 2) + '\n'
}

export function formatYaml(v: JsonValue): string {
  return yamlStringify(v, { lineWidth: 0 })
}

/** The `string` format: a scalar as text; a list as comma-separated quoted items; an object as `"k"="v"` pairs. */
export function formatString(v: JsonValue): string {
  const text = (x: JsonValue): string => plainText(x, 'string')
  if (Array.isArray(v)) return v.map((e) => JSON.stringify(text(e))).join(',') + '\n'
  if (v !== null && typeof v === 'object') {
    return (
      Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}=${JSON.stringify(text(v[k]!))}`)
        .join(',') + '\n'
    )
  }
  return text(v) + '\n'
}

/** The `detailed` format: the typed value tree (value, secret, unknown, trace), secrets redacted unless reveal. */
export function detailedTree(v: EvalValue, reveal: boolean): JsonValue {
  const out: { [k: string]: JsonValue } = {}
  const x = v.value
  if (v.secret && !reveal && (v.unknown || x === null || typeof x !== 'object')) out.value = SECRET_MARK
  else if (v.unknown) out.value = UNKNOWN_MARK
  else if (Array.isArray(x)) out.value = x.map((e) => detailedTree(v.secret && !reveal ? { ...e, secret: true } : e, reveal))
  else if (x !== null && typeof x === 'object') {
    const o: { [k: string]: JsonValue } = {}
    for (const [k, e] of Object.entries(x)) setOwn(o, k, detailedTree(v.secret && !reveal ? { ...e, secret: true } : e, reveal))
    out.value = o
  } else out.value = x
  if (v.secret) out.secret = true
  if (v.unknown) out.unknown = true
  const trace: { [k: string]: JsonValue } = {}
  if (v.trace?.def) trace.def = v.trace.def as unknown as JsonValue
  if (v.trace?.base) trace.base = detailedTree(v.trace.base, reveal)
  out.trace = trace
  return out
}

/** Renders a value (whole environment or one property) in a non-env-file format. */
export function formatValue(format: Exclude<ValueFormat, 'dotenv' | 'shell'>, v: EvalValue, opts: { reveal: boolean }): string {
  switch (format) {
    case 'json':
      return formatJson(toPlain(v, opts))
    case 'yaml':
      return formatYaml(toPlain(v, opts))
    case 'string':
      return formatString(toPlain(v, opts))
    case 'detailed':
      return formatJson(detailedTree(v, opts.reveal))
  }
}

/** dotenv / shell over already-projected variables. */
export function formatEnvFile(format: 'dotenv' | 'shell', vars: Record<string, string>): string {
  return format === 'dotenv' ? formatDotenv(vars) : formatShell(vars)
}
