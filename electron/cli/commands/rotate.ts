/**
 * `envelope env rotate <env> [path…]`: rotates the `fn::rotate` secrets of an environment (all of them, or
 * those under the given paths, e.g. `db` or `values.db`), and saves their new state as a new revision.
 * Versioned references (`app/db@3`) are refused, as `esc env rotate` does. Exit status 1 when a rotation
 * failed (the successful ones are still saved). See docs/providers.md.
 */
import { UserError } from '../../../shared/errors.ts'
import { evaluate } from '../../../shared/esc/index.ts'
import type { ProviderRegistry } from '../../../shared/esc/host.ts'
import type { EnvironmentService, RotationResult } from '../../../shared/models.ts'
import { createProviderRegistry } from '../../providers/index.ts'
import { rotateStoredEnvironment, serviceRotateDeps } from '../../providers/rotation.ts'

export interface RotateOptions {
  output?: 'text' | 'json'
  /** registry used when the service has no `rotate` of its own */
  providers?: ProviderRegistry
}

/** Runs the rotation: the service's own `rotate` when it has one, else the same flow over its public methods. */
export async function rotateEnvironment(service: EnvironmentService, ref: string, paths: string[], opts: { providers?: ProviderRegistry } = {}): Promise<RotationResult> {
  if (/@/.test(ref)) {
    throw new UserError('invalid_input', `rotate refuses versioned references (${ref}): rotation always starts from the latest revision`, {
      hint: `run \`envelope env rotate ${ref.replace(/@.*$/, '')}\``,
    })
  }
  if (typeof service.rotate === 'function') return service.rotate(ref, paths.length ? { paths } : {})
  const providers = opts.providers ?? createProviderRegistry()
  return rotateStoredEnvironment(ref, paths.length ? paths : undefined, serviceRotateDeps(service, ref, providers, { evaluate }))
}

/** Human output: one line per rotation, then the revision written. */
export function formatRotation(r: RotationResult): string {
  const lines: string[] = []
  if (r.rotations.length === 0) lines.push(`${r.environment} has no fn::rotate values: nothing rotated`)
  const width = Math.max(0, ...r.rotations.map((x) => x.path.length))
  for (const x of r.rotations) lines.push(`  ${x.path.padEnd(width)}  ${x.status}${x.errorMessage ? `: ${x.errorMessage}` : ''}`)
  if (r.postRotationRevision !== undefined) lines.push(`${r.environment}: revision ${r.preRotationRevision} -> ${r.postRotationRevision}`)
  else if (r.rotations.length) lines.push(`${r.environment}: nothing saved (revision ${r.preRotationRevision} unchanged)`)
  const other = r.diagnostics.filter((d) => d.severity === 'error' && !d.summary.startsWith('rotate: '))
  for (const d of other) {
    const at = d.range ? `${d.range.environment}:${d.range.begin.line}:${d.range.begin.column}: ` : d.path ? `${d.path}: ` : ''
    lines.push(`error: ${at}${d.summary}`)
  }
  return lines.join('\n') + '\n'
}

/** The command body: prints the result and returns the exit status (0 all succeeded, 1 a rotation failed). */
export async function runRotate(
  service: EnvironmentService,
  ref: string,
  paths: string[],
  opts: RotateOptions & { write?: (text: string) => void } = {},
): Promise<number> {
  const write = opts.write ?? ((t: string) => void process.stdout.write(t))
  const result = await rotateEnvironment(service, ref, paths, opts.providers ? { providers: opts.providers } : {})
  if (opts.output === 'json') write(JSON.stringify(result, null, 2) + '\n')
  else write(formatRotation(result))
  return result.status === 'failed' ? 1 : 0
}
