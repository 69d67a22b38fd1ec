/** Key commands over the store's KeyManager. */
import { UserError } from '../../../shared/errors.ts'
import { formatJson } from '../../../shared/format/index.ts'
import type { Cli } from '../context.ts'
import { readInput, writePrivateFile } from '../util.ts'

export async function keyStatusCommand(cli: Cli, opts: { output: string }): Promise<void> {
  const s = await (await cli.store()).keyStatus()
  if (opts.output === 'json') {
    cli.out(formatJson(s as never))
    return
  }
  cli.out(`backend:   ${s.backend} (${s.description})\navailable: ${s.available ? 'yes' : 'no'}\n${s.keyId ? `key id:    ${s.keyId}\n` : ''}${s.message ? `note:      ${s.message}\n` : ''}`)
  if (!s.available) cli.exitCode = 1
}

export async function keyRotateCommand(cli: Cli): Promise<void> {
  const r = await (await cli.store()).rotateKey()
  cli.out(`Key rotated: ${r.rewrapped} data key${r.rewrapped === 1 ? '' : 's'} re-wrapped under ${r.keyId} (retired ${r.retiredKeyId}).\n`)
}

async function passphrase(cli: Cli, file: string | undefined, confirm: boolean): Promise<string> {
  let p: string | undefined
  if (file) p = readInput(file).replace(/\r?\n$/, '')
  else if (process.env.ENVELOPE_EXPORT_PASSPHRASE) p = process.env.ENVELOPE_EXPORT_PASSPHRASE
  else if (cli.interactive) {
    p = await cli.prompt('Passphrase: ')
    if (confirm && p !== undefined && (await cli.prompt('Repeat passphrase: ')) !== p) throw new UserError('invalid_input', 'the passphrases do not match')
  }
  if (!p) throw new UserError('invalid_input', 'a passphrase is required', { hint: 'use --passphrase-file or ENVELOPE_EXPORT_PASSPHRASE' })
  if (confirm && p.length < 12) throw new UserError('invalid_input', 'the passphrase is too short (12 characters at least)')
  return p
}

export async function keyExportCommand(cli: Cli, opts: { passphraseFile?: string; output?: string }): Promise<void> {
  const p = await passphrase(cli, opts.passphraseFile, true)
  const text = await (await cli.store()).exportKey(p)
  if (opts.output) {
    writePrivateFile(opts.output, text.endsWith('\n') ? text : text + '\n')
    cli.err(`wrote ${opts.output}\n`)
  } else cli.out(text.endsWith('\n') ? text : text + '\n')
}

export async function keyImportCommand(cli: Cli, file: string, opts: { passphraseFile?: string }): Promise<void> {
  const exported = readInput(file)
  const p = await passphrase(cli, opts.passphraseFile, false)
  const r = await (await cli.store()).importKey(exported, p)
  cli.out(`Key ${r.keyId} imported.\n`)
}
