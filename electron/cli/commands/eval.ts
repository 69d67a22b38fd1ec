/** `envelope eval <file>`: evaluates a YAML environment file with the language core, no store or keychain. */
import { Option } from 'commander'
import { defineCommand } from '../registry.ts'

defineCommand({
  name: 'eval',
  commands: ['eval'],
  register(root, _env, cli) {
    root
      .command('eval')
      .description('evaluate an environment file (imports are <name>.yaml files beside it); prints diagnostics as file:line:col')
      .argument('<file>', 'the YAML environment file (- for stdin)')
      .addOption(new Option('-f, --format <format>', 'output format').choices(['json', 'yaml', 'dotenv', 'shell', 'string', 'detailed']).default('json'))
      .option('--show-secrets', 'print secret values in plaintext', false)
      .option('--check', 'check only: do not open providers (their outputs are [unknown])', false)
      .option('-p, --path <path>', 'print only this property (e.g. app.url)')
      .action(async (file: string, opts: { format: string; showSecrets: boolean; check: boolean; path?: string }) => {
        const { evalFile } = await import('../actions/eval.ts')
        await evalFile(cli, file, opts)
      })
  },
})
