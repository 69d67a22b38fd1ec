/**
 * zod schemas for every request of the IPC contract (shared/ipc.ts). Both transports (Electron IPC and
 * the web transport) validate with these before a handler runs; a bad request is an `invalid_input`
 * UserError naming the channel and the offending field.
 */
import { z } from 'zod'
import type { Channel, RequestOf } from '../../shared/ipc.ts'
import { UserError } from '../../shared/errors.ts'
import { envTagKeyError, envTagValueError, tagNameError } from '../../shared/domain/names.ts'
import { domainChecked, envId, syncSchemas } from './sync.ts'

const tag = domainChecked(tagNameError)
const envTagKey = domainChecked(envTagKeyError)
const version = z.union([z.number().int().nonnegative(), z.string().min(1).max(100)])
const revision = z.number().int().positive()
const yamlText = z.string().max(4 * 1024 * 1024)
const empty = z.object({}).strict()
const format = z.enum(['dotenv', 'json', 'yaml', 'shell'])
const session = z.string().uuid()

export const requestSchemas = {
  'app.info': empty,
  'store.version': empty,
  'env.list': empty,
  'env.create': z.object({ id: envId, yaml: yamlText.optional(), message: z.string().max(1000).optional() }).strict(),
  'env.get': z.object({ id: envId, version: version.optional(), decrypt: z.boolean().optional() }).strict(),
  'env.update': z.object({ id: envId, yaml: yamlText, baseRevision: z.number().int().nonnegative(), message: z.string().max(1000).optional() }).strict(),
  'env.delete': z.object({ id: envId, force: z.boolean().optional() }).strict(),
  'env.importers': z.object({ id: envId }).strict(),
  'env.clone': z.object({ from: envId, to: envId, keepHistory: z.boolean().optional() }).strict(),
  'env.revisions': z.object({ id: envId, before: z.number().int().optional(), count: z.number().int().positive().max(1000).optional() }).strict(),
  'env.tagRevision': z.object({ id: envId, tag, revision }).strict(),
  'env.untagRevision': z.object({ id: envId, tag }).strict(),
  'env.retract': z.object({ id: envId, revision, replacement: revision.optional(), reason: z.string().max(1000).optional() }).strict(),
  'env.rollback': z.object({ id: envId, revision, message: z.string().max(1000).optional() }).strict(),
  'env.getTags': z.object({ id: envId }).strict(),
  'env.setTag': z.object({ id: envId, key: envTagKey, value: domainChecked(envTagValueError) }).strict(),
  'env.deleteTag': z.object({ id: envId, key: envTagKey }).strict(),
  'env.open': z.object({ id: envId, version: version.optional() }).strict(),
  'env.check': z.object({ id: envId, yaml: yamlText }).strict(),
  'env.audit': z.object({ target: z.string().max(200).optional(), limit: z.number().int().positive().max(10000).optional() }).strict(),
  'env.rotate': z
    .object({
      id: envId,
      paths: z
        .array(
          z
            .string()
            .min(1)
            .max(500)
            .regex(/^[^\s]+$/, 'a value path without spaces, e.g. db or db.creds'),
        )
        .min(1)
        .max(100)
        .optional(),
    })
    .strict(),
  'env.graph': empty,
  'key.status': empty,
  'key.rotate': empty,
  'export.open': z.object({ id: envId }).strict(),
  'export.render': z.object({ id: envId, format, reveal: z.boolean(), session: session.optional() }).strict(),
  'export.save': z.object({ id: envId, format, reveal: z.boolean(), session: session.optional() }).strict(),
  'export.close': z.object({ session }).strict(),
  'run.start': z.object({ id: envId, argv: z.array(z.string().max(10000)).min(1).max(1000) }).strict(),
  'run.poll': z.object({ runId: z.string().min(1).max(100), since: z.number().int().nonnegative() }).strict(),
  'run.kill': z.object({ runId: z.string().min(1).max(100) }).strict(),
  'terminal.launch': z.object({ id: envId }).strict(),
  'settings.get': empty,
  'settings.set': z.object({ terminalCommand: z.string().max(2000).optional() }).strict(),
  'agent.status': empty,
  'agent.setAutostart': z.object({ autostart: z.boolean() }).strict(),
  'agent.stop': empty,
  ...syncSchemas,
} satisfies { [C in Channel]: z.ZodType }

/** Validates `raw` as the request of `channel`; throws an `invalid_input` UserError saying what and where. */
export function parseRequest<C extends Channel>(channel: C, raw: unknown): RequestOf<C> {
  const schema = requestSchemas[channel] as z.ZodType
  const res = schema.safeParse(raw ?? {})
  if (res.success) return res.data as RequestOf<C>
  const issue = res.error.issues[0]
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'request'
  throw new UserError('invalid_input', `invalid request to ${channel}: ${where}: ${issue?.message ?? 'invalid'}`, {
    hint: 'nothing was changed; correct it and try again',
  })
}
