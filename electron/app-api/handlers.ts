/**
 * The main-side implementation of the IPC contract, shared by Electron IPC (electron/main/) and the
 * web transport (web-transport.ts). No Electron import here: the web transport runs under plain Node for `envelope ui`.
 *
 * dispatch() validates the channel name and the request (zod, schemas.ts), calls the handler, and
 * wraps the outcome as a Reply; errors cross as SerializedError. Unexpected (non-User) errors are
 * logged with the channel name only, never with request data (it may hold secrets).
 */
import type { EnvironmentService } from '../../shared/models.ts'
import type { AgentInfo, Channel, ExportFormat, Reply, RequestChannels, RequestOf, ResponseOf } from '../../shared/ipc.ts'
import { isChannel } from '../../shared/ipc.ts'
import { UserError, serializeError } from '../../shared/errors.ts'
import { parseRequest } from './schemas.ts'
import { buildGraph } from '../../shared/domain/graph.ts'
import { exportEvent, type AuditRecord } from '../../shared/domain/audit.ts'
import { planTerminal } from '../../shared/domain/run-plan.ts'
import { renderExport } from './export.ts'
import { ExportSessions } from './export-sessions.ts'
import { RunManager } from './runs.ts'
import type { RunIo } from './runs.ts'
import { SettingsStore } from './settings.ts'
import { defaultTerminalCommand, launchTerminal } from './terminal.ts'
import { syncHandlers } from './sync.ts'

export interface HandlerContext {
  env: EnvironmentService
  dataDir: string
  mode: 'electron' | 'web'
  version: string
  /**
   * Prepares `argv` with environment `id` injected: opens the environment (errors throw here, before
   * anything runs) and returns the injected variable names and the launch itself.
   */
  prepareRun(id: string, argv: string[]): Promise<{ variables: string[]; exec(io: RunIo): Promise<number> }>
  /**
   * The store's change token (store-watch.ts); absent (a context without a store file), `store.version`
   * answers a constant and the app simply never sees outside changes.
   */
  storeVersion?: () => string
  /** records an audit event of a use case run here (the terminal launch); the store adds id, time and user */
  recordAudit(e: AuditRecord): Promise<void>
  /** Electron only: native save dialog + write; returns the path, or undefined when cancelled */
  saveFile?: (suggestedName: string, content: string) => Promise<string | undefined>
  /**
   * The command-line agent of the data folder (electron/services/agent), over the real store (its
   * `agent.autostart` setting and key backend are not part of EnvironmentService); absent, the `agent.*`
   * channels fail with a UserError.
   */
  agent?: AgentControl
}

export interface AgentControl {
  info(): Promise<AgentInfo>
  /** turning it off also stops a running agent */
  setAutostart(on: boolean): Promise<AgentInfo>
  stop(): Promise<AgentInfo>
}

export type Handlers = { [C in Channel]: (req: RequestOf<C>) => Promise<ResponseOf<C>> }

export interface Dispatcher {
  dispatch(channel: string, raw: unknown): Promise<Reply<unknown>>
  handlers: Handlers
  close(): void
}

export function createDispatcher(ctx: HandlerContext): Dispatcher {
  const { env } = ctx
  const runs = new RunManager()
  const settings = new SettingsStore(ctx.dataDir)

  const agent = (): AgentControl => {
    if (!ctx.agent) throw new UserError('invalid_input', 'the command-line agent is not available here', { hint: 'use `envelope agent status` in a terminal' })
    return ctx.agent
  }

  const exports = new ExportSessions((id) => env.open(id))
  /** renders from the visit's opened result (or opens, without a session) */
  const render = async (id: string, format: ExportFormat, reveal: boolean, session: string | undefined) => {
    const opened = session === undefined ? await env.open(id) : exports.get(session, id)
    return { opened, out: renderExport(id, opened, format, reveal) }
  }

  const handlers: Handlers = {
    'app.info': async () => ({ mode: ctx.mode, version: ctx.version, platform: process.platform, dataDir: ctx.dataDir }),
    'store.version': async () => ({ version: ctx.storeVersion ? ctx.storeVersion() : 'static' }),
    'env.list': () => env.list(),
    'env.create': (r) => env.create(r.id, { ...(r.yaml !== undefined ? { yaml: r.yaml } : {}), ...(r.message ? { message: r.message } : {}) }),
    'env.get': (r) => env.getDefinition(r.id, { ...(r.version !== undefined ? { version: r.version } : {}), ...(r.decrypt ? { decrypt: true } : {}) }),
    'env.update': (r) => env.update(r.id, r.yaml, { baseRevision: r.baseRevision, ...(r.message ? { message: r.message } : {}) }),
    'env.delete': (r) => env.delete(r.id, r.force ? { force: true } : {}),
    'env.importers': (r) => env.importers(r.id),
    'env.clone': (r) => env.clone(r.from, r.to, r.keepHistory ? { keepHistory: true } : {}),
    'env.revisions': (r) => env.listRevisions(r.id, { ...(r.before !== undefined ? { before: r.before } : {}), ...(r.count ? { count: r.count } : {}) }),
    'env.tagRevision': (r) => env.tagRevision(r.id, r.tag, r.revision),
    'env.untagRevision': (r) => env.untagRevision(r.id, r.tag),
    'env.retract': (r) =>
      env.retract(r.id, r.revision, { ...(r.replacement ? { replacement: r.replacement } : {}), ...(r.reason ? { reason: r.reason } : {}) }),
    'env.rollback': (r) => env.rollback(r.id, r.revision, r.message ? { message: r.message } : {}),
    'env.getTags': (r) => env.getTags(r.id),
    'env.setTag': (r) => env.setTag(r.id, r.key, r.value),
    'env.deleteTag': (r) => env.deleteTag(r.id, r.key),
    'env.open': (r) => env.open(r.id, r.version !== undefined ? { version: r.version } : {}),
    'env.check': (r) => env.check(r.id, r.yaml),
    'env.audit': (r) => env.audit({ ...(r.target ? { target: r.target } : {}), ...(r.limit ? { limit: r.limit } : {}) }),
    'env.rotate': (r) => {
      if (!env.rotate) throw new UserError('invalid_input', 'this store cannot rotate secrets', { hint: 'update Envelope' })
      return env.rotate(r.id, r.paths ? { paths: r.paths } : {})
    },
    'env.graph': () => buildGraph(env),
    'key.status': () => env.keyStatus(),
    'key.rotate': async () => {
      const r = await env.rotateKey()
      // the agent still holds the old key (it would stop at its next request): stop it now, as `envelope key rotate` does
      await ctx.agent?.stop().catch(() => undefined)
      return r
    },
    'export.open': async (r) => ({ session: await exports.open(r.id) }),
    'export.render': async (r) => {
      const { opened, out } = await render(r.id, r.format, r.reveal, r.session)
      // plaintext secrets leave the main side here (shown, and downloadable as is): that is an export
      if (out.containsSecrets && exports.firstReveal(r.session, r.format))
        await ctx.recordAudit(exportEvent({ environment: opened.environment, revision: opened.revision, format: r.format }))
      return out
    },
    'export.save': async (r) => {
      if (!ctx.saveFile) throw new UserError('invalid_input', 'saving to a file needs the desktop app', { hint: 'in the browser, use Download' })
      const { opened, out } = await render(r.id, r.format, r.reveal, r.session)
      const path = await ctx.saveFile(out.filename, out.content)
      if (path) await ctx.recordAudit(exportEvent({ environment: opened.environment, revision: opened.revision, format: r.format, file: path }))
      return path ? { path, cancelled: false } : { cancelled: true }
    },
    'export.close': async (r) => exports.close(r.session),
    'run.start': async (r) => {
      const prepared = await ctx.prepareRun(r.id, r.argv)
      return { runId: runs.start(prepared.exec), variables: prepared.variables }
    },
    'run.poll': async (r) => runs.poll(r.runId, r.since),
    'run.kill': async (r) => runs.kill(r.runId),
    'terminal.launch': async (r) => {
      const command = (await settings.read()).terminalCommand.trim() || defaultTerminalCommand()
      // refused and audited like a run (shared/domain/run-plan.ts)
      const plan = planTerminal(r.id, await env.open(r.id), command, 'fix the errors shown in the editor and save')
      await ctx.recordAudit(plan.audit)
      await launchTerminal(command, plan.variables)
      return { command }
    },
    'settings.get': () => settings.info(),
    'settings.set': (r) => settings.write(r),
    'agent.status': async () => agent().info(),
    'agent.setAutostart': async (r) => agent().setAutostart(r.autostart),
    'agent.stop': async () => agent().stop(),
    ...syncHandlers(ctx),
  }

  return {
    handlers,
    close: () => {
      runs.killAll()
      exports.clear()
    },
    async dispatch(channel, raw) {
      try {
        if (!isChannel(channel))
          throw new UserError('not_found', `unknown channel ${JSON.stringify(channel.slice(0, 100))}`, {
            hint: 'the app and its UI are from different versions',
          })
        const req = parseRequest(channel, raw)
        const fn = handlers[channel] as RequestChannels[typeof channel] as (r: unknown) => Promise<unknown>
        const result = await fn(req)
        return { ok: true, result: result === undefined ? null : result }
      } catch (err) {
        if (!(err instanceof UserError)) console.error(`[envelope] ${channel} failed:`, err instanceof Error ? (err.stack ?? err.message) : String(err))
        return { ok: false, error: serializeError(err) }
      }
    },
  }
}
