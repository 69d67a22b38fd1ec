/** `envelope key status|rotate|export|import`: the store key (OS keychain, passphrase or key file). */
import { Option, type Command } from 'commander'
import type { KeyRotateOptions } from '../actions/key.ts'
import { defineCommand } from '../registry.ts'

const KEY_BACKENDS = ['keychain', 'passphrase', 'keyfile']

const ROTATE_HELP = `
The current key opens every data key first (ENVELOPE_PASSPHRASE or ENVELOPE_KEY_FILE keep naming the
current passphrase or key file during the rotation); the old keychain entry is then deleted.

Examples:
  envelope key rotate                                   new key, same backend
  envelope key rotate --to passphrase                   asks for the new passphrase twice
  ENVELOPE_NEW_PASSPHRASE=… envelope key rotate --to passphrase
  envelope key rotate --to keyfile --key-file ~/.config/envelope/store.key
  envelope key rotate --to keychain                     back to the OS keychain

After --to passphrase, set ENVELOPE_PASSPHRASE for future commands; after --to keyfile, keep the key file
(the store records its path; ENVELOPE_KEY_FILE, when set, must name it).
`
defineCommand({
  name: 'key',
  commands: ['key'],
  register(root, _env, cli) {
    const key = root.command('key').description('the store key (OS keychain by default, or a passphrase or a key file)')
    key
      .command('status')
      .description('which key backend is in use and whether the key is reachable')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(async (opts: { output: string }) => (await import('../actions/key.ts')).keyStatusCommand(cli, opts))
    key
      .command('rotate')
      .description('replace the key-encryption key (re-wraps every data key; no secret is re-encrypted), optionally in another backend')
      .addOption(new Option('--to <backend>', 'move the key to this backend (default: the one in use)').choices(KEY_BACKENDS))
      .option('--key-file <path>', 'with --to keyfile: the new key file (default: ENVELOPE_KEY_FILE); created, mode 0600, with a random key if missing')
      .option(
        '--passphrase-file <file>',
        'with --to passphrase: read the new passphrase from a file (default: ENVELOPE_NEW_PASSPHRASE, else asked twice on a terminal)',
      )
      .addHelpText('after', ROTATE_HELP)
      .action(async (opts: KeyRotateOptions, cmd: Command) =>
        (await import('../actions/key.ts')).keyRotateCommand(cli, opts, (message, hint) =>
          cmd.error(`error: ${message}\nhint: ${hint}`, { exitCode: 2, code: 'commander.usage' }),
        ),
      )
    key
      .command('export')
      .description('print the store key sealed with a passphrase (for a second machine)')
      .option('--passphrase-file <file>', 'read the passphrase from a file (default: ENVELOPE_EXPORT_PASSPHRASE, else prompt)')
      .option('-o, --output <file>', 'write to this file (mode 0600) instead of stdout')
      .option('--force', 'replace the --output file if it exists')
      .action(async (opts: { passphraseFile?: string; output?: string; force?: boolean }) => (await import('../actions/key.ts')).keyExportCommand(cli, opts))
    key
      .command('import')
      .description("install a key exported by `key export` into this machine's keychain")
      .argument('<file>', 'the exported key (- for stdin)')
      .option('--passphrase-file <file>', 'read the passphrase from a file (default: ENVELOPE_EXPORT_PASSPHRASE, else prompt)')
      .action(async (file: string, opts: { passphraseFile?: string }) => (await import('../actions/key.ts')).keyImportCommand(cli, file, opts))
  },
})
