/** `open`, `run` and `export`: evaluate a stored environment (providers opened) and hand out its values. */
import { UserError } from '../../../shared/errors.ts'
import { formatEnvFile, formatValue, lookup, parseFormat, parsePath, projectEnvironment, rootValue } from '../../../shared/format/index.ts'
import { planExport } from '../../../shared/domain/export.ts'
import { planRun, refusal, requireCommand, type UsableOpenResult } from '../../../shared/domain/run-plan.ts'
import type { Cli } from '../context.ts'
import { printStoreDiagnostics, ReportedError, writePrivateFile } from '../util.ts'

/** Opens `ref` to `use` it; prints diagnostics, then fails with the domain's refusal when there are errors. */
export async function openOrFail(cli: Cli, ref: string, use: 'run' | 'export' | 'open' = 'open'): Promise<UsableOpenResult> {
  const store = await cli.store()
  const res = await store.open(ref)
  await printStoreDiagnostics(cli, res.diagnostics, ref)
  const refused = refusal(ref, res, use)
  if (refused) throw new ReportedError(refused.message)
  return res as UsableOpenResult
}

export async function openCommand(cli: Cli, ref: string, path: string | undefined, opts: { format: string }): Promise<void> {
  const format = parseFormat(opts.format)
  if (path && (format === 'dotenv' || format === 'shell')) {
    throw new UserError('invalid_input', `--format ${format} cannot be combined with a property path`, {
      hint: 'dotenv and shell print environmentVariables; use json or string for one property',
    })
  }
  const res = await openOrFail(cli, ref)
  if (format === 'dotenv' || format === 'shell') {
    const p = projectEnvironment(res.value, { reveal: true })
    // like `esc open`: files are written to private temp files that stay for the caller to use
    const { writeTempFiles } = await import('../../services/launcher/index.ts')
    const temp = writeTempFiles(p.files, 'envelope-open-')
    cli.out(formatEnvFile(format, { ...p.variables, ...temp.paths }))
    return
  }
  const v = path ? lookup(rootValue(res.value), parsePath(path)) : rootValue(res.value)
  cli.out(formatValue(format, v, { reveal: true }))
}

export async function runCommand(cli: Cli, ref: string, argv: string[], opts: { mask: boolean }): Promise<void> {
  // commander keeps the `--` separator among the operands when options pass through
  const operands = argv[0] === '--' ? argv.slice(1) : argv
  requireCommand(operands, `envelope run ${ref} -- <command> [args...]`)
  const res = await openOrFail(cli, ref, 'run')
  const plan = planRun(ref, res, operands, { mask: opts.mask })
  const { launch } = await import('../../services/launcher/index.ts')
  const store = await cli.store()
  // no agent served this run: the next ones are faster with one (started while the command runs)
  const { agentAutostart } = await import('./agent.ts')
  const startAgent = await agentAutostart(cli, store, res)
  await store.recordAudit(plan.audit)
  // the store is not needed while the child runs: let it go once the child has started, without the
  // last-connection checkpoint (an fsync) that closing would do (see Cli.close)
  const onSpawn = (): void => {
    cli.close({ exiting: true })
    startAgent?.()
  }
  cli.exitCode = await launch({
    command: plan.command,
    args: plan.args,
    variables: plan.variables,
    files: plan.files,
    secrets: plan.secrets,
    mask: opts.mask,
    onSpawn,
  })
}

export async function exportCommand(
  cli: Cli,
  ref: string,
  opts: { format: 'dotenv' | 'shell' | 'json' | 'yaml'; output?: string; force?: boolean },
): Promise<void> {
  const res = await openOrFail(cli, ref, 'export')
  const plan = planExport(ref, res, opts.format, { reveal: true, hint: 'fix the errors and save', file: opts.output })
  if (plan.skippedFiles.length > 0) {
    cli.err(
      `warning: ${plan.skippedFiles.join(', ')} under files are not exported (they name temp files that would not outlive this command); use \`envelope run\`\n`,
    )
  }
  const store = await cli.store()
  await store.recordAudit(plan.audit)
  if (opts.output) await writePrivateFile(cli, opts.output, plan.content, { force: opts.force, note: 'it holds secrets in plaintext' })
  else cli.out(plan.content)
}
