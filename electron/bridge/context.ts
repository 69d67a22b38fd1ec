/**
 * Builds the handler context over the real services: the one store (createServices, which also wires the
 * provider registry), the process launcher for `run` and the command-line agent's controls. Shared by the
 * Electron main process and `envelope ui` / web mode.
 */
import { basename } from 'node:path'
import { createServices, resolveDataDir } from '../services/index.ts'
import type { EnvironmentStore, Services } from '../services/index.ts'
import { agentStatus, stopAgent } from '../services/agent/client.ts'
import { launch, substituteArgs } from '../services/launcher/index.ts'
import { collectSecrets, lookup, parsePath, projectEnvironment, rootValue, scalarText } from '../../shared/format/index.ts'
import { UserError } from '../../shared/errors.ts'
import type { AgentInfo } from '../../shared/ipc.ts'
import type { AgentControl, HandlerContext } from './handlers.ts'

export interface ContextOptions {
  mode: 'electron' | 'web'
  version: string
  dataDir?: string | undefined
  saveFile?: HandlerContext['saveFile']
}

export function createContext(opts: ContextOptions): { ctx: HandlerContext; services: Services } {
  const dataDir = resolveDataDir({ dataDir: opts.dataDir })
  const services = createServices({ dataDir })
  const store = services.environments
  const ctx: HandlerContext = {
    env: store,
    dataDir: services.dataDir,
    mode: opts.mode,
    version: opts.version,
    ...(opts.saveFile ? { saveFile: opts.saveFile } : {}),
    agent: agentControl(store),
    prepareRun: async (id, argv) => {
      const [command, ...args] = argv
      if (!command) throw new UserError('invalid_input', 'no command given', { hint: 'type a command, e.g. printenv' })
      const res = await store.open(id)
      const errors = res.diagnostics.filter((d) => d.severity === 'error')
      if (errors.length > 0 || !res.value) {
        const first = errors[0]
        throw new UserError('invalid_input', `${id} has ${errors.length || 1} error(s) and cannot be opened${first ? `: ${first.summary}` : ''}`, {
          hint: 'fix the errors shown in the editor and save',
        })
      }
      const p = projectEnvironment(res.value, { reveal: true })
      const secrets = collectSecrets(res.value)
      const root = rootValue(res.value)
      const finalArgs = substituteArgs(args, (path) => scalarText(lookup(root, parsePath(path)), { reveal: true }))
      await store.recordAudit({
        action: 'run',
        target: res.environment,
        detail: { revision: res.revision, command: basename(command), variables: Object.keys(p.variables).length, files: Object.keys(p.files).length, masked: true, via: opts.mode },
      })
      return {
        variables: [...Object.keys(p.variables), ...Object.keys(p.files)].sort(),
        exec: (io) =>
          launch({ command, args: finalArgs, variables: p.variables, files: p.files, secrets, mask: true, stdin: 'ignore', stdout: io.stdout, stderr: io.stderr, signal: io.signal }),
      }
    },
  }
  return { ctx, services }
}

/** Settings → Command-line agent: what `envelope agent status` / `autostart` / `stop` do, for the app. */
function agentControl(store: EnvironmentStore): AgentControl {
  const info = async (): Promise<AgentInfo> => {
    const s = await agentStatus(store.dataDir)
    const keyBackend = store.activeKeyInfo()?.backend
    return {
      running: s !== undefined,
      ...(s ? { pid: s.pid, started: s.started, served: s.served, idleMinutes: s.idleMinutes } : {}),
      autostart: store.setting('agent.autostart'),
      ...(keyBackend ? { keyBackend } : {}),
    }
  }
  return {
    info,
    setAutostart: async (on) => {
      await store.setSetting('agent.autostart', on)
      if (!on) await stopAgent(store.dataDir)
      return info()
    },
    stop: async () => {
      await stopAgent(store.dataDir)
      return info()
    },
  }
}
