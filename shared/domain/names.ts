/**
 * Names and references, written once: organization, project and environment names, `project/env`
 * ids, references `[org/]project/env[@version]` (a single segment `env` is the legacy form, project
 * `default`, as in the reference CLI), versions (a revision number, a tag or `latest`), revision-tag
 * names and environment-tag keys.
 *
 * Each kind has ONE rule and ONE error text. The checks return the text (or undefined) instead of
 * throwing, so every face wraps it in its own error: the local store and the CLI in a `UserError`,
 * the app API in a zod issue, the team server in its `HttpError(400)`, the renderer in a notice.
 * Before this module the rules lived in five places and the server's tag rule differed from the local
 * one; the single tag rule here is the one Pulumi ESC (and so the server) accepts.
 */
import { UserError } from '../errors.ts'

/** Project and environment names: 1-100 of `A-Z a-z 0-9 - _ .`, not starting with `.`. */
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/
/** Organization names (team server): 3-40 of `A-Z a-z 0-9 - _`, starting and ending with a letter or digit. */
const ORG = /^[A-Za-z0-9][A-Za-z0-9_-]{1,38}[A-Za-z0-9]$/
/** Revision tags: 1-100 of `A-Z a-z 0-9 - _ .`, and `:` `/` after the first character, not starting with a digit. */
const TAG = /^[A-Za-z_.-][A-Za-z0-9_.:/-]{0,99}$/

/** The built-in version name: always the newest revision; it cannot be set or moved as a tag. */
export const LATEST = 'latest'
/** The project of a legacy single-segment name (`env` means `default/env`). */
export const DEFAULT_PROJECT = 'default'
/** Limits of environment tags (key/value metadata of an environment, not of a revision). */
export const ENV_TAG_KEY_MAX = 255
export const ENV_TAG_VALUE_MAX = 4096

export type NameKind = 'project' | 'environment'

/** Why `name` is not a valid project or environment name, or undefined when it is. */
export function nameError(kind: NameKind, name: unknown): string | undefined {
  if (typeof name === 'string' && NAME.test(name)) return undefined
  return `invalid ${kind} name ${JSON.stringify(name)}: 1-100 letters, digits, '-', '_' or '.', not starting with '.'`
}

/** Why `org` is not a valid organization name (team server), or undefined when it is. */
export function orgNameError(org: unknown): string | undefined {
  if (typeof org === 'string' && ORG.test(org)) return undefined
  return `invalid organization name ${JSON.stringify(org)}: 3-40 letters, digits, - or _, starting and ending with a letter or digit`
}

/**
 * Why `tag` is not a valid revision-tag name, or undefined when it is. `latest` passes this rule (it is a
 * well-formed name) but is built in: callers that set or move a tag refuse it with `isLatest`.
 */
export function tagNameError(tag: unknown): string | undefined {
  if (typeof tag === 'string' && TAG.test(tag)) return undefined
  return `invalid tag name ${JSON.stringify(tag)}: 1-100 letters, digits, '-', '_', '.', ':' or '/', not starting with a digit, ':' or '/'`
}

/** Why `key` is not a valid environment-tag key (any text of 1-255 characters), or undefined. */
export function envTagKeyError(key: unknown): string | undefined {
  if (typeof key === 'string' && key !== '' && key.length <= ENV_TAG_KEY_MAX) return undefined
  return `invalid environment tag name ${JSON.stringify(key)}: a non-empty text of at most ${ENV_TAG_KEY_MAX} characters`
}

/** Why `value` is not a valid environment-tag value (any text of at most 4096 characters), or undefined. */
export function envTagValueError(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length <= ENV_TAG_VALUE_MAX) return undefined
  return `an environment tag value must be a text of at most ${ENV_TAG_VALUE_MAX} characters`
}

/** Why `id` is not a local environment id `project/env` (both parts named, no version), or undefined. */
export function envIdError(id: unknown): string | undefined {
  const shape = `must be project/name, not ${JSON.stringify(id)}`
  if (typeof id !== 'string') return shape
  const parts = id.split('/')
  if (parts.length !== 2) return shape
  return nameError('project', parts[0]) ?? nameError('environment', parts[1])
}

/** Whether `v` names the built-in `latest` version. */
export const isLatest = (v: unknown): boolean => v === LATEST

export interface EnvRef {
  project: string
  name: string
  /** `project/name` */
  id: string
  /** the text after `@`, when present */
  version?: string
}

export type Version = { kind: 'latest' } | { kind: 'number'; number: number } | { kind: 'tag'; tag: string }

/** A reference split at its first `@` and its `/`s, nothing checked: the shape every reader agrees on. */
export function splitRef(ref: string): { parts: string[]; version?: string } {
  const at = ref.indexOf('@')
  const path = at < 0 ? ref : ref.slice(0, at)
  return { parts: path.split('/'), ...(at < 0 ? {} : { version: ref.slice(at + 1) }) }
}

function fail(message: string, ref: string, part: string): never {
  throw new UserError('invalid_input', part === ref ? message : `${message} (in ${JSON.stringify(ref)})`)
}

/**
 * Parses a local reference `project/env[@version]` (or legacy `env[@version]`); throws an `invalid_input`
 * UserError naming the bad part. The local store has no organizations, so `org/project/env` is refused.
 */
export function parseRef(ref: string): EnvRef {
  if (typeof ref !== 'string' || ref.trim() === '') throw new UserError('invalid_input', 'an environment name is required (project/env)')
  const { parts, version } = splitRef(ref)
  if (parts.length > 2) {
    throw new UserError('invalid_input', `invalid environment name ${JSON.stringify(ref)}: the local store has no organizations`, {
      hint: 'use project/env (drop the organization)',
    })
  }
  const [project, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [DEFAULT_PROJECT, parts[0]!]
  const bad = nameError('project', project)
  if (bad) fail(bad, ref, project)
  const badName = nameError('environment', name)
  if (badName) fail(badName, ref, name)
  if (version !== undefined) parseVersion(version)
  return { project, name, id: `${project}/${name}`, ...(version !== undefined ? { version } : {}) }
}

/** Parses a version: number (or digits), `latest` (or nothing), or a tag name; throws `invalid_input`. */
export function parseVersion(v: string | number | undefined): Version {
  if (v === undefined || v === LATEST || v === '') return { kind: 'latest' }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 1) throw new UserError('invalid_input', `invalid revision number ${v}`)
    return { kind: 'number', number: v }
  }
  if (/^[0-9]/.test(v)) {
    if (!/^[0-9]+$/.test(v) || Number(v) < 1)
      throw new UserError('invalid_input', `invalid revision ${JSON.stringify(v)}: a version starting with a digit must be a revision number`)
    return { kind: 'number', number: Number(v) }
  }
  checkTagName(v)
  return { kind: 'tag', tag: v }
}

/**
 * A version, or undefined when it is malformed: for a face that answers a malformed version as an
 * unknown one (the server's 404), without an error of its own.
 */
export function tryParseVersion(v: string | number | undefined): Version | undefined {
  try {
    return parseVersion(v)
  } catch {
    return undefined
  }
}

/** Throws an `invalid_input` UserError when `tag` is not a valid revision-tag name. */
export function checkTagName(tag: string): void {
  const bad = tagNameError(tag)
  if (bad) throw new UserError('invalid_input', bad)
}

/**
 * The server's reading of an import or environment name: `project/env[@version]` or legacy `env`
 * (project `default`); undefined when the shape is wrong (more parts, an empty part). It checks the
 * shape only: the names themselves were checked when the environments were created.
 */
export function parseImportName(name: string): { project: string; env: string; version?: string } | undefined {
  const { parts, version } = splitRef(name)
  const v = version ? { version } : {}
  if (parts.length === 1 && parts[0]) return { project: DEFAULT_PROJECT, env: parts[0], ...v }
  if (parts.length === 2 && parts[0] && parts[1]) return { project: parts[0], env: parts[1], ...v }
  return undefined
}

/**
 * The local environment an import or link names, as the editor resolves it: the version dropped, a
 * single segment taken in `project`, an organization (`org/project/env`) dropped.
 */
export function importTarget(name: string, project: string): string {
  const { parts } = splitRef(name)
  if (parts.length >= 2) return parts.slice(-2).join('/')
  return `${project}/${parts[0] ?? ''}`
}

/** The project of a `project/env` id (the part before the first `/`). */
export const projectOf = (id: string): string => id.split('/')[0] ?? ''

/** The environment part of a `project/env` id. */
export const envPartOf = (id: string): string => id.split('/')[1] ?? ''

/**
 * Whether `name`, as a source range or a diagnostic names an environment (`project/env`, or just `env`
 * for the environment being evaluated), is the environment `id`.
 */
export const namesEnvironment = (name: string, id: string): boolean => name === id || name === envPartOf(id)
