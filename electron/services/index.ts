/**
 * The one way to build Envelope's Node-side services: the CLI, the Electron main process and the web
 * app API all call `createServices()` so they share the same store, keys and providers.
 *
 *   const services = createServices({ providers })
 *   await services.environments.create('app/dev')
 *   ...
 *   services.close()
 */
import type { ExecutionContext, ProviderRegistry } from '../../shared/esc/host.ts'
import { EnvironmentStore } from './store/environment-store.ts'
import type { KeyConfig } from './keychain/kek.ts'
import { commandAllowedByTags, createProviderRegistry } from '../providers/index.ts'
import { stripVersion } from './crypto/key-manager.ts'

export { EnvironmentStore, DefinitionError, formatDiagnostic } from './store/environment-store.ts'
export type { EnvironmentStoreOptions, StoreSettings } from './store/environment-store.ts'
export type { KeyConfig, KeyBackend } from './keychain/kek.ts'
export { resolveDataDir, storeFile } from './paths.ts'

export interface ServicesOptions {
  /** data folder; default ENVELOPE_DATA_DIR, else the OS app-data folder */
  dataDir?: string | undefined
  /**
   * provider registry for `fn::open` / `fn::rotate`. Default: the built-in registry (electron/providers)
   * with plugins from `<dataDir>/plugins`, and `fn::open::command` allowed only for environments tagged
   * `envelope.allow-command=true`. Pass `null` for no providers at all.
   */
  providers?: ProviderRegistry | null
  /** key backend options; default keychain, or ENVELOPE_PASSPHRASE / ENVELOPE_KEY_FILE */
  keys?: KeyConfig
  /** author/audit user; default the OS user */
  user?: string
  /** extra `${context…}` values */
  context?: ExecutionContext
}

export interface Services {
  /** the local store (implements EnvironmentService, plus recordAudit, key export/import, revision tags) */
  environments: EnvironmentStore
  /** the data folder in use */
  dataDir: string
  close(): void
}

/** Builds the services over one store file. The key is reached lazily: listing works without a keychain. */
export function createServices(opts: ServicesOptions = {}): Services {
  const holder: { store?: EnvironmentStore } = {}
  const providers =
    opts.providers === null
      ? undefined
      : (opts.providers ??
        createProviderRegistry({
          ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
          allowCommand: async (environment) => {
            try {
              return commandAllowedByTags(await holder.store!.getTags(stripVersion(environment)))
            } catch {
              return false
            }
          },
        }))
  const environments = new EnvironmentStore({
    dataDir: opts.dataDir,
    ...(providers ? { providers } : {}),
    ...(opts.keys ? { keys: opts.keys } : {}),
    ...(opts.user ? { user: opts.user } : {}),
    ...(opts.context ? { context: opts.context } : {}),
  })
  holder.store = environments
  return { environments, dataDir: environments.dataDir, close: () => environments.close() }
}
