/**
 * External providers: executables named `envelope-provider-<name>` on the plugins path, speaking the JSON
 * protocol of docs/providers.md (one request on stdin, one response on stdout, per process).
 *
 *   {"envelope":1,"request":"schema"}                                   -> {"inputsSchema"?, "secretOutput"?, "rotator"?}
 *   {"envelope":1,"request":"open","provider","environment","inputs"[, "state"]} -> {"value", "secret"?, "secretPaths"?}
 *   {"envelope":1,"request":"rotate","provider","environment","inputs","state"}  -> {"state"}
 *   any request                                                          -> {"error":{"message"}}
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { EvalValue, JsonValue, Provider, ProviderContext, Rotator } from '../../shared/esc/host.ts'
import { resolveDataDir } from '../services/paths.ts'
import { childBaseEnv, runChild } from './child.ts'
import type { ChildResult } from './child.ts'
import { ProviderError, isObject, scrub, secretStrings, tail, toEvalValue } from './util.ts'

export const PLUGIN_PREFIX = 'envelope-provider-'
export const PROTOCOL_VERSION = 1
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const MAX_OUTPUT = 16 * 1024 * 1024

export interface PluginInfo {
  name: string
  path: string
  inputsSchema?: JsonValue
  secretOutput: boolean
  rotator: boolean
}

/** The directories searched, in order: ENVELOPE_PLUGINS_PATH (colon-separated; `;` on Windows), then <dataDir>/plugins. */
export function defaultPluginsPath(opts: { env?: NodeJS.ProcessEnv; dataDir?: string } = {}): string[] {
  const env = opts.env ?? process.env
  const dirs = (env.ENVELOPE_PLUGINS_PATH ?? '').split(delimiter).filter((d) => d !== '')
  dirs.push(join(resolveDataDir({ dataDir: opts.dataDir, env }), 'plugins'))
  return dirs
}

/** Finds `envelope-provider-<name>` in the path (first match wins); undefined when absent or not executable. */
export function findPlugin(name: string, pluginsPath: string[]): string | undefined {
  if (!NAME_RE.test(name)) return undefined
  const exts = process.platform === 'win32' ? ['.exe', ''] : ['']
  for (const dir of pluginsPath) {
    for (const ext of exts) {
      const file = join(dir, PLUGIN_PREFIX + name + ext)
      try {
        if (!statSync(file).isFile()) continue
        accessSync(file, constants.X_OK)
        return file
      } catch {
        // not there / not executable: keep looking
      }
    }
  }
  return undefined
}

function label(name: string, path: string): string {
  return `plugin ${JSON.stringify(name)} (${path})`
}

function childEnv(): NodeJS.ProcessEnv {
  return childBaseEnv({ ENVELOPE_PROVIDER_PROTOCOL: String(PROTOCOL_VERSION) })
}

/**
 * Interprets what the plugin printed: exactly one JSON object, either `{error: {message}}` or the result.
 * Every failure names the plugin and the request, and is scrubbed of the secret inputs.
 */
function readResponse(
  name: string,
  path: string,
  request: string,
  r: Pick<ChildResult, 'stdout' | 'stderr' | 'code' | 'signal' | 'timedOut' | 'cancelled' | 'overflow' | 'spawnError'>,
  timeoutMs: number,
  secrets: string[],
): { [key: string]: JsonValue } {
  const err = (message: string): ProviderError => new ProviderError(label(name, path), scrub(`${request} failed: ${message}`, secrets))
  const stderr = (): string => {
    const t = tail(scrub(r.stderr, secrets), 1000)
    return t ? `; stderr: ${t}` : ''
  }
  if (r.spawnError) throw err(`cannot start it: ${r.spawnError.code ?? r.spawnError.message}`)
  if (r.cancelled) throw err('cancelled')
  if (r.timedOut) throw err(`no response within ${timeoutMs} ms; the process was killed${stderr()}`)
  if (r.overflow) throw err(`response larger than ${MAX_OUTPUT / 1024 / 1024} MiB; the process was killed`)
  const text = r.stdout.trim()
  let parsed: unknown
  let parseOk = false
  if (text !== '') {
    try {
      parsed = JSON.parse(text)
      parseOk = true
    } catch {
      parseOk = false
    }
  }
  if (parseOk && isObject(parsed as JsonValue) && 'error' in (parsed as object)) {
    const e = (parsed as { error: unknown }).error
    const message =
      isObject(e as JsonValue) && typeof (e as { message?: unknown }).message === 'string' ? (e as { message: string }).message : JSON.stringify(e)
    throw err(message)
  }
  if (r.code !== 0) {
    throw err(`${r.code === null ? `killed by ${r.signal}` : `exited with code ${r.code}`}${stderr()}`)
  }
  if (text === '') throw err(`empty response on stdout (expected one JSON object)${stderr()}`)
  if (!parseOk) throw err(`malformed response: stdout is not one JSON object (${text.length} bytes)${stderr()}`)
  if (!isObject(parsed as JsonValue)) throw err('malformed response: expected a JSON object')
  return parsed as { [key: string]: JsonValue }
}

function schemaFrom(name: string, path: string, res: { [key: string]: JsonValue }): PluginInfo {
  const bad = (what: string): ProviderError => new ProviderError(label(name, path), `schema failed: malformed response: ${what}`)
  if (res.secretOutput !== undefined && typeof res.secretOutput !== 'boolean') throw bad('secretOutput must be a boolean')
  if (res.rotator !== undefined && typeof res.rotator !== 'boolean') throw bad('rotator must be a boolean')
  if (res.inputsSchema !== undefined && !isObject(res.inputsSchema) && typeof res.inputsSchema !== 'boolean')
    throw bad('inputsSchema must be a JSON schema object')
  const info: PluginInfo = { name, path, secretOutput: res.secretOutput === true, rotator: res.rotator === true }
  if (res.inputsSchema !== undefined) info.inputsSchema = res.inputsSchema
  return info
}

/**
 * Asks a plugin for its schema. Synchronous because ProviderRegistry lookups are; cached by the caller per
 * file version, so each plugin process starts once per change.
 */
export function describePluginSync(name: string, path: string, timeoutMs: number): PluginInfo {
  const r = spawnSync(path, [], {
    input: JSON.stringify({ envelope: PROTOCOL_VERSION, request: 'schema' }),
    env: childEnv(),
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: MAX_OUTPUT,
    shell: false,
    windowsHide: true,
  })
  const e = r.error as NodeJS.ErrnoException | undefined
  const timedOut = e?.code === 'ETIMEDOUT'
  const overflow = e?.code === 'ENOBUFS'
  return schemaFrom(
    name,
    path,
    readResponse(
      name,
      path,
      'schema',
      {
        stdout: r.stdout?.toString('utf8') ?? '',
        stderr: r.stderr?.toString('utf8') ?? '',
        code: r.status,
        signal: r.signal,
        timedOut,
        cancelled: false,
        overflow,
        spawnError: e && !timedOut && !overflow ? e : undefined,
      },
      timeoutMs,
      [],
    ),
  )
}

/** Asks a plugin for its schema without blocking (used by `list` and the app's provider pane). */
export async function describePlugin(name: string, path: string, timeoutMs: number): Promise<PluginInfo> {
  const r = await runChild({
    file: path,
    args: [],
    input: JSON.stringify({ envelope: PROTOCOL_VERSION, request: 'schema' }),
    env: childEnv(),
    timeoutMs,
    maxOutputBytes: MAX_OUTPUT,
  })
  return schemaFrom(name, path, readResponse(name, path, 'schema', r, timeoutMs, []))
}

async function call(
  info: PluginInfo,
  request: 'open' | 'rotate',
  body: { [key: string]: JsonValue },
  ctx: ProviderContext,
  timeoutMs: number,
): Promise<{ [key: string]: JsonValue }> {
  const secrets = secretStrings(body.inputs, body.state)
  const input = JSON.stringify({ envelope: PROTOCOL_VERSION, request, provider: info.name, environment: ctx.environment, ...body })
  const r = await runChild({ file: info.path, args: [], input, env: childEnv(), timeoutMs, signal: ctx.signal, maxOutputBytes: MAX_OUTPUT })
  return readResponse(info.name, info.path, request, r, timeoutMs, secrets)
}

function openResult(info: PluginInfo, res: { [key: string]: JsonValue }, secrets: string[]): EvalValue {
  const bad = (what: string): ProviderError => new ProviderError(label(info.name, info.path), scrub(`open failed: malformed response: ${what}`, secrets))
  if (!('value' in res)) throw bad('missing "value"')
  if (res.secret !== undefined && typeof res.secret !== 'boolean') throw bad('"secret" must be a boolean')
  const paths = res.secretPaths ?? []
  if (!Array.isArray(paths) || paths.some((p) => !Array.isArray(p) || p.some((k) => typeof k !== 'string' && typeof k !== 'number'))) {
    throw bad('"secretPaths" must be a list of paths, each a list of keys and indices, e.g. [["password"]]')
  }
  return toEvalValue(res.value as JsonValue, paths as (string | number)[][], info.secretOutput || res.secret === true)
}

/** A Provider backed by a plugin whose schema is known (or whose schema request failed: then open fails with that error). */
export function pluginProvider(info: PluginInfo | ProviderError, timeoutMs: number): Provider {
  if (info instanceof ProviderError) return { open: () => Promise.reject(info) }
  const p: Provider = {
    secretOutput: info.secretOutput,
    async open(inputs, ctx) {
      const res = await call(info, 'open', { inputs }, ctx, timeoutMs)
      return openResult(info, res, secretStrings(inputs))
    },
  }
  if (info.inputsSchema !== undefined) p.inputsSchema = info.inputsSchema
  return p
}

export function pluginRotator(info: PluginInfo | ProviderError, timeoutMs: number): Rotator {
  if (info instanceof ProviderError) return { open: () => Promise.reject(info), rotate: () => Promise.reject(info) }
  const r: Rotator = {
    async open(inputs, state, ctx) {
      const res = await call(info, 'open', { inputs, state }, ctx, timeoutMs)
      return openResult(info, res, secretStrings(inputs, state))
    },
    async rotate(inputs, state, ctx) {
      const res = await call(info, 'rotate', { inputs, state }, ctx, timeoutMs)
      if (!('state' in res)) throw new ProviderError(label(info.name, info.path), 'rotate failed: malformed response: missing "state"')
      return res.state as JsonValue
    },
  }
  if (info.inputsSchema !== undefined) r.inputsSchema = info.inputsSchema
  return r
}
