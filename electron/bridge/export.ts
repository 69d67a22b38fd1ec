/**
 * Exports of an opened environment: dotenv, JSON, YAML and shell, rendered with the same formatters as
 * the CLI (shared/format). Secrets are written as `[secret]` unless `reveal` is set; the result says how
 * many secrets the exported part holds so the UI can warn before plaintext secrets reach a file.
 * dotenv/shell hold `environmentVariables` only: `files` entries need temp files, which an exported
 * file cannot carry (use `envelope run` or the Run screen for those).
 */
import type { EvalValue } from '../../shared/esc/host.ts'
import type { ExportFormat, ExportResult } from '../../shared/ipc.ts'
import type { OpenResult } from '../../shared/models.ts'
import { UserError } from '../../shared/errors.ts'
import { formatEnvFile, formatJson, formatYaml, projectEnvironment, toPlainObject } from '../../shared/format/index.ts'

/** Counts secret leaves (a secret object/array counts once). */
export function countSecrets(v: EvalValue | undefined): number {
  if (!v) return 0
  if (v.secret) return 1
  if (Array.isArray(v.value)) return v.value.reduce((n, x) => n + countSecrets(x), 0)
  if (v.value && typeof v.value === 'object') return Object.values(v.value).reduce((n, x) => n + countSecrets(x), 0)
  return 0
}

/** `environmentVariables` as name → text (secrets masked unless reveal). */
export function environmentVariables(value: Record<string, EvalValue> | undefined, reveal: boolean): Record<string, string> {
  return projectEnvironment(value, { reveal }).variables
}

export function renderExport(id: string, opened: OpenResult, format: ExportFormat, reveal: boolean): ExportResult {
  const errors = opened.diagnostics.filter((d) => d.severity === 'error')
  if (!opened.value || errors.length > 0) {
    const first = errors[0]
    const at = first?.range ? ` (${first.range.environment}:${first.range.begin.line}:${first.range.begin.column})` : ''
    throw new UserError('invalid_input', `cannot export ${id}: it has ${errors.length || 1} error(s)${first ? `, first: ${first.summary}${at}` : ''}`, {
      hint: 'fix the errors shown in the editor, save, and export again',
    })
  }
  const value = opened.value
  const base = id.replace('/', '-')
  let content: string
  let secretCount: number
  let filename: string
  if (format === 'dotenv' || format === 'shell') {
    secretCount = countSecrets(value.environmentVariables)
    content = formatEnvFile(format, environmentVariables(value, reveal))
    filename = format === 'dotenv' ? `${base}.env` : `${base}.sh`
  } else {
    secretCount = Object.values(value).reduce((n, v) => n + countSecrets(v), 0)
    const obj = toPlainObject(value, { reveal })
    content = format === 'json' ? formatJson(obj) : formatYaml(obj)
    filename = `${base}.${format === 'json' ? 'json' : 'yaml'}`
  }
  return { content, filename, containsSecrets: reveal && secretCount > 0, secretCount, diagnostics: opened.diagnostics }
}
