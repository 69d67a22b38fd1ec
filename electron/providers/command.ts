/**
 * `fn::open::command`: the output of a local secret tool (`op read`, `pass show`, `gpg -d`, `security
 * find-generic-password -w`...) as a secret.
 *
 *   inputs: {argv: [program, arg...], env?: {NAME: value}, cwd?: dir, trim?: true, format?: text | json}
 *
 * argv runs with NO shell: no globbing, no `$VAR`, no pipes (`sh -c` is yours to spell out). Running local
 * programs from an environment definition is opt-in: the registry option `allowCommand`, or, in the app
 * and CLI, the environment tag `envelope.allow-command=true` on the environment being opened.
 */
import { statSync } from 'node:fs'
import type { JsonValue, Provider, ProviderContext } from '../../shared/esc/host.ts'
import { childBaseEnv, runChild } from './child.ts'
import { ProviderError, isObject, scrub, secretStrings, tail } from './util.ts'

const NAME = 'command'
export const ALLOW_COMMAND_TAG = 'envelope.allow-command'

/** Whether the command provider may run for an environment (true, false, or a per-environment decision). */
export type AllowCommand = boolean | ((environment: string) => boolean | Promise<boolean>)

/** The documented opt-in: environment tag `envelope.allow-command` = `true`. */
export function commandAllowedByTags(tags: Record<string, string> | undefined): boolean {
  return tags?.[ALLOW_COMMAND_TAG]?.trim().toLowerCase() === 'true'
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

export const commandSchema: JsonValue = {
  type: 'object',
  properties: {
    argv: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'program and arguments; no shell' },
    env: { type: 'object', additionalProperties: { type: 'string' }, description: 'extra environment variables' },
    cwd: { type: 'string' },
    trim: { type: 'boolean', description: 'strip trailing newlines and surrounding whitespace (default true)' },
    format: { type: 'string', enum: ['text', 'json'], description: 'text (default) or json (stdout parsed as JSON)' },
  },
  required: ['argv'],
}

export function createCommandProvider(options: { allow?: AllowCommand; timeoutMs?: number } = {}): Provider {
  const timeoutMs = options.timeoutMs ?? 30_000
  const allow = options.allow ?? false
  return {
    inputsSchema: commandSchema,
    secretOutput: true,
    async open(inputs: JsonValue, ctx: ProviderContext) {
      const allowed = typeof allow === 'function' ? await allow(ctx.environment) : allow
      if (!allowed) {
        // diagnostics carry only the message, so it says what to do too
        throw new ProviderError(
          NAME,
          `running local commands is not enabled for environment ${ctx.environment} (set its environment tag ${ALLOW_COMMAND_TAG}=true to allow it)`,
          {
            hint: `set the environment tag ${ALLOW_COMMAND_TAG}=true on ${ctx.environment} to allow fn::open::command`,
          },
        )
      }
      const secrets = secretStrings(isObject(inputs) ? inputs.env : undefined)
      if (!isObject(inputs)) throw new ProviderError(NAME, 'inputs must be an object {argv: [program, args...]}')
      const { argv, env, cwd, trim, format } = inputs
      if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string') || argv[0] === '') {
        throw new ProviderError(NAME, 'argv must be a non-empty list of strings, e.g. [op, read, "op://vault/item/password"]')
      }
      // Node refuses NUL bytes with a message that quotes the argument (which may be secret): say it ourselves
      if ((argv as string[]).some((a) => a.includes('\0'))) throw new ProviderError(NAME, 'argv items must not contain NUL bytes')
      const childEnv: NodeJS.ProcessEnv = childBaseEnv()
      if (env !== undefined) {
        if (!isObject(env) || Object.values(env).some((v) => typeof v !== 'string')) throw new ProviderError(NAME, 'env must be an object of string values')
        if (Object.entries(env).some(([k, v]) => k.includes('\0') || k.includes('=') || (v as string).includes('\0'))) {
          throw new ProviderError(NAME, 'env names must not contain "=" or NUL bytes, nor values NUL bytes')
        }
        Object.assign(childEnv, env)
      }
      if (cwd !== undefined && typeof cwd !== 'string') throw new ProviderError(NAME, 'cwd must be a directory path')
      if (cwd !== undefined && !isDirectory(cwd)) throw new ProviderError(NAME, `cwd ${JSON.stringify(cwd)} is not a directory`)
      if (trim !== undefined && typeof trim !== 'boolean') throw new ProviderError(NAME, 'trim must be true or false')
      if (format !== undefined && format !== 'text' && format !== 'json') throw new ProviderError(NAME, 'format must be text or json')
      const program = argv[0] as string
      const r = await runChild({
        file: program,
        args: argv.slice(1) as string[],
        env: childEnv,
        cwd,
        timeoutMs,
        signal: ctx.signal,
        maxOutputBytes: 4 * 1024 * 1024,
      })
      const stderr = (): string => {
        const t = tail(scrub(r.stderr, secrets), 1000)
        return t ? `; stderr: ${t}` : ''
      }
      if (r.spawnError) {
        const why =
          r.spawnError.code === 'ENOENT' ? 'not found (is it installed and on PATH?)' : r.spawnError.code === 'EACCES' ? 'not executable' : r.spawnError.message
        throw new ProviderError(NAME, `cannot run ${JSON.stringify(program)}: ${why}`)
      }
      if (r.cancelled) throw new ProviderError(NAME, `${JSON.stringify(program)} was cancelled`)
      if (r.timedOut) throw new ProviderError(NAME, `${JSON.stringify(program)} timed out after ${timeoutMs} ms and was killed${stderr()}`)
      if (r.overflow) throw new ProviderError(NAME, `${JSON.stringify(program)} wrote more than 4 MiB to stdout`)
      if (r.code !== 0) {
        throw new ProviderError(NAME, `${JSON.stringify(program)} ${r.code === null ? `was killed by ${r.signal}` : `exited with code ${r.code}`}${stderr()}`)
      }
      const text = trim === false ? r.stdout : r.stdout.trim()
      if (format === 'json') {
        try {
          return JSON.parse(text) as JsonValue
        } catch {
          // JSON.parse's message quotes the output, which is secret: say only what failed
          throw new ProviderError(NAME, `${JSON.stringify(program)} did not print valid JSON (format: json)`)
        }
      }
      return text
    },
  }
}
