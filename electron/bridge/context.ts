/**
 * Builds the handler context over the real services: the one store (createServices), the provider
 * registry, and the process launcher for `run`. Shared by the Electron main process and `envelope ui`.
 */
import { createServices, resolveDataDir } from '../services/index.ts'
import type { Services } from '../services/index.ts'
import { createProviderRegistry } from '../providers/index.ts'
import { UserError } from '../../shared/errors.ts'
import type { HandlerContext } from './handlers.ts'

export interface ContextOptions {
  mode: 'electron' | 'web'
  version: string
  dataDir?: string | undefined
  saveFile?: HandlerContext['saveFile']
}

export function createContext(opts: ContextOptions): { ctx: HandlerContext; services: Services } {
  const dataDir = resolveDataDir({ dataDir: opts.dataDir })
  const services = createServices({ dataDir, providers: createProviderRegistry({ dataDir }) })
  const ctx: HandlerContext = {
    env: services.environments,
    dataDir: services.dataDir,
    mode: opts.mode,
    version: opts.version,
    ...(opts.saveFile ? { saveFile: opts.saveFile } : {}),
    startProcess: async () => {
      throw new UserError('internal', 'running commands is not wired yet (the process launcher is missing)')
    },
  }
  return { ctx, services }
}
