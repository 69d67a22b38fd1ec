/** `envelope key status|rotate|export|import`: the store key in the OS keychain. */
import { defineCommand } from '../registry.ts'

defineCommand({
  name: 'key',
  commands: ['key'],
  register(root, _env, cli) {
    const key = root.command('key').description('the store key (kept in the OS keychain)')
    key.command('status').description('which key backend is in use and whether the key is reachable')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(async (opts: { output: string }) => (await import('../actions/key.ts')).keyStatusCommand(cli, opts))
    key.command('rotate').description('replace the key-encryption key (re-wraps every data key; no secret is re-encrypted)')
      .action(async () => (await import('../actions/key.ts')).keyRotateCommand(cli))
    key.command('export').description('print the store key sealed with a passphrase (for a second machine)')
      .option('--passphrase-file <file>', 'read the passphrase from a file (default: ENVELOPE_EXPORT_PASSPHRASE, else prompt)')
      .option('-o, --output <file>', 'write to this file (mode 0600) instead of stdout')
      .action(async (opts: { passphraseFile?: string; output?: string }) => (await import('../actions/key.ts')).keyExportCommand(cli, opts))
    key.command('import').description('install a key exported by `key export` into this machine\'s keychain')
      .argument('<file>', 'the exported key (- for stdin)')
      .option('--passphrase-file <file>', 'read the passphrase from a file (default: ENVELOPE_EXPORT_PASSPHRASE, else prompt)')
      .action(async (file: string, opts: { passphraseFile?: string }) => (await import('../actions/key.ts')).keyImportCommand(cli, file, opts))
  },
})
