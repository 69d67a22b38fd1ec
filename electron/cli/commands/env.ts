/**
 * `envelope env …` (and the top-level aliases `run`, `open`, `export`, `import`), mirroring `esc env`.
 * References are `project/env`, optionally `@version` (a revision number, a tag, or `latest`).
 */
import { Option, type Command } from 'commander'
import { defineCommand } from '../registry.ts'
import { UserError } from '../../../shared/errors.ts'
import type { Cli } from '../context.ts'

const FORMATS = ['json', 'yaml', 'dotenv', 'shell', 'string', 'detailed']

function addOpen(parent: Command, cli: Cli, name = 'open'): void {
  parent
    .command(name)
    .description('evaluate an environment (providers opened) and print its values; audited as open')
    .argument('<env>', 'project/env[@version]')
    .argument('[path]', 'print only this property (e.g. app.url)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS).default('json'))
    .action(async (ref: string, path: string | undefined, opts: { format: string }) => {
      const { openCommand } = await import('../actions/run.ts')
      await openCommand(cli, ref, path, opts)
    })
}

function addRun(parent: Command, cli: Cli): void {
  parent
    .command('run')
    .description("run a command with the environment's environmentVariables and files; secrets in its output are masked")
    .usage('[options] <env> [options] [--] <command> [args...]')
    .argument('<env>', 'project/env[@version]')
    .argument('[command...]', 'the command and its arguments (no shell; use sh -c for shell syntax); ${path} in arguments is replaced by values')
    .option('--no-mask', "do not replace secrets with [secret] in the command's output")
    .option('-i, --interactive', 'same as --no-mask (the command gets the terminal directly)')
    .passThroughOptions()
    .action(async (ref: string, rest: string[], opts: { mask: boolean; interactive?: boolean }, cmd: Command) => {
      // commander stops at <env>: run's options after it (before `--` and the command) are read here (run-args.ts)
      const { parseRunArgs } = await import('../run-args.ts')
      const p = parseRunArgs(rest, ref)
      if (p.help) return cmd.help()
      // usage errors, like commander's own (exit 2)
      if (p.unknown !== undefined)
        cmd.error(
          `error: unknown option '${p.unknown}' for run\nhint: run's options are --no-mask and -i; the command's own options go after it: envelope run ${ref} -- <command> ${p.unknown}`,
          { exitCode: 2, code: 'commander.unknownOption' },
        )
      if (p.command.length === 0)
        cmd.error(`error: no command given\nhint: envelope run ${ref} -- <command> [args...]`, { exitCode: 2, code: 'commander.missingArgument' })
      const { runCommand } = await import('../actions/run.ts')
      await runCommand(cli, ref, p.command, { mask: opts.mask && !opts.interactive && p.mask })
    })
}

function addExport(parent: Command, cli: Cli): void {
  parent
    .command('export')
    .description("write the environment's variables (secrets in plaintext) as dotenv, shell, json or yaml; audited as export")
    .argument('<env>', 'project/env[@version]')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['dotenv', 'shell', 'json', 'yaml']).default('dotenv'))
    .option('-o, --output <file>', 'write to this file (created with mode 0600; - is stdout; a FIFO or device is written into) instead of stdout')
    .option('--force', 'replace the --output file if it exists')
    .action(async (ref: string, opts: { format: 'dotenv' | 'shell' | 'json' | 'yaml'; output?: string; force?: boolean }) => {
      const { exportCommand } = await import('../actions/run.ts')
      await exportCommand(cli, ref, opts)
    })
}

/** A repeatable, comma-separated option (`--secret A,B --secret C`): a variadic one would swallow the operands after it. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter((v) => v !== '')]
}

function addImport(parent: Command, cli: Cli): void {
  parent
    .command('import')
    .description("import a .env file into an environment's environmentVariables (created if missing); likely secrets become fn::secret")
    .argument('<env>', 'project/env')
    .argument('<file>', '.env file (- for stdin)')
    .option('-s, --secret <names>', 'store these variables as secrets (comma-separated; repeatable)', collect, [])
    .option('-p, --plaintext <names>', 'store these variables in plaintext even if they look secret (comma-separated; repeatable)', collect, [])
    .option('--all-secret', 'store every variable as a secret', false)
    .option('--no-detect', 'do not guess secrets from names and values')
    .option('-m, --message <text>', 'revision message')
    .action(async (ref: string, file: string, opts: { secret?: string[]; plaintext?: string[]; allSecret: boolean; detect: boolean; message?: string }) => {
      const { importCommand } = await import('../actions/env.ts')
      await importCommand(cli, ref, file, opts)
    })
}

defineCommand({
  name: 'env',
  commands: ['env'],
  register(_root, env, cli) {
    env
      .command('init')
      .alias('new')
      .description('create an environment (revision 1), optionally from a definition file')
      .argument('<env>', 'project/env')
      .option('-f, --file <file>', 'initial definition (- for stdin)')
      .option('-m, --message <text>', 'revision message')
      .action(async (ref: string, opts: { file?: string; message?: string }) => (await import('../actions/env.ts')).initCommand(cli, ref, opts))

    env
      .command('ls')
      .description('list environments')
      .option('-p, --project <project>', 'only this project')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
      .action(async (opts: { project?: string; output: 'text' | 'json' }) => (await import('../actions/env.ts')).lsCommand(cli, opts))

    env
      .command('get')
      .description('show the definition and the checked value (providers not opened)')
      .argument('<env>', 'project/env[@version]')
      .argument('[path]', 'only this property')
      .addOption(new Option('--value <format>', 'print only the value in this format').choices(['json', 'yaml', 'dotenv', 'shell', 'string', 'detailed']))
      .option('--definition', 'print only the definition', false)
      .option('--show-secrets', 'show secret values in plaintext', false)
      .action(async (ref: string, path: string | undefined, opts: { value?: string; definition: boolean; showSecrets: boolean }) =>
        (await import('../actions/env.ts')).getCommand(cli, ref, path, opts),
      )

    env
      .command('set')
      .description(
        'set one value: a secret or --string exactly as given; a plain value typed by YAML where nothing is lost (8080, true, [a, b]; 007 stays text)',
      )
      .argument('<env>', 'project/env')
      .argument('<path>', 'property path under values, e.g. app.token')
      .argument('[value]', 'the value (omit with --file)')
      .option('--secret', 'store the value exactly as given, encrypted (fn::secret); without a value: asked on the terminal, not echoed', false)
      .option('--plaintext', 'store a value that looks like a secret in plaintext anyway', false)
      .option('--string', 'store the value exactly as given, as a string (no YAML typing)', false)
      .option('-f, --file <file>', "read the value from a file, its bytes exactly (- for stdin; a terminal's input is not echoed)")
      .option('-m, --message <text>', 'revision message')
      // a value may start with `-` (`-5`, `-----BEGIN`, `-x`): an option set does not know is taken as the value
      .allowUnknownOption()
      .action(
        async (
          ref: string,
          path: string,
          value: string | undefined,
          opts: { secret: boolean; plaintext: boolean; string: boolean; file?: string; message?: string },
          cmd: Command,
        ) => {
          let root: Command = cmd
          while (root.parent) root = root.parent
          // rawArgs: the argv commander parsed (set by parse(), not in its typings)
          const raw = (root as unknown as { rawArgs: string[] }).rawArgs
          const afterDashDash = raw.includes('--') && value !== undefined && raw.lastIndexOf(value) > raw.indexOf('--')
          for (const [what, text] of [
            ['environment', ref],
            ['path', path],
          ] as const)
            if (text.startsWith('-'))
              throw new UserError('invalid_input', `unknown option '${text}' (where the ${what} goes)`, { hint: 'see envelope env set --help' })
          // `--secrte`: a misspelt option, not a value (a value like that goes after --)
          if (value !== undefined && /^--[A-Za-z][\w-]*(=.*)?$/.test(value) && !afterDashDash)
            throw new UserError('invalid_input', `unknown option '${value}'`, {
              hint: `see envelope env set --help; a value that starts with -- goes after --: envelope env set ${ref} ${path} -- ${value}`,
            })
          await (await import('../actions/env.ts')).setCommand(cli, ref, path, value, opts)
        },
      )

    env
      .command('edit')
      .description('edit the definition in $VISUAL/$EDITOR (secrets decrypted); errors reopen the editor with the diagnostics')
      .argument('<env>', 'project/env')
      .option('--editor <command>', 'editor command (default $VISUAL, $EDITOR, vi)')
      .option('-f, --file <file>', 'replace the definition with this file instead of editing (- for stdin)')
      .option('-m, --message <text>', 'revision message')
      .action(async (ref: string, opts: { editor?: string; file?: string; message?: string }) =>
        (await import('../actions/edit.ts')).editCommand(cli, ref, opts),
      )

    env
      .command('rm')
      .description('delete an environment (asks for its name), or one value when a path is given')
      .argument('<env>', 'project/env')
      .argument('[path]', 'property path to remove instead of the environment')
      .option('-y, --yes', 'do not ask for confirmation', false)
      .option('--force', 'delete even while other environments import or reference it (they will fail to open)', false)
      .option('-m, --message <text>', 'revision message (with a path)')
      .action(async (ref: string, path: string | undefined, opts: { yes: boolean; force: boolean; message?: string }) =>
        (await import('../actions/env.ts')).rmCommand(cli, ref, path, opts),
      )

    env
      .command('clone')
      .description('copy an environment to a new name')
      .argument('<from>', 'project/env')
      .argument('<to>', 'project/env (or just env: same project)')
      .option('--preserve-history', 'copy every revision (default: only the latest)', false)
      .option('--preserve-rev-tags', 'copy revision tags (with --preserve-history)', false)
      .option('--preserve-env-tags', 'copy environment tags', false)
      .action(async (from: string, to: string, opts: { preserveHistory: boolean; preserveRevTags: boolean; preserveEnvTags: boolean }) =>
        (await import('../actions/env.ts')).cloneCommand(cli, from, to, opts),
      )

    env
      .command('diff')
      .description('diff two versions (default: against latest) or two environments: values and definitions')
      .argument('<env>', 'project/env[@version]')
      .argument('[other]', 'project/env[@version], or @version of the same environment (default @latest)')
      .addOption(
        new Option('-f, --format <format>', 'compare rendered values in this format instead').choices([
          'json',
          'yaml',
          'dotenv',
          'shell',
          'string',
          'detailed',
        ]),
      )
      .option('--path <path>', 'compare only this property')
      .option('--show-secrets', 'show secret values in plaintext', false)
      .action(async (a: string, b: string | undefined, opts: { format?: string; path?: string; showSecrets: boolean }) =>
        (await import('../actions/diff.ts')).diffCommand(cli, a, b, opts),
      )

    addOpen(env, cli)
    addRun(env, cli)

    const version = env
      .command('version')
      .description('describe a revision (project/env@3 or @tag), or manage history, revision tags, retraction, rollback')
      .argument('[env]', 'project/env@version')
      .option('--utc', 'times in UTC', false)
      .action(async (ref: string | undefined, opts: { utc: boolean }) => {
        if (!ref) return version.help({ error: true })
        return (await import('../actions/versions.ts')).describeCommand(cli, ref, opts)
      })
    version
      .command('history')
      .description('list revisions, newest first')
      .argument('<env>', 'project/env[@version] (start at this version)')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
      .option('--utc', 'times in UTC', false)
      .action(async (ref: string, opts: { output: 'text' | 'json'; utc: boolean }) => (await import('../actions/versions.ts')).historyCommand(cli, ref, opts))
    const vtag = version
      .command('tag')
      .description('create or move a revision tag: tag project/env@stable [@3] (default: latest)')
      .argument('[env]', 'project/env@tag')
      .argument('[version]', '@revision to point at (default @latest)')
      .action(async (ref: string | undefined, v: string | undefined) => {
        if (!ref) return vtag.help({ error: true })
        return (await import('../actions/versions.ts')).tagCommand(cli, ref, v)
      })
    vtag
      .command('ls')
      .description('list revision tags')
      .argument('<env>', 'project/env')
      .action(async (ref: string) => (await import('../actions/versions.ts')).tagLsCommand(cli, ref))
    vtag
      .command('rm')
      .description('remove a revision tag')
      .argument('<env>', 'project/env@tag')
      .action(async (ref: string) => (await import('../actions/versions.ts')).tagRmCommand(cli, ref))
    version
      .command('retract')
      .description('retract a revision (it can no longer be read or opened; tags move to the replacement)')
      .argument('<env>', 'project/env@revision')
      .option('--replace-with <version>', 'replacement revision (default: the newest earlier one)')
      .option('--reason <text>', 'why')
      .action(async (ref: string, opts: { replaceWith?: string; reason?: string }) => (await import('../actions/versions.ts')).retractCommand(cli, ref, opts))
    version
      .command('rollback')
      .description("save an earlier revision's definition as a new revision")
      .argument('<env>', 'project/env@version')
      .option('-m, --message <text>', 'revision message')
      .action(async (ref: string, opts: { message?: string }) => (await import('../actions/versions.ts')).rollbackCommand(cli, ref, opts))

    const tag = env
      .command('tag')
      .description('environment tags: tag <env> <name> <value> sets one; tag <env> lists them')
      .argument('[env]', 'project/env')
      .argument('[name]', 'tag name')
      .argument('[value]', 'tag value')
      .action(async (ref: string | undefined, name: string | undefined, value: string | undefined) => {
        if (!ref) return tag.help({ error: true })
        return (await import('../actions/versions.ts')).envTagCommand(cli, ref, name, value)
      })
    tag
      .command('get')
      .argument('<env>')
      .argument('<name>')
      .description('print one tag value')
      .action(async (ref: string, name: string) => (await import('../actions/versions.ts')).envTagGetCommand(cli, ref, name))
    tag
      .command('ls')
      .argument('<env>')
      .description('list tags')
      .action(async (ref: string) => (await import('../actions/versions.ts')).envTagCommand(cli, ref, undefined, undefined))
    tag
      .command('mv')
      .argument('<env>')
      .argument('<name>')
      .argument('<new-name>')
      .description('rename a tag')
      .action(async (ref: string, name: string, to: string) => (await import('../actions/versions.ts')).envTagMvCommand(cli, ref, name, to))
    tag
      .command('rm')
      .argument('<env>')
      .argument('<name>')
      .description('remove a tag')
      .action(async (ref: string, name: string) => (await import('../actions/versions.ts')).envTagRmCommand(cli, ref, name))

    env
      .command('rotate')
      .description('rotate the fn::rotate secrets (all, or under the given paths) and save the new state as a revision')
      .argument('<env>', 'project/env')
      .argument('[paths...]', 'only these paths (e.g. db or values.db)')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
      .action(async (ref: string, paths: string[], opts: { output: 'text' | 'json' }) => {
        const { runRotate } = await import('./rotate.ts')
        cli.exitCode = await runRotate(await cli.store(), ref, paths, { output: opts.output, write: (t) => cli.out(t) })
      })
  },
})

defineCommand({
  name: 'top-level environment commands',
  commands: ['open', 'run', 'export', 'import'],
  register(root, _env, cli) {
    addOpen(root, cli)
    addRun(root, cli)
    addExport(root, cli)
    addImport(root, cli)
  },
})
