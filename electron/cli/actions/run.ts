/** `open`, `run` and `export`: evaluate a stored environment (providers opened) and hand out its values. */
import { basename } from 'node:path'
import { UserError } from '../../../shared/errors.ts'
import type { OpenResult } from '../../../shared/models.ts'
import {
  collectSecrets,
  formatEnvFile,
  formatJson,
  formatValue,
  formatYaml,
  lookup,
  parseFormat,
  parsePath,
  projectEnvironment,
  rootValue,
  scalarText,
  toPlainObject,
} from '../../../shared/format/index.ts'
import type { Cli } from '../context.ts'
import { printStoreDiagnostics, ReportedError, writePrivateFile } from '../util.ts'

/** Opens `ref`; prints diagnostics and fails when there are errors. */
export async function openOrFail(cli: Cli, ref: string): Promise<OpenResult & { value: NonNullable<OpenResult['value']> }> {
  const store = await cli.store()
  const res = await store.open(ref)
  const errors = await printStoreDiagnostics(cli, res.diagnostics, ref)
  if (errors > 0 || !res.value) throw new ReportedError(`${ref}: ${errors} error${errors === 1 ? '' : 's'}; the environment could not be opened`)
  return res as OpenResult & { value: NonNullable<OpenResult['value']> }
}

export async function openCommand(cli: Cli, ref: string, path: string | undefined, opts: { format: string }): Promise<void> {
  const format = parseFormat(opts.format)
  if (path && (format === 'dotenv' || format === 'shell')) {
    throw new UserError('invalid_input', `--format ${format} cannot be combined with a property path`, { hint: 'dotenv and shell print environmentVariables; use json or string for one property' })
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
  const [command, ...args] = argv[0] === '--' ? argv.slice(1) : argv
  if (!command) throw new UserError('invalid_input', 'no command given', { hint: `envelope run ${ref} -- <command> [args...]` })
  const res = await openOrFail(cli, ref)
  const p = projectEnvironment(res.value, { reveal: true })
  const secrets = collectSecrets(res.value)
  const { launch, substituteArgs } = await import('../../services/launcher/index.ts')
  const root = rootValue(res.value)
  const finalArgs = substituteArgs(args, (path) => scalarText(lookup(root, parsePath(path)), { reveal: true }))
  const store = await cli.store()
  // no agent served this run: the next ones are faster with one (started while the command runs)
  const { agentAutostart } = await import('./agent.ts')
  const startAgent = await agentAutostart(cli, store, res)
  await store.recordAudit({
    action: 'run',
    target: res.environment,
    detail: { revision: res.revision, command: basename(command), variables: Object.keys(p.variables).length, files: Object.keys(p.files).length, masked: opts.mask },
  })
  // the store is not needed while the child runs: let it go once the child has started, without the
  // last-connection checkpoint (an fsync) that closing would do (see Cli.close)
  const onSpawn = (): void => {
    cli.close({ exiting: true })
    startAgent?.()
  }
  cli.exitCode = await launch({ command, args: finalArgs, variables: p.variables, files: p.files, secrets, mask: opts.mask, onSpawn })
}

export async function exportCommand(cli: Cli, ref: string, opts: { format: 'dotenv' | 'shell' | 'json' | 'yaml'; output?: string }): Promise<void> {
  const res = await openOrFail(cli, ref)
  let text: string
  if (opts.format === 'json' || opts.format === 'yaml') {
    const plain = toPlainObject(res.value, { reveal: true })
    text = opts.format === 'json' ? formatJson(plain) : formatYaml(plain)
  } else {
    const p = projectEnvironment(res.value, { reveal: true })
    if (Object.keys(p.files).length > 0) {
      cli.err(`warning: ${Object.keys(p.files).join(', ')} under files are not exported (they name temp files that would not outlive this command); use \`envelope run\`\n`)
    }
    text = formatEnvFile(opts.format, p.variables)
  }
  const store = await cli.store()
  await store.recordAudit({ action: 'export', target: res.environment, detail: { revision: res.revision, format: opts.format, ...(opts.output ? { file: opts.output } : {}) } })
  if (opts.output) {
    writePrivateFile(opts.output, text)
    cli.err(`wrote ${opts.output} (mode 0600; it holds secrets in plaintext)\n`)
  } else cli.out(text)
}

