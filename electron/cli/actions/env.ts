/** `env init|ls|get|set|rm|clone` and `import`. */
import { describeUses, InUseError, UserError } from '../../../shared/errors.ts'
import { formatEnvFile, formatJson, formatValue, lookup, parseFormat, parsePath, projectEnvironment, rootValue } from '../../../shared/format/index.ts'
import { parseRef } from '../../../shared/domain/names.ts'
import type { Cli } from '../context.ts'
import { hiddenPrompt, printStoreDiagnostics, readInput, ReportedError } from '../util.ts'
import { assertReadsBack, deleteValue, loadDefinition, plainValue, setValue } from './yamledit.ts'
import { exactNode } from '../../../shared/format/yaml-exact.ts'
import { secretLiteral } from '../../../shared/esc/crypt.ts'

function plainRef(ref: string, what: string): string {
  if (ref.includes('@')) throw new UserError('invalid_input', `${what} does not take a version (${ref})`, { hint: `use ${ref.replace(/@.*$/, '')}` })
  return ref
}

/** Renders a DefinitionError's diagnostics with the text that was submitted, then rethrows it marked as shown. */
export async function saveOrReport<T>(cli: Cli, env: string, text: string, save: () => Promise<T>): Promise<T> {
  try {
    return await save()
  } catch (e) {
    const diags = (e as { diagnostics?: unknown }).diagnostics
    if (e instanceof UserError && Array.isArray(diags)) {
      const n = await printStoreDiagnostics(cli, diags, env, { [env]: text })
      throw new ReportedError(`${env}: the definition has ${n} error${n === 1 ? '' : 's'}; nothing was saved`, e.hint)
    }
    throw e
  }
}

export async function initCommand(cli: Cli, ref: string, opts: { file?: string; message?: string }): Promise<void> {
  const store = await cli.store()
  const env = plainRef(ref, 'init')
  const yaml = opts.file ? await readInput(opts.file) : undefined
  const rev = await saveOrReport(cli, env, yaml ?? '', () =>
    store.create(env, { ...(yaml !== undefined ? { yaml } : {}), ...(opts.message ? { message: opts.message } : {}) }),
  )
  cli.out(`Environment ${rev.environment} created (revision ${rev.number}).\n`)
}

export async function lsCommand(cli: Cli, opts: { project?: string; output: 'text' | 'json' }): Promise<void> {
  const store = await cli.store()
  const list = (await store.list()).filter((e) => !opts.project || e.project === opts.project)
  if (opts.output === 'json')
    cli.out(
      formatJson({
        environments: list.map((e) => ({
          project: e.project,
          name: e.name,
          latestRevision: e.latestRevision,
          created: e.created,
          modified: e.modified,
          tags: e.tags,
        })),
      }),
    )
  else cli.out(list.map((e) => `${e.id}\n`).join(''))
}

export async function getCommand(
  cli: Cli,
  ref: string,
  path: string | undefined,
  opts: { value?: string; definition: boolean; showSecrets: boolean },
): Promise<void> {
  const store = await cli.store()
  const def = await store.getDefinition(ref, { decrypt: opts.showSecrets })
  if (opts.definition) {
    cli.out(def.yaml.endsWith('\n') || def.yaml === '' ? def.yaml : def.yaml + '\n')
    return
  }
  const res = await store.check(def.environment, def.yaml)
  await printStoreDiagnostics(cli, res.diagnostics, ref, { [def.environment]: def.yaml })
  const root = rootValue(res.value)
  const v = path ? lookup(root, parsePath(path)) : root
  const reveal = opts.showSecrets
  if (opts.value) {
    const format = parseFormat(opts.value)
    if (format === 'dotenv' || format === 'shell') {
      if (path) throw new UserError('invalid_input', `--value ${format} cannot be combined with a property path`)
      const p = projectEnvironment(res.value, { reveal })
      if (Object.keys(p.files).length > 0)
        cli.err(`note: ${Object.keys(p.files).join(', ')} under files are left out (only \`envelope open\` and \`envelope run\` write them to temp files)\n`)
      cli.out(formatEnvFile(format, p.variables))
    } else cli.out(formatValue(format, v, { reveal }))
    return
  }
  let out = `# Value\n\`\`\`json\n${formatValue('json', v, { reveal })}\`\`\`\n`
  if (path && v.trace.def) {
    out += `\n# Defined at\n- ${v.trace.def.environment}:${v.trace.def.begin.line}:${v.trace.def.begin.column}\n`
  }
  out += `\n# Definition\n\`\`\`yaml\n${def.yaml}${def.yaml.endsWith('\n') || def.yaml === '' ? '' : '\n'}\`\`\`\n`
  cli.out(out)
}

export async function setCommand(
  cli: Cli,
  ref: string,
  pathText: string,
  valueText: string | undefined,
  opts: { secret: boolean; plaintext: boolean; string: boolean; file?: string; message?: string },
): Promise<void> {
  const env = plainRef(ref, 'set')
  if (opts.secret && opts.plaintext) throw new UserError('invalid_input', '--secret and --plaintext cannot be used together')
  if (valueText !== undefined && opts.file) throw new UserError('invalid_input', 'give the value either as an argument or with --file, not both')
  const path = parsePath(pathText)
  let raw = opts.file ? await readInput(opts.file) : valueText
  if (raw === undefined && opts.secret && cli.interactive) {
    // asked on the terminal without echo: the secret stays out of the shell's history and the process list
    raw = await hiddenPrompt(`Value of the secret ${pathText} (not echoed): `)
  }
  if (raw === undefined)
    throw new UserError('invalid_input', 'missing value', {
      hint: opts.secret
        ? `give it as an argument, from a file with -f <file> (- for stdin), or run on a terminal to be asked without echo`
        : `envelope env set ${env} ${pathText} <value> (a value starting with - goes after --: envelope env set ${env} ${pathText} -- <value>)`,
    })
  // a secret and --string are the text exactly as given (argument, prompt or file bytes); a plain value is typed by
  // YAML only where that loses nothing (see plainValue)
  // (a plain value from a file loses one final newline: the file's line end, not part of `8080`)
  let value: unknown = opts.secret || opts.string ? raw : plainValue(opts.file ? raw.replace(/\r?\n$/, '') : raw)
  if (opts.secret) {
    value = { 'fn::secret': secretLiteral(raw) }
  } else if (!opts.plaintext && typeof value === 'string') {
    const { guessSecret } = await import('../../services/dotenv/detect.ts')
    const last = path[path.length - 1]
    if (guessSecret(typeof last === 'string' ? last : '', value).secret) {
      throw new UserError('invalid_input', `${pathText} looks like a secret; refusing to store it in plaintext`, {
        hint: `add --secret to encrypt it, or --plaintext if it is not a secret`,
      })
    }
  }
  const store = await cli.store()
  const def = await store.getDefinition(env)
  const doc = loadDefinition(def.yaml, env)
  setValue(doc, path, exactNode(doc, value))
  const text = doc.toString({ lineWidth: 0 })
  assertReadsBack(text, path, value)
  const rev = await saveOrReport(cli, env, text, () => store.update(env, text, { baseRevision: def.revision, message: opts.message ?? `set ${pathText}` }))
  cli.out(`Updated ${env} (revision ${rev.number}).\n`)
}

/**
 * `env rm <env> [path]`: removes one value, or the environment. An environment other environments use
 * (imports, `${environments.…}` references) is refused, naming them, unless `--force`; the store checks
 * again when it deletes. The confirmation prompt lists those uses when `--force` deletes anyway.
 */
export async function rmCommand(cli: Cli, ref: string, pathText: string | undefined, opts: { yes: boolean; force?: boolean; message?: string }): Promise<void> {
  const env = plainRef(ref, 'rm')
  const store = await cli.store()
  if (pathText !== undefined) {
    const path = parsePath(pathText)
    const def = await store.getDefinition(env)
    const doc = loadDefinition(def.yaml, env)
    deleteValue(doc, path)
    const text = doc.toString({ lineWidth: 0 })
    const rev = await saveOrReport(cli, env, text, () => store.update(env, text, { baseRevision: def.revision, message: opts.message ?? `rm ${pathText}` }))
    cli.out(`Removed ${pathText} from ${env} (revision ${rev.number}).\n`)
    return
  }
  const skip = opts.yes || /^(1|true|yes)$/i.test(process.env.ENVELOPE_SKIP_CONFIRMATIONS ?? process.env.PULUMI_SKIP_CONFIRMATIONS ?? '')
  // (also makes sure it exists before asking)
  const users = await store.importers(env)
  if (users.length > 0 && !opts.force)
    throw new InUseError(parseRef(env).id, users, `remove those uses first, or delete anyway: envelope env rm ${env} --force`)
  if (!skip) {
    const full = env.includes('/') ? env : `default/${env}`
    if (!cli.interactive) {
      throw new UserError('invalid_input', `refusing to delete ${full} without confirmation`, { hint: 'pass --yes to delete without asking' })
    }
    const breaks = users.length > 0 ? `These environments use it and will fail to open: ${describeUses(users)}.\n` : ''
    const answer = await cli.prompt(`This deletes ${full} and its whole history; it cannot be undone.\n${breaks}Type the name of the environment to confirm: `)
    if (answer?.trim() !== full && answer?.trim() !== env) throw new UserError('cancelled', 'confirmation did not match; nothing was deleted')
  }
  await store.delete(env, opts.force ? { force: true } : {})
  if (users.length > 0) cli.err(`warning: ${[...new Set(users.map((u) => u.id))].join(', ')} used ${env} and will fail to open until fixed\n`)
  cli.out(`Environment ${env} deleted.\n`)
}

export async function cloneCommand(
  cli: Cli,
  from: string,
  to: string,
  opts: { preserveHistory: boolean; preserveRevTags: boolean; preserveEnvTags: boolean },
): Promise<void> {
  const src = plainRef(from, 'clone')
  const dst = plainRef(to.includes('/') ? to : `${parseRef(src).project}/${to}`, 'clone')
  const store = await cli.store()
  const rev = await store.clone(src, dst, { keepHistory: opts.preserveHistory, keepRevisionTags: opts.preserveRevTags, keepEnvTags: opts.preserveEnvTags })
  cli.out(`Cloned ${src} to ${rev.environment} (revision ${rev.number}).\n`)
}

export async function importCommand(
  cli: Cli,
  ref: string,
  file: string,
  opts: { secret?: string[]; plaintext?: string[]; allSecret: boolean; detect: boolean; message?: string },
): Promise<void> {
  const env = plainRef(ref, 'import')
  const text = await readInput(file)
  const { importDotenv } = await import('../../services/dotenv/index.ts')
  const store = await cli.store()
  let existing: { yaml: string; revision: number } | undefined
  try {
    const d = await store.getDefinition(env)
    existing = { yaml: d.yaml, revision: d.revision }
  } catch (e) {
    if (!(e instanceof UserError && e.code === 'not_found')) throw e
  }
  const result = importDotenv(text, existing?.yaml ?? '', {
    ...(opts.secret ? { secret: opts.secret } : {}),
    ...(opts.plaintext ? { plaintext: opts.plaintext } : {}),
    allSecret: opts.allSecret,
    detect: opts.detect,
  })
  const message = opts.message ?? `import ${file === '-' ? 'stdin' : file}`
  const rev = await saveOrReport(cli, env, result.yaml, () =>
    existing ? store.update(env, result.yaml, { baseRevision: existing.revision, message }) : store.create(env, { yaml: result.yaml, message }),
  )
  const secrets = result.variables.filter((v) => v.secret)
  cli.out(
    `Imported ${result.variables.length} variable${result.variables.length === 1 ? '' : 's'} into ${env} (revision ${rev.number}); ${secrets.length} stored as secret${secrets.length === 1 ? '' : 's'}.\n`,
  )
  for (const v of result.variables)
    cli.out(`  ${v.secret ? 'secret   ' : 'plaintext'}  ${v.name}${v.reason && v.reason !== 'flag' ? `  (detected: ${v.reason})` : ''}\n`)
  if (secrets.length === 0 && opts.detect) cli.err('note: no variable looked like a secret; use --secret NAME to encrypt one\n')
}
