/**
 * The audit events of the "use" use cases (run, export), built in one place so that every face (CLI, agent,
 * the app's API) records the same action with the same detail. `AuditEvent` (shared/models.ts) stays the
 * wire type; an `AuditRecord` is what a use case asks a store to record: the store adds id, time and user.
 * Details never hold a secret value: counts, names of commands and formats, revision numbers.
 */
import type { JsonValue } from '../esc/host.ts'
import type { AuditEvent } from '../models.ts'

/** An audit event before a store has recorded it (the shape of the stores' `recordAudit`). */
export interface AuditRecord {
  action: AuditEvent['action']
  target: string
  result?: AuditEvent['result']
  detail?: Record<string, JsonValue>
}

/**
 * Which face ran a command: the CLI records none (its records predate the others), the app its mode
 * (`electron` / `web`), the app's terminal launch `terminal`; the agent says `agent: true` instead.
 */
export type RunVia = 'electron' | 'web' | 'terminal'

export interface RunEventInput {
  environment: string
  revision: number
  /** the command's base name (never its arguments: they may hold substituted secrets) */
  command: string
  variables: number
  files: number
  masked: boolean
  via?: RunVia
  /** served by the agent */
  agent?: boolean
}

/** `run`: an environment's values were handed to a command. */
export function runEvent(e: RunEventInput): AuditRecord {
  return {
    action: 'run',
    target: e.environment,
    detail: {
      revision: e.revision,
      command: e.command,
      variables: e.variables,
      files: e.files,
      masked: e.masked,
      ...(e.via ? { via: e.via } : {}),
      ...(e.agent ? { agent: true } : {}),
    },
  }
}

export interface ExportEventInput {
  environment: string
  revision: number
  format: string
  /** the file written, when the face wrote one */
  file?: string | undefined
}

/** `export`: an environment's values left Envelope as text (a file or standard output). */
export function exportEvent(e: ExportEventInput): AuditRecord {
  return { action: 'export', target: e.environment, detail: { revision: e.revision, format: e.format, ...(e.file ? { file: e.file } : {}) } }
}

/**
 * The base name of a command as the audit records it: the last part of a path with either separator
 * (a pure stand-in for node:path's basename, which the domain may not use; Windows paths included).
 */
export function commandName(command: string): string {
  const trimmed = command.replace(/[\\/]+$/, '')
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'))
  return i === -1 ? trimmed : trimmed.slice(i + 1)
}
