/**
 * Builds the handler context over the real services: the one store (createServices, which also wires the
 * provider registry), the process launcher for `run` and the command-line agent's controls. Shared by the
 * Electron main process and `envelope ui` / web mode.
 */
import { createServices, resolveDataDir } from '../services/index.ts'
import type { EnvironmentStore, Services } from '../services/index.ts'
import { agentStatus, stopAgent } from '../services/agent/client.ts'
import { launch } from '../services/launcher/index.ts'
import { injectedNames, planRun, requireCommand } from '../../shared/domain/run-plan.ts'
import type { AgentInfo } from '../../shared/ipc.ts'
import type { AgentControl, HandlerContext } from './handlers.ts'
import { StoreWatch } from './store-watch.ts'

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
  const watch = new StoreWatch(store.file)
  // the watch's connection closes with the store
  const close = services.close
  services.close = () => {
    watch.close()
    close()
  }
  const ctx: HandlerContext = {
    storeVersion: () => watch.version(),
    env: store,
    dataDir: services.dataDir,
    mode: opts.mode,
    version: opts.version,
    ...(opts.saveFile ? { saveFile: opts.saveFile } : {}),
    agent: agentControl(store),
    recordAudit: (e) => store.recordAudit(e),
    prepareRun: async (id, argv) => {
      requireCommand(argv, 'type a command, e.g. printenv')
      const plan = planRun(id, await store.open(id), argv, { mask: true, via: opts.mode, hint: 'fix the errors shown in the editor and save' })
      await store.recordAudit(plan.audit)
      return {
        variables: injectedNames(plan),
        exec: (io) =>
          launch({
            command: plan.command,
            args: plan.args,
            variables: plan.variables,
            files: plan.files,
            secrets: plan.secrets,
            mask: true,
            stdin: 'ignore',
            stdout: io.stdout,
            stderr: io.stderr,
            signal: io.signal,
          }),
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
