/**
 * Environment references: `project/env`, optionally `@version` (a revision number, a tag, or `latest`).
 * A single segment `env` is the legacy form and means project `default`, as in the reference CLI.
 */
import { UserError } from '../../../shared/errors.ts'

const NAME = /^[A-Za-z0-9_.-]{1,100}$/

export interface EnvRef {
  project: string
  name: string
  /** `project/name` */
  id: string
  /** the text after `@`, when present */
  version?: string
}

export type Version = { kind: 'latest' } | { kind: 'number'; number: number } | { kind: 'tag'; tag: string }

function checkName(part: string, what: string, ref: string): void {
  if (!NAME.test(part) || part.startsWith('.')) {
    throw new UserError('invalid_input', `invalid ${what} name ${JSON.stringify(part)} in ${JSON.stringify(ref)}`, {
      hint: 'names are 1-100 characters from A-Z a-z 0-9 - _ . and do not start with "."',
    })
  }
}

/** Parses `project/env[@version]` (or legacy `env[@version]`). */
export function parseRef(ref: string): EnvRef {
  if (typeof ref !== 'string' || ref.trim() === '') throw new UserError('invalid_input', 'an environment name is required (project/env)')
  const at = ref.indexOf('@')
  const path = at < 0 ? ref : ref.slice(0, at)
  const version = at < 0 ? undefined : ref.slice(at + 1)
  const parts = path.split('/')
  if (parts.length > 2) {
    throw new UserError('invalid_input', `invalid environment name ${JSON.stringify(ref)}: the local store has no organizations`, {
      hint: 'use project/env (drop the organization)',
    })
  }
  const [project, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['default', parts[0]!]
  checkName(project, 'project', ref)
  checkName(name, 'environment', ref)
  if (version !== undefined) parseVersion(version)
  return { project, name, id: `${project}/${name}`, ...(version !== undefined ? { version } : {}) }
}

/** Parses a version: number (or digits), `latest`, or a tag name. */
export function parseVersion(v: string | number | undefined): Version {
  if (v === undefined || v === 'latest' || v === '') return { kind: 'latest' }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 1) throw new UserError('invalid_input', `invalid revision number ${v}`)
    return { kind: 'number', number: v }
  }
  if (/^[0-9]/.test(v)) {
    if (!/^[0-9]+$/.test(v) || Number(v) < 1) throw new UserError('invalid_input', `invalid revision ${JSON.stringify(v)}: a version starting with a digit must be a revision number`)
    return { kind: 'number', number: Number(v) }
  }
  checkTagName(v)
  return { kind: 'tag', tag: v }
}

/** Revision tag names: like environment names, and not starting with a digit (that would be a revision number). */
export function checkTagName(tag: string): void {
  if (!NAME.test(tag) || /^[0-9.]/.test(tag)) {
    throw new UserError('invalid_input', `invalid tag name ${JSON.stringify(tag)}`, {
      hint: 'tag names are 1-100 characters from A-Z a-z 0-9 - _ . and start with a letter, - or _',
    })
  }
}
