/**
 * Sync channels (shared/sync-ipc.ts) over SyncService: zod schemas and handlers, merged into
 * schemas.ts / handlers.ts. The service is created lazily (the keychain is touched only when used) and
 * scoped to the data folder, like the CLI, so `envelope sync login` and the app share one login.
 */
import { z } from 'zod'
import type { EnvironmentService } from '../../shared/models.ts'
import type { SyncRequestChannels } from '../../shared/sync-ipc.ts'
import { SyncService } from '../services/sync/index.ts'
import { envIdError, orgNameError } from '../../shared/domain/names.ts'
import { plainHttpWarning } from '../../shared/domain/plain-http.ts'
import { UserError } from '../../shared/errors.ts'
import type { LocalStore } from '../services/sync/index.ts'

/** A zod string checked by one of the domain's name rules (shared/domain/names.ts), with its error text. */
export const domainChecked = (error: (v: string) => string | undefined) =>
  z.string().superRefine((v, ctx) => {
    const message = error(v)
    if (message !== undefined) ctx.addIssue({ code: 'custom', message })
  })
/** `project/name`, by the domain rule; schemas.ts uses it too. */
export const envId = domainChecked(envIdError)
const empty = z.object({}).strict()

export const syncSchemas = {
  'sync.account': empty,
  'sync.login': z
    .object({
      url: z
        .string()
        .min(1)
        .max(2000)
        .regex(/^https?:\/\//, 'must start with https:// or http://'),
      token: z.string().min(1).max(1000).regex(/^\S+$/, 'one word, no spaces'),
      org: domainChecked(orgNameError).optional(),
      /** the user confirmed sending the token over plain http:// to another machine */
      insecure: z.boolean().optional(),
    })
    .strict(),
  'sync.logout': empty,
  'sync.status': z.object({ environments: z.array(envId).max(10000).optional() }).strict(),
  'sync.now': z.object({ environments: z.array(envId).max(10000).optional() }).strict(),
  'sync.conflict': z.object({ id: envId }).strict(),
  'sync.resolve': z.object({ id: envId, yaml: z.string().max(4 * 1024 * 1024) }).strict(),
} satisfies { [C in keyof SyncRequestChannels]: z.ZodType }

type SyncHandlers = { [C in keyof SyncRequestChannels]: (req: Parameters<SyncRequestChannels[C]>[0]) => ReturnType<SyncRequestChannels[C]> }

export function syncHandlers(ctx: { env: EnvironmentService; dataDir: string }): SyncHandlers {
  let service: SyncService | undefined
  const sync = () => (service ??= new SyncService({ store: ctx.env as LocalStore, dataDir: ctx.dataDir, keychainScope: ctx.dataDir }))
  return {
    'sync.account': async () => sync().status() ?? null,
    'sync.login': async (r) => {
      // checked here, not only in the UI: the token is never sent in clear without the user's yes
      const insecure = plainHttpWarning(r.url)
      if (insecure && !r.insecure)
        throw new UserError('invalid_input', `${insecure}; the token was not sent`, { hint: 'use https://, or confirm sending the token over plain HTTP' })
      return sync().login(r.url, r.token, r.org ? { org: r.org } : {})
    },
    'sync.logout': () => sync().logout(),
    'sync.status': (r) => sync().environmentStatus(r.environments ? { environments: r.environments } : {}),
    'sync.now': (r) => sync().sync(r.environments ? { environments: r.environments } : {}),
    'sync.conflict': (r) => sync().conflictDetails(r.id),
    'sync.resolve': (r) => sync().resolve(r.id, r.yaml),
  }
}
