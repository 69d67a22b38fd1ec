/**
 * The export use case, once for the CLI (`envelope env export`) and the app (Export dialog): what an export
 * of an opened environment holds in each format, which `files` entries it leaves out, how many secrets the
 * exported part holds, and the audit event. The faces keep only the I/O (writing a file, a download, a
 * save dialog) and how they present the refusal and the files warning.
 * dotenv/shell hold `environmentVariables` only: `files` entries need temp files, which an exported file
 * cannot carry (use `envelope run` or the Run screen for those). Secrets are `[secret]` unless `reveal`.
 */
import type { EvalValue } from '../esc/host.ts'
import { formatEnvFile, formatJson, formatYaml, projectEnvironment, toPlainObject } from '../format/index.ts'
import type { ExportFormat } from '../ipc.ts'
import type { OpenResult } from '../models.ts'
import { exportEvent, type AuditRecord } from './audit.ts'
import { assertUsable } from './run-plan.ts'

/** Counts secret leaves (a secret object/array counts once). */
export function countSecrets(v: EvalValue | undefined): number {
  if (!v) return 0
  if (v.secret) return 1
  if (Array.isArray(v.value)) return v.value.reduce((n, x) => n + countSecrets(x), 0)
  if (v.value && typeof v.value === 'object') return Object.values(v.value).reduce((n, x) => n + countSecrets(x), 0)
  return 0
}

export interface ExportPlan {
  content: string
  /** suggested file name (`project-name.env`, `.sh`, `.json`, `.yaml`) */
  filename: string
  /** the content holds plaintext secret values */
  containsSecrets: boolean
  /** secret values in the exported part (revealed or not) */
  secretCount: number
  /** `files` entries a dotenv/shell export leaves out (the faces warn about them) */
  skippedFiles: string[]
  /** the audit event to record once the export has been handed out */
  audit: AuditRecord
}

/**
 * Renders the export of the opened environment `ref` in `format`. Throws the refusal (UserError with the
 * face's `hint`) when it has errors. `file` is the path the face writes to, for the audit record.
 */
export function planExport(
  ref: string,
  opened: OpenResult,
  format: ExportFormat,
  opts: { reveal: boolean; hint: string; file?: string | undefined },
): ExportPlan {
  assertUsable(ref, opened, 'export', opts.hint)
  const value = opened.value
  const base = ref.replace('/', '-')
  const audit = exportEvent({ environment: opened.environment, revision: opened.revision, format, file: opts.file })
  let content: string
  let secretCount: number
  let filename: string
  let skippedFiles: string[] = []
  if (format === 'dotenv' || format === 'shell') {
    const p = projectEnvironment(value, { reveal: opts.reveal })
    secretCount = countSecrets(value.environmentVariables)
    content = formatEnvFile(format, p.variables)
    filename = format === 'dotenv' ? `${base}.env` : `${base}.sh`
    skippedFiles = Object.keys(p.files)
  } else {
    secretCount = Object.values(value).reduce((n, v) => n + countSecrets(v), 0)
    const obj = toPlainObject(value, { reveal: opts.reveal })
    content = format === 'json' ? formatJson(obj) : formatYaml(obj)
    filename = `${base}.${format === 'json' ? 'json' : 'yaml'}`
  }
  return { content, filename, containsSecrets: opts.reveal && secretCount > 0, secretCount, skippedFiles, audit }
}
