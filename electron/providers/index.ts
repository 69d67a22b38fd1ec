/**
 * The provider registry the evaluator opens `fn::open::<name>` / `fn::rotate::<name>` through: the built-in
 * providers (postgres-login, command) and rotator (postgres), plus external provider executables found on
 * the plugins path. Built-ins win over a plugin of the same name, so a plugin directory cannot shadow them.
 * See docs/providers.md.
 */
import { readdirSync, statSync } from 'node:fs'
import type { JsonValue, Provider, ProviderRegistry, Rotator } from '../../shared/esc/host.ts'
import { createCommandProvider } from './command.ts'
import type { AllowCommand } from './command.ts'
import { describePlugin, describePluginSync, defaultPluginsPath, findPlugin, pluginProvider, pluginRotator, PLUGIN_PREFIX } from './plugin.ts'
import type { PluginInfo } from './plugin.ts'
import { createPostgresLoginProvider } from './postgres-login.ts'
import { createPostgresRotator } from './postgres-rotator.ts'
import { ProviderError, errorMessage } from './util.ts'

export { ALLOW_COMMAND_TAG, commandAllowedByTags } from './command.ts'
export type { AllowCommand } from './command.ts'
export { cleanupExpiredLogins } from './postgres-login.ts'
export { defaultPluginsPath, PLUGIN_PREFIX, PROTOCOL_VERSION } from './plugin.ts'
export { ProviderError } from './util.ts'

export interface ProviderRegistryOptions {
  /** directories searched for `envelope-provider-<name>`; default: ENVELOPE_PLUGINS_PATH, then <dataDir>/plugins */
  pluginsPath?: string[]
  /** the app's data directory (its `plugins` folder is searched when pluginsPath is not given) */
  dataDir?: string
  /**
   * Whether `fn::open::command` may run programs. Default false. The store passes a function that checks
   * the environment tag `envelope.allow-command=true` (see commandAllowedByTags).
   */
  allowCommand?: AllowCommand
  /** per-call timeout of plugins, commands and database statements (default 30 s for processes, 10 s for PostgreSQL) */
  timeoutMs?: number
}

export interface ProviderDescription {
  name: string
  kind: 'provider' | 'rotator' | 'provider+rotator'
  source: 'builtin' | 'plugin'
  path?: string
  inputsSchema?: JsonValue
  error?: string
}

export interface EnvelopeProviderRegistry extends ProviderRegistry {
  /** the plugin directories searched, in order */
  readonly pluginsPath: readonly string[]
  /** every provider and rotator available (plugins are asked for their schema) */
  list(): Promise<ProviderDescription[]>
}

export function createProviderRegistry(options: ProviderRegistryOptions = {}): EnvelopeProviderRegistry {
  // computed on first use: opening an environment without providers never needs it
  let pluginsPath: string[] | undefined
  const searchPath = (): string[] => (pluginsPath ??= options.pluginsPath ?? defaultPluginsPath({ dataDir: options.dataDir }))
  const processTimeout = options.timeoutMs ?? 30_000
  const dbTimeout = options.timeoutMs ?? 10_000
  const builtinProviders: Record<string, Provider> = {
    'postgres-login': createPostgresLoginProvider({ timeoutMs: dbTimeout }),
    command: createCommandProvider({ allow: options.allowCommand ?? false, timeoutMs: processTimeout }),
  }
  const builtinRotators: Record<string, Rotator> = {
    postgres: createPostgresRotator({ timeoutMs: dbTimeout }),
  }
  // schema answers, per plugin file version (path + mtime + size); a failed answer is retried after 30 s
  const cache = new Map<string, { info: PluginInfo | ProviderError; at: number }>()
  const info = (name: string): PluginInfo | ProviderError | undefined => {
    const path = findPlugin(name, searchPath())
    if (path === undefined) return undefined
    let key = path
    try {
      const st = statSync(path)
      key = `${path}\0${st.mtimeMs}\0${st.size}`
    } catch {
      // raced with a delete: describe will report it
    }
    const hit = cache.get(key)
    if (hit && !(hit.info instanceof ProviderError && Date.now() - hit.at > 30_000)) return hit.info
    let i: PluginInfo | ProviderError
    try {
      // synchronous (registry lookups are): bounded tighter than opens so a hung plugin cannot freeze the app for long
      i = describePluginSync(name, path, Math.min(processTimeout, 5000))
    } catch (err) {
      i = err instanceof ProviderError ? err : new ProviderError(`plugin ${JSON.stringify(name)} (${path})`, `schema failed: ${errorMessage(err)}`)
    }
    cache.set(key, { info: i, at: Date.now() })
    return i
  }
  return {
    get pluginsPath() {
      return searchPath()
    },
    provider(name) {
      if (Object.hasOwn(builtinProviders, name)) return builtinProviders[name]
      const i = info(name)
      return i === undefined ? undefined : pluginProvider(i, processTimeout)
    },
    rotator(name) {
      if (Object.hasOwn(builtinRotators, name)) return builtinRotators[name]
      const i = info(name)
      if (i === undefined) return undefined
      // a plugin that does not declare rotation is not a rotator: the core reports the unknown rotator
      if (!(i instanceof ProviderError) && !i.rotator) return undefined
      return pluginRotator(i, processTimeout)
    },
    async list() {
      const out: ProviderDescription[] = [
        ...Object.entries(builtinProviders).map(([name, p]): ProviderDescription => ({
          name,
          kind: 'provider',
          source: 'builtin',
          ...(p.inputsSchema === undefined ? {} : { inputsSchema: p.inputsSchema }),
        })),
        ...Object.entries(builtinRotators).map(([name, r]): ProviderDescription => ({
          name,
          kind: 'rotator',
          source: 'builtin',
          ...(r.inputsSchema === undefined ? {} : { inputsSchema: r.inputsSchema }),
        })),
      ]
      const seen = new Set(out.map((d) => d.name))
      for (const dir of searchPath()) {
        let entries: string[]
        try {
          entries = readdirSync(dir)
        } catch {
          continue
        }
        for (const f of entries.sort()) {
          if (!f.startsWith(PLUGIN_PREFIX)) continue
          const name = f.slice(PLUGIN_PREFIX.length).replace(/\.exe$/, '')
          if (seen.has(name)) continue
          const path = findPlugin(name, [dir])
          if (path === undefined) continue
          seen.add(name)
          try {
            const d = await describePlugin(name, path, processTimeout)
            out.push({
              name,
              kind: d.rotator ? 'provider+rotator' : 'provider',
              source: 'plugin',
              path,
              ...(d.inputsSchema === undefined ? {} : { inputsSchema: d.inputsSchema }),
            })
          } catch (err) {
            out.push({ name, kind: 'provider', source: 'plugin', path, error: errorMessage(err) })
          }
        }
      }
      return out
    },
  }
}
