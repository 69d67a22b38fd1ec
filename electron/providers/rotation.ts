/**
 * Rotation of a stored environment (`envelope env rotate <env> [path…]`), as the store performs it:
 *
 *   1. read the latest definition with secrets decrypted;
 *   2. evaluate it in `rotate` mode (every selected `fn::rotate` at the root calls its rotator's `rotate`);
 *   3. write each successful rotation's new state into the document at the patch path (layout and comments
 *      kept; state secrets arrive as `{"fn::secret": plaintext}` and are encrypted by the save);
 *   4. save a new revision based on the one read. On a conflicting save the patches are re-applied to the
 *      newer revision and saved again: a rotated password has already changed in the backend and its new
 *      state must never be dropped.
 *
 * Failed rotations do not stop the others; each one is reported (ESC's secretRotationEvent `rotations`).
 * Pure orchestration over three callbacks, so the store keeps its internals (loader, key, providers).
 */
import { isDeepStrictEqual } from 'node:util'
import { isMap, isScalar, parseDocument, stringify } from 'yaml'
import type { Document } from 'yaml'
import type {
  Diagnostic,
  EnvironmentLoader,
  EvalResult,
  EvaluateOptions,
  ExecutionContext,
  JsonValue,
  ProviderRegistry,
  RotationPatch,
} from '../../shared/esc/host.ts'
import { ConflictError, UserError } from '../../shared/errors.ts'
import type { AuditEvent, EnvironmentService, RevisionInfo, RotationResult } from '../../shared/models.ts'
import { formatPath, parsePath } from '../../shared/format/paths.ts'
import { commandAllowedByTags, createProviderRegistry } from './index.ts'

export interface RotateDeps {
  /** latest definition, secrets decrypted (plaintext `fn::secret: value`) */
  read(): Promise<{ yaml: string; revision: number }>
  /** the core's evaluate in `rotate` mode for this environment, with the store's loader, key and providers */
  evaluate(yaml: string, rotatePaths: string[] | undefined): Promise<EvalResult>
  /** save a new revision (plaintext secrets get encrypted); a stale base throws ConflictError */
  save(yaml: string, baseRevision: number, message: string): Promise<RevisionInfo>
}

/** `values.db["fn::rotate::postgres"].state` -> `values.db` (the path users name on the command line). */
export function rotationPathOf(patchPath: string): string {
  const segs = parsePath(patchPath)
  const i = segs.findIndex((s) => typeof s === 'string' && (s === 'fn::rotate' || s.startsWith('fn::rotate::')))
  return formatPath(i > 0 ? segs.slice(0, i) : segs)
}

/**
 * Writes each patch's state into the YAML document at its path. Only the text of each `state` value is
 * replaced (or a `state:` entry added); everything else stays byte for byte. When a document is shaped so
 * that a splice is not safe, it falls back to re-serializing the document (comments kept, spacing may change).
 */
export function applyRotationPatches(source: string, patches: readonly RotationPatch[]): string {
  const doc = parseDocument(source)
  if (doc.errors.length > 0) throw new UserError('invalid_input', `the definition is not valid YAML: ${doc.errors[0]?.message ?? ''}`)
  const expected = parseDocument(source)
  for (const p of patches) expected.setIn(parsePath(p.path), expected.createNode(p.state))
  const want = expected.toJS() as unknown
  const spliced = spliceStates(source, doc, patches)
  if (spliced !== undefined) {
    const check = parseDocument(spliced)
    if (check.errors.length === 0 && isDeepStrictEqual(check.toJS(), want)) return spliced
  }
  return expected.toString()
}

type Edit = { at: number; end: number; text: string }

function spliceStates(source: string, doc: Document, patches: readonly RotationPatch[]): string | undefined {
  const edits: Edit[] = []
  const columnOf = (offset: number): number => offset - (source.lastIndexOf('\n', offset - 1) + 1)
  for (const p of patches) {
    const path = parsePath(p.path)
    if (path[path.length - 1] !== 'state') return undefined
    const parent = doc.getIn(path.slice(0, -1), true)
    if (!isMap(parent) || !parent.range) return undefined
    const pair = parent.items.find((it) => isScalar(it.key) && it.key.value === 'state')
    const flowText = JSON.stringify(p.state)
    const isBlockValue = p.state !== null && typeof p.state === 'object' && Object.keys(p.state).length > 0
    if (parent.flow) {
      if (pair) {
        const v = pair.value as { range?: [number, number, number] } | null
        if (!v?.range) return undefined
        edits.push({ at: v.range[0], end: v.range[1], text: flowText })
      } else {
        const close = parent.range[1] - 1
        if (source[close] !== '}') return undefined
        edits.push({ at: close, end: close, text: `${parent.items.length ? ', ' : ''}state: ${flowText}` })
      }
      continue
    }
    const firstKey = parent.items[0]?.key as { range?: [number, number, number] } | undefined
    if (!firstKey?.range) return undefined
    const indent = ' '.repeat(columnOf(firstKey.range[0]))
    const block = (): string =>
      stringify(p.state, { lineWidth: 0 })
        .replace(/\n$/, '')
        .split('\n')
        .map((l) => `${indent}  ${l}`)
        .join('\n')
    if (pair) {
      const k = pair.key as { range?: [number, number, number] }
      const v = pair.value as { range?: [number, number, number] } | null
      if (!k.range) return undefined
      const end = v?.range ? v.range[1] : k.range[1]
      const nl = source[end - 1] === '\n' ? '\n' : ''
      edits.push({ at: k.range[1], end, text: isBlockValue ? `:\n${block()}${nl}` : `: ${flowText}${nl}` })
    } else {
      const end = parent.range[1]
      const lead = source[end - 1] === '\n' ? '' : '\n'
      edits.push({ at: end, end, text: `${lead}${indent}state:${isBlockValue ? `\n${block()}` : ` ${flowText}`}\n` })
    }
  }
  edits.sort((a, b) => b.at - a.at)
  let out = source
  for (let i = 0; i < edits.length; i++) {
    const e = edits[i] as Edit
    if (i > 0 && e.end > (edits[i - 1] as Edit).at) return undefined
    out = out.slice(0, e.at) + e.text + out.slice(e.end)
  }
  return out
}

function normalizePaths(paths: string[] | undefined): string[] | undefined {
  if (!paths || paths.length === 0) return undefined
  // `db.creds` and `values.db.creds` name the same thing, as in `esc env rotate`
  return paths.map((p) => {
    const segs = parsePath(p)
    return formatPath(segs[0] === 'values' ? segs : ['values', ...segs])
  })
}

export async function rotateStoredEnvironment(environment: string, paths: string[] | undefined, deps: RotateDeps): Promise<RotationResult> {
  const rotatePaths = normalizePaths(paths)
  const first = await deps.read()
  const res = await deps.evaluate(first.yaml, rotatePaths)
  const patches = (res.patches ?? []).filter((p) => p.environment === environment)
  const diagnostics: Diagnostic[] = res.diagnostics
  const rotations: RotationResult['rotations'] = patches.map((p) => ({ path: rotationPathOf(p.path), status: 'succeeded' }))
  for (const d of diagnostics) {
    if (d.severity === 'error' && d.summary.startsWith('rotate: ')) {
      rotations.push({ path: d.path ? rotationPathOf(d.path) : '', status: 'failed', errorMessage: d.summary.slice('rotate: '.length) })
    }
  }
  if (rotatePaths && rotations.length === 0) {
    throw new UserError('not_found', `no fn::rotate found at ${rotatePaths.join(', ')} in ${environment}`, {
      hint: 'name the value that holds fn::rotate, e.g. `envelope env rotate app/dev db.creds`',
    })
  }
  const result: RotationResult = {
    environment,
    preRotationRevision: first.revision,
    status: rotations.some((r) => r.status === 'failed') ? 'failed' : 'succeeded',
    rotations,
    diagnostics,
  }
  if (patches.length === 0) return result
  const message = `rotate ${patches.map((p) => rotationPathOf(p.path)).join(', ')}`
  let base = first
  for (let attempt = 0; ; attempt++) {
    try {
      const rev = await deps.save(applyRotationPatches(base.yaml, patches), base.revision, message)
      result.postRotationRevision = rev.number
      return result
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= 4) {
        throw new UserError(
          'provider_failed',
          `${environment}: the rotated credentials could not be saved: ${err instanceof Error ? err.message : String(err)}`,
          {
            hint: 'the backend already uses the new credentials; rotate again once the environment saves cleanly',
            cause: err,
          },
        )
      }
      base = await deps.read()
    }
  }
}

/**
 * The rotation flow over an EnvironmentService's public methods only (for a service without `rotate`):
 * definitions are read decrypted (imports too, through the same service), evaluated by the core with the
 * given registry, and saved with `update`. The store's own `rotate` should prefer its internal loader/key.
 */
export function serviceRotateDeps(
  service: Pick<EnvironmentService, 'getDefinition' | 'update'>,
  environment: string,
  providers: ProviderRegistry,
  opts: { context?: ExecutionContext; evaluate: (o: EvaluateOptions) => Promise<EvalResult> },
): RotateDeps {
  const loader: EnvironmentLoader = {
    load: async (name) => {
      try {
        const d = await service.getDefinition(name, { decrypt: true })
        return { name, source: d.yaml }
      } catch {
        return undefined
      }
    },
  }
  return {
    read: async () => {
      const d = await service.getDefinition(environment, { decrypt: true })
      return { yaml: d.yaml, revision: d.revision }
    },
    evaluate: (yaml, rotatePaths) =>
      opts.evaluate({
        name: environment,
        source: yaml,
        mode: 'rotate',
        providers,
        loader,
        ...(opts.context ? { context: opts.context } : {}),
        ...(rotatePaths ? { rotatePaths } : {}),
      }),
    save: (yaml, baseRevision, message) => service.update(environment, yaml, { baseRevision, message }),
  }
}

/**
 * What `envelope env rotate` runs: the service's own `rotate` when it has one, else the same flow over its
 * public methods with `providers` (default: the built-in registry with the service's plugins folder and the
 * `envelope.allow-command` tag rule). Versioned references are refused, as `esc env rotate` does.
 */
/** The parts of the local store used beyond EnvironmentService (both optional). */
export interface RotatableService extends EnvironmentService {
  dataDir?: string
  recordAudit?(e: { action: AuditEvent['action']; target: string; result?: AuditEvent['result']; detail?: Record<string, JsonValue> }): Promise<void>
}

export async function rotateEnvironment(
  service: RotatableService,
  ref: string,
  paths: string[],
  opts: { providers?: ProviderRegistry; evaluate?: (o: EvaluateOptions) => Promise<EvalResult> } = {},
): Promise<RotationResult> {
  if (ref.includes('@')) {
    throw new UserError('invalid_input', `rotate refuses versioned references (${ref}): rotation always starts from the latest revision`, {
      hint: `run \`envelope env rotate ${ref.replace(/@.*$/, '')}\``,
    })
  }
  if (typeof service.rotate === 'function') return service.rotate(ref, paths.length ? { paths } : {})
  const providers =
    opts.providers ??
    createProviderRegistry({
      ...(service.dataDir ? { dataDir: service.dataDir } : {}),
      allowCommand: async (environment) => {
        try {
          return commandAllowedByTags(await service.getTags(environment.replace(/@.*$/, '')))
        } catch {
          return false
        }
      },
    })
  const evaluate = opts.evaluate ?? (await import('../../shared/esc/index.ts')).evaluate
  let result: RotationResult
  try {
    result = await rotateStoredEnvironment(ref, paths.length ? paths : undefined, serviceRotateDeps(service, ref, providers, { evaluate }))
  } catch (err) {
    await service
      .recordAudit?.({ action: 'rotate', target: ref, result: 'error', detail: { paths, error: err instanceof UserError ? err.code : 'internal' } })
      .catch(() => {})
    throw err
  }
  // audited as `rotate` (paths and statuses only: never a value)
  await service.recordAudit?.({
    action: 'rotate',
    target: ref,
    result: result.status === 'failed' ? 'error' : 'ok',
    detail: {
      paths,
      preRotationRevision: result.preRotationRevision,
      ...(result.postRotationRevision !== undefined ? { postRotationRevision: result.postRotationRevision } : {}),
      rotations: result.rotations.map((r) => ({ path: r.path, status: r.status })),
    },
  })
  return result
}

/** Human output of a rotation: one line per rotated value, the revision written, other errors. */
export function formatRotation(r: RotationResult): string {
  const lines: string[] = []
  if (r.rotations.length === 0) lines.push(`${r.environment} has no fn::rotate values: nothing rotated`)
  const width = Math.max(0, ...r.rotations.map((x) => x.path.length))
  for (const x of r.rotations) lines.push(`  ${x.path.padEnd(width)}  ${x.status}${x.errorMessage ? `: ${x.errorMessage}` : ''}`)
  if (r.postRotationRevision !== undefined) lines.push(`${r.environment}: revision ${r.preRotationRevision} -> ${r.postRotationRevision}`)
  else if (r.rotations.length) lines.push(`${r.environment}: nothing saved (revision ${r.preRotationRevision} unchanged)`)
  for (const d of r.diagnostics) {
    if (d.severity !== 'error' || d.summary.startsWith('rotate: ')) continue
    const at = d.range ? `${d.range.environment}:${d.range.begin.line}:${d.range.begin.column}: ` : d.path ? `${d.path}: ` : ''
    lines.push(`error: ${at}${d.summary}`)
  }
  return lines.join('\n') + '\n'
}
