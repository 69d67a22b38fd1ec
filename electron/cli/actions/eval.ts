/** `envelope eval`: the pure core over files on disk. */
import { readFile } from 'node:fs/promises'
import { basename, dirname, extname, join, resolve, sep } from 'node:path'
import { userInfo } from 'node:os'
import { evaluate } from '../../../shared/esc/index.ts'
import type { EnvironmentLoader } from '../../../shared/esc/host.ts'
import { UserError } from '../../../shared/errors.ts'
import { formatValue, formatEnvFile, parseFormat, parsePath, lookup, rootValue, projectEnvironment } from '../../../shared/format/index.ts'
import type { Cli } from '../context.ts'
import { printDiagnostics, readInput, ReportedError } from '../util.ts'

export async function evalFile(cli: Cli, file: string, opts: { format: string; showSecrets: boolean; check: boolean; path?: string }): Promise<void> {
  const format = parseFormat(opts.format)
  const source = await readInput(file)
  const dir = file === '-' ? process.cwd() : dirname(resolve(file))
  const name = file === '-' ? 'stdin' : basename(file, extname(file))
  // environment name -> [display path, text], for diagnostics
  const files = new Map<string, { display: string; text: string }>([[name, { display: file === '-' ? '<stdin>' : file, text: source }]])
  const loader: EnvironmentLoader = {
    async load(ref) {
      const plain = ref.replace(/@.*$/, '')
      const path = resolve(dir, `${plain}.yaml`)
      if (!path.startsWith(dir + sep)) return undefined
      try {
        const text = await readFile(path, 'utf8')
        files.set(ref, { display: join(file === '-' ? '.' : dirname(file), `${plain}.yaml`), text })
        return { name: ref, source: text }
      } catch {
        return undefined
      }
    },
  }
  let user = 'unknown'
  try {
    user = userInfo().username
  } catch {
    // no passwd entry: keep the placeholder
  }
  const providers = opts.check ? undefined : (await import('../../providers/index.ts')).createProviderRegistry({ allowCommand: false })
  const result = await evaluate({
    name,
    source,
    mode: opts.check ? 'check' : 'eval',
    loader,
    ...(providers ? { providers } : {}),
    context: { pulumi: { user: { id: user } } },
  })
  const errors = printDiagnostics(cli, result.diagnostics, (env) => files.get(env) ?? { display: env }, file)
  if (errors > 0) throw new ReportedError(`${file}: ${errors} error${errors === 1 ? '' : 's'}`)
  if (!result.value) throw new UserError('invalid_input', `${file} produced no value`)
  const reveal = opts.showSecrets
  if (format === 'dotenv' || format === 'shell') {
    if (opts.path)
      throw new UserError('invalid_input', `--format ${format} cannot be combined with --path`, {
        hint: 'dotenv and shell print environmentVariables; use json or string for one property',
      })
    const p = projectEnvironment(result.value, { reveal })
    if (Object.keys(p.files).length > 0)
      cli.err(`note: ${Object.keys(p.files).join(', ')} under files are left out (only \`envelope open\` and \`envelope run\` write them to temp files)\n`)
    cli.out(formatEnvFile(format, p.variables))
    return
  }
  const v = opts.path ? lookup(rootValue(result.value), parsePath(opts.path)) : rootValue(result.value)
  cli.out(formatValue(format, v, { reveal }))
}
