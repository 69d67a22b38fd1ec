/** `env version …` (describe, history, tag, retract, rollback) and `env tag …` (environment tags). */
import { UserError } from '../../../shared/errors.ts'
import type { RevisionInfo } from '../../../shared/models.ts'
import { formatJson } from '../../../shared/format/index.ts'
import type { Cli } from '../context.ts'
import { splitRef } from '../../../shared/domain/names.ts'

function split(ref: string): { env: string; version?: string } {
  const { parts, version } = splitRef(ref)
  return { env: parts.join('/'), ...(version !== undefined ? { version } : {}) }
}

function needVersion(ref: string, what: string): { env: string; version: string } {
  const s = split(ref)
  if (!s.version) throw new UserError('invalid_input', `${what} needs a version: ${ref}@<revision or tag>`)
  return { env: s.env, version: s.version }
}

/** Resolves `env@version` to a revision number (through the store, so tags and `latest` work). */
async function revisionOf(cli: Cli, env: string, version: string): Promise<number> {
  const store = await cli.store()
  if (/^[0-9]+$/.test(version)) return Number(version)
  return (await store.getDefinition(env, { version })).revision
}

function time(iso: string, utc: boolean): string {
  if (utc)
    return iso
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC')
      .replace(/Z$/, ' UTC')
  const d = new Date(iso)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

function describe(r: RevisionInfo, utc: boolean): string {
  let s = `revision ${r.number}${r.tags.length ? ` (${r.tags.join(', ')})` : ''}\n`
  s += `Author: ${r.author}\nDate:   ${time(r.created, utc)}\n`
  if (r.retracted)
    s += `Retracted by ${r.retracted.by} at ${time(r.retracted.at, utc)}: replaced by revision ${r.retracted.replacement}${r.retracted.reason ? `; reason: ${r.retracted.reason}` : ''}\n`
  if (r.message) s += `\n    ${r.message.split('\n').join('\n    ')}\n`
  return s
}

export async function describeCommand(cli: Cli, ref: string, opts: { utc: boolean }): Promise<void> {
  const { env, version } = needVersion(ref, 'env version')
  const n = await revisionOf(cli, env, version)
  const store = await cli.store()
  const [r] = await store.listRevisions(env, { before: n + 1, count: 1 })
  if (!r || r.number !== n) throw new UserError('not_found', `${env} has no revision ${n}`)
  cli.out(describe(r, opts.utc))
}

export async function historyCommand(cli: Cli, ref: string, opts: { output: 'text' | 'json'; utc: boolean }): Promise<void> {
  const s = split(ref)
  const store = await cli.store()
  const before = s.version ? (await revisionOf(cli, s.env, s.version)) + 1 : undefined
  const all: RevisionInfo[] = []
  for (let b = before; ;) {
    const page = await store.listRevisions(s.env, { ...(b !== undefined ? { before: b } : {}), count: 500 })
    all.push(...page)
    if (page.length < 500) break
    b = page[page.length - 1]!.number
  }
  if (opts.output === 'json') cli.out(formatJson(all as never))
  else cli.out(all.map((r) => describe(r, opts.utc)).join('\n'))
}

export async function tagCommand(cli: Cli, ref: string, target: string | undefined): Promise<void> {
  const { env, version: tag } = needVersion(ref, 'env version tag')
  if (/^[0-9]/.test(tag) || tag === 'latest')
    throw new UserError('invalid_input', `${tag} cannot be used as a tag name`, { hint: 'tag names start with a letter (e.g. stable, prod)' })
  const v = target === undefined ? 'latest' : target.replace(/^@/, '')
  const n = await revisionOf(cli, env, v)
  const store = await cli.store()
  await store.tagRevision(env, tag, n)
  cli.out(`Tagged ${env}@${n} as ${tag}.\n`)
}

export async function tagLsCommand(cli: Cli, ref: string): Promise<void> {
  const store = await cli.store()
  const tags = await store.listRevisionTags(split(ref).env)
  cli.out(tags.map((t) => `${t.name}\t${t.revision}\n`).join(''))
}

export async function tagRmCommand(cli: Cli, ref: string): Promise<void> {
  const { env, version: tag } = needVersion(ref, 'env version tag rm')
  const store = await cli.store()
  await store.untagRevision(env, tag)
  cli.out(`Removed tag ${tag} from ${env}.\n`)
}

export async function retractCommand(cli: Cli, ref: string, opts: { replaceWith?: string; reason?: string }): Promise<void> {
  const { env, version } = needVersion(ref, 'env version retract')
  const n = await revisionOf(cli, env, version)
  const replacement = opts.replaceWith ? await revisionOf(cli, env, opts.replaceWith.replace(/^@/, '')) : undefined
  const store = await cli.store()
  await store.retract(env, n, { ...(replacement !== undefined ? { replacement } : {}), ...(opts.reason ? { reason: opts.reason } : {}) })
  cli.out(`Retracted ${env}@${n}.\n`)
}

export async function rollbackCommand(cli: Cli, ref: string, opts: { message?: string }): Promise<void> {
  const { env, version } = needVersion(ref, 'env version rollback')
  const n = await revisionOf(cli, env, version)
  const store = await cli.store()
  const rev = await store.rollback(env, n, { message: opts.message ?? `rollback to revision ${n}` })
  cli.out(`Rolled back ${env} to revision ${n}: new revision ${rev.number}.\n`)
}

export async function envTagCommand(cli: Cli, ref: string, name: string | undefined, value: string | undefined): Promise<void> {
  const store = await cli.store()
  if (name === undefined) {
    const tags = await store.getTags(ref)
    cli.out(
      Object.entries(tags)
        .map(([k, v]) => `${k}: ${v}\n`)
        .join(''),
    )
    return
  }
  if (value === undefined) {
    return envTagGetCommand(cli, ref, name)
  }
  await store.setTag(ref, name, value)
  cli.out(`Tagged ${ref} with ${name}: ${value}.\n`)
}

export async function envTagGetCommand(cli: Cli, ref: string, name: string): Promise<void> {
  const store = await cli.store()
  const tags = await store.getTags(ref)
  if (!(name in tags)) throw new UserError('not_found', `${ref} has no tag ${name}`)
  cli.out(`${tags[name]}\n`)
}

export async function envTagMvCommand(cli: Cli, ref: string, name: string, to: string): Promise<void> {
  const store = await cli.store()
  const tags = await store.getTags(ref)
  if (!(name in tags)) throw new UserError('not_found', `${ref} has no tag ${name}`)
  await store.setTag(ref, to, tags[name]!)
  await store.deleteTag(ref, name)
  cli.out(`Renamed tag ${name} to ${to} on ${ref}.\n`)
}

export async function envTagRmCommand(cli: Cli, ref: string, name: string): Promise<void> {
  const store = await cli.store()
  await store.deleteTag(ref, name)
  cli.out(`Removed tag ${name} from ${ref}.\n`)
}
