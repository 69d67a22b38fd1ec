/**
 * `envelope env rotate <env> [path…]` — the command body. The commander declaration lives with the other
 * `env` subcommands in env.ts (it loads this module lazily); the flow is in electron/providers/rotation.ts.
 *
 * Rotates the `fn::rotate` secrets of an environment (all of them, or those under the given paths, e.g. `db`
 * or `values.db.creds`) and saves their new state as a new revision. Versioned references (`app/db@3`) are
 * refused, as `esc env rotate` does. See docs/providers.md.
 */
import type { ProviderRegistry } from '../../../shared/esc/host.ts'
import { formatRotation, rotateEnvironment } from '../../providers/rotation.ts'
import type { RotatableService } from '../../providers/rotation.ts'

export { formatRotation, rotateEnvironment }

export interface RotateOptions {
  output?: 'text' | 'json'
  /** registry used when the service has no `rotate` of its own (default: built-ins + the store's plugins) */
  providers?: ProviderRegistry
  write?: (text: string) => void
}

/** Prints the result (text or JSON) and returns the exit status: 0 all succeeded, 1 a rotation failed. */
export async function runRotate(service: RotatableService, ref: string, paths: string[], opts: RotateOptions = {}): Promise<number> {
  const write = opts.write ?? ((t: string) => void process.stdout.write(t))
  const result = await rotateEnvironment(service, ref, paths, opts.providers ? { providers: opts.providers } : {})
  write(opts.output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatRotation(result))
  return result.status === 'failed' ? 1 : 0
}
