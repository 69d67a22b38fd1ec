/**
 * The run plan: what running a command with an environment means, decided once for every face (the CLI's
 * `envelope run`, the agent, the app's Run screen and its terminal launch). From an opened environment and
 * an argv it gives the refusal when the environment has errors, the variables and files to inject, the
 * strings to mask in the output, the arguments with `${…}` substituted, and the audit event to record.
 * The faces keep only their I/O: how they show a refusal, how they spawn the process.
 */
import type { Diagnostic, EvalValue } from '../esc/host.ts'
import { UserError } from '../errors.ts'
import { checkEnvironmentVariables, collectSecrets, lookup, parsePath, projectEnvironment, rootValue, scalarText } from '../format/index.ts'
import type { OpenResult } from '../models.ts'
import { splitCommandLine } from '../cmdline.ts'
import { commandName, runEvent, type AuditRecord, type RunVia } from './audit.ts'

/** An opened environment that may be used: it evaluated, without errors. */
export type UsableOpenResult = OpenResult & { value: Record<string, EvalValue> }

/** Why an opened environment may not be used: the error data every face presents in its own way. */
export interface Refusal {
  /** the number of errors (at least 1: an environment without a value counts as one) */
  count: number
  first?: Diagnostic
  /** the one error text: what could not be done, to which environment, and its first error with its place */
  message: string
}

/** Where a diagnostic points, as ` (env:line:column)`, or '' without a range. */
function at(d: Diagnostic | undefined): string {
  return d?.range ? ` (${d.range.environment}:${d.range.begin.line}:${d.range.begin.column})` : ''
}

/**
 * The refusal for using `ref` (to `run`, `export` or `open` it) when it has errors or no value; undefined
 * when it may be used. Warnings do not refuse.
 */
export function refusal(ref: string, opened: OpenResult, use: 'run' | 'export' | 'open'): Refusal | undefined {
  const errors = opened.diagnostics.filter((d) => d.severity === 'error')
  if (errors.length === 0 && opened.value) return undefined
  const count = errors.length || 1
  const first = errors[0]
  const message = `cannot ${use} ${ref}: it has ${count} error${count === 1 ? '' : 's'}${first ? `; first: ${first.summary}${at(first)}` : ''}`
  return { count, ...(first ? { first } : {}), message }
}

/** Throws the refusal as a UserError (with the face's `hint`); narrows `opened` to a usable one. */
export function assertUsable(ref: string, opened: OpenResult, use: 'run' | 'export' | 'open', hint: string): asserts opened is UsableOpenResult {
  const r = refusal(ref, opened, use)
  if (r) throw new UserError('invalid_input', r.message, { hint })
}

/** The command and its arguments of `argv`; `no command given` (with the face's `hint`) when it is empty. */
export function requireCommand(argv: readonly string[], hint: string): { command: string; args: string[] } {
  const [command, ...args] = argv
  if (!command) throw new UserError('invalid_input', 'no command given', { hint })
  return { command, args }
}

/** Replaces `${path}` placeholders in arguments with values (esc run does this); `$${` escapes. */
export function substituteArgs(args: readonly string[], resolve: (path: string) => string): string[] {
  return args.map((a) => a.replace(/\$\$\{|\$\{([^}]*)\}/g, (m, path: string | undefined) => (m === '$${' ? '${' : resolve(path!))))
}

/** `${path}` in arguments resolved against an environment's values (secrets revealed: the command gets them). */
export function substituteValues(args: readonly string[], value: Record<string, EvalValue>): string[] {
  const root = rootValue(value)
  return substituteArgs(args, (path) => scalarText(lookup(root, parsePath(path)), { reveal: true }))
}

/** Lines of a multi-line secret shorter than this are not masked on their own (a PEM's short last line, `}`). */
export const MIN_SECRET_LINE = 4

/**
 * The texts a run's output masker hides: every secret whole, and every line (4+ characters, also with its
 * surrounding blanks trimmed) of a multi-line secret, since commands print them a line at a time (`sed -n 2p`,
 * `env | sort`, a PEM read by a tool that echoes it). Longest first. Decided here once, so the CLI's runs, the
 * agent and the app's runs all mask the same set.
 */
export function maskTexts(secrets: readonly string[]): string[] {
  const out = new Set(secrets)
  for (const s of secrets) {
    if (!/[\r\n]/.test(s)) continue
    for (const line of s.split(/\r\n|\r|\n/)) {
      for (const t of [line, line.trim()]) if (t.length >= MIN_SECRET_LINE) out.add(t)
    }
  }
  return [...out].sort((a, b) => b.length - a.length)
}

/**
 * Refuses what no process environment can hold, before anything is spawned: the same rule `export` applies
 * (`checkEnvironmentVariables`); `files` names become variables too (their contents go to files, any bytes).
 */
function checkInjectable(p: { variables: Record<string, string>; files: Record<string, string> }): void {
  checkEnvironmentVariables(p.variables)
  checkEnvironmentVariables(Object.fromEntries(Object.keys(p.files).map((k) => [k, ''])), 'files')
}

export interface RunPlan {
  environment: string
  revision: number
  command: string
  /** the arguments, `${…}` substituted */
  args: string[]
  /** `environmentVariables`: name → text */
  variables: Record<string, string>
  /** `files`: variable name → content (the launcher writes a temp file and the variable holds its path) */
  files: Record<string, string>
  /** every secret text of the environment and every line of a multi-line one (maskTexts), for the output masker */
  secrets: string[]
  /** the audit event to record before the command starts */
  audit: AuditRecord
}

export interface RunOptions {
  /** whether the command's output is masked (the audit says so) */
  mask: boolean
  via?: RunVia
  agent?: boolean
}

/**
 * The plan for running `argv` (command first) with the opened environment `ref`. Throws the refusal
 * (UserError, with the face's `hint` on what to do about the errors) when it has errors; faces that
 * present errors otherwise (the CLI prints the diagnostics first) check `refusal` before. Faces check
 * `requireCommand` (with their own hint) before opening the environment.
 */
export function planRun(ref: string, opened: OpenResult, argv: readonly string[], opts: RunOptions & { hint?: string }): RunPlan {
  const { command, args } = requireCommand(argv, 'give a command to run')
  assertUsable(ref, opened, 'run', opts.hint ?? 'fix the errors and save, then run again')
  const p = projectEnvironment(opened.value, { reveal: true })
  checkInjectable(p)
  return {
    environment: opened.environment,
    revision: opened.revision,
    command,
    args: substituteValues(args, opened.value),
    variables: p.variables,
    files: p.files,
    secrets: maskTexts(collectSecrets(opened.value)),
    audit: runEvent({
      environment: opened.environment,
      revision: opened.revision,
      command: commandName(command),
      variables: Object.keys(p.variables).length,
      files: Object.keys(p.files).length,
      masked: opts.mask,
      ...(opts.via ? { via: opts.via } : {}),
      ...(opts.agent ? { agent: true } : {}),
    }),
  }
}

/** The names a run injects (variables and files), sorted: what the app shows under a started run. */
export function injectedNames(plan: Pick<RunPlan, 'variables' | 'files'>): string[] {
  return [...Object.keys(plan.variables), ...Object.keys(plan.files)].sort()
}

export interface TerminalPlan {
  /** `environmentVariables` only: a terminal lives on after Envelope, temp files for `files` would not */
  variables: Record<string, string>
  audit: AuditRecord
}

/**
 * The plan for starting the user's terminal (`commandLine`, from Settings) with environment `ref`: refused
 * like a run when it has errors, and audited as a `run` (`via: 'terminal'`, output not masked).
 */
export function planTerminal(ref: string, opened: OpenResult, commandLine: string, hint: string): TerminalPlan {
  assertUsable(ref, opened, 'run', hint)
  const variables = projectEnvironment(opened.value, { reveal: true }).variables
  checkEnvironmentVariables(variables)
  const program = splitCommandLine(commandLine)[0] ?? commandLine
  return {
    variables,
    audit: runEvent({
      environment: opened.environment,
      revision: opened.revision,
      command: commandName(program),
      variables: Object.keys(variables).length,
      files: 0,
      masked: false,
      via: 'terminal',
    }),
  }
}
