/** Key commands over the store's KeyManager. */
import { resolve } from 'node:path'
import { UserError } from '../../../shared/errors.ts'
import { formatJson } from '../../../shared/format/index.ts'
import type { KeyBackend, KeyConfig } from '../../services/index.ts'
import { checkNewPassphrase, keychainDescription } from '../../services/keychain/kek.ts'
import type { Cli } from '../context.ts'
import { hiddenPrompt, readInput, writePrivateFile } from '../util.ts'

export async function keyStatusCommand(cli: Cli, opts: { output: string }): Promise<void> {
  const s = await (await cli.store()).keyStatus()
  if (opts.output === 'json') {
    cli.out(formatJson(s as never))
    return
  }
  cli.out(
    `backend:   ${s.backend} (${s.description})\navailable: ${s.available ? 'yes' : 'no'}\n${s.keyId ? `key id:    ${s.keyId}\n` : ''}${s.message ? `note:      ${s.message}\n` : ''}`,
  )
  if (!s.available) cli.exitCode = 1
}

/** Flags of `key rotate`. */
export interface KeyRotateOptions {
  to?: KeyBackend
  keyFile?: string
  passphraseFile?: string
}

/** Reports a usage error (exit 2): what is wrong with the flags, and the command line that works. */
export type UsageError = (message: string, hint: string) => never

/**
 * `key rotate [--to keychain|passphrase|keyfile]`: a new KEK re-wraps every data key, in the same backend
 * or another one. The new passphrase comes from --passphrase-file, ENVELOPE_NEW_PASSPHRASE or a prompt
 * (ENVELOPE_PASSPHRASE keeps opening the store until the rotation is done); the key file from --key-file
 * or ENVELOPE_KEY_FILE. Neither is ever printed or audited.
 */
export async function keyRotateCommand(cli: Cli, opts: KeyRotateOptions, usage: UsageError): Promise<void> {
  const again = (flags: string) => `envelope key rotate ${flags}`
  if (opts.keyFile !== undefined && opts.passphraseFile !== undefined)
    usage(
      '--key-file and --passphrase-file exclude each other',
      `${again('--to keyfile --key-file <path>')} or ${again('--to passphrase --passphrase-file <file>')}`,
    )
  if (opts.to && opts.to !== 'keyfile' && opts.keyFile !== undefined)
    usage(`--key-file goes with --to keyfile, not --to ${opts.to}`, again(`--to keyfile --key-file ${opts.keyFile}`))
  if (opts.to && opts.to !== 'passphrase' && opts.passphraseFile !== undefined)
    usage(`--passphrase-file goes with --to passphrase, not --to ${opts.to}`, again(`--to passphrase --passphrase-file ${opts.passphraseFile}`))
  const store = await cli.store()
  const before = await store.keyStatus()
  const from = before.backend
  const to = opts.to ?? from
  if (opts.keyFile !== undefined && to !== 'keyfile')
    usage(`--key-file goes with --to keyfile (this store's key is in the ${from} backend)`, again(`--to keyfile --key-file ${opts.keyFile}`))
  if (opts.passphraseFile !== undefined && to !== 'passphrase')
    usage(
      `--passphrase-file goes with --to passphrase (this store's key is in the ${from} backend)`,
      again(`--to passphrase --passphrase-file ${opts.passphraseFile}`),
    )
  if (!before.available) {
    // before asking for a new passphrase: the current key must open, every data key is re-wrapped
    const [what, fix] = (before.message ?? 'the store key is not reachable').split('. To fix: ')
    throw new UserError('keychain_unavailable', `cannot rotate: ${what}`, fix ? { hint: fix } : undefined)
  }
  const target: KeyConfig = { backend: to }
  let keyFile: string | undefined
  if (to === 'passphrase') {
    // `key rotate` alone on a passphrase store keeps ENVELOPE_PASSPHRASE (new salt, new key)
    const keep = from === 'passphrase' && !opts.to && !opts.passphraseFile && !process.env.ENVELOPE_NEW_PASSPHRASE
    if (!keep) target.passphrase = await passphrase(cli, opts.passphraseFile, { envVar: 'ENVELOPE_NEW_PASSPHRASE', confirm: true, flags: '--to passphrase ' })
  } else if (to === 'keyfile') {
    const given = opts.keyFile ?? process.env.ENVELOPE_KEY_FILE
    if (!given)
      throw new UserError(
        'invalid_input',
        from === 'keyfile' ? 'rotating a key-file key needs the path of a NEW key file' : 'moving the key to a key file needs its path',
        { hint: `${again('--to keyfile --key-file <path>')} (created, mode 0600, with a random key if missing), or set ENVELOPE_KEY_FILE` },
      )
    keyFile = resolve(given)
    target.keyFile = keyFile
  }
  const r = await store.rotateKey(target)
  const after = await store.keyStatus()
  const lines = [`Key rotated: ${r.rewrapped} data key${r.rewrapped === 1 ? '' : 's'} re-wrapped under ${r.keyId} (retired ${r.retiredKeyId}).`]
  if (r.from !== r.backend) lines.push(`Backend: ${r.from} -> ${r.backend}. The store is now protected by the ${after.description}.`)
  if (r.from === 'keychain') {
    lines.push(
      r.oldKeyRemoved
        ? `The old key was removed from the OS keychain (${keychainDescription()}).`
        : `The old key could not be removed from the OS keychain (${keychainDescription()}): it no longer opens this store; delete the "Envelope" entry whose account ends in :${r.retiredKeyId} with your keyring tool.`,
    )
  }
  if (r.from === 'passphrase' && r.backend !== 'passphrase') lines.push('ENVELOPE_PASSPHRASE is no longer needed for this store.')
  if (r.from === 'keyfile')
    lines.push(
      `The old ${before.description} no longer opens this store (only copies of the data folder made before now): delete it once you no longer need those.`,
    )
  lines.push(`Next: ${nextStep(r.backend, keyFile, target.passphrase !== undefined)}`)
  const agentPid = await stopAgentHoldingOldKey((await cli.store()).dataDir)
  if (agentPid !== undefined) lines.push(`Stopped the agent (pid ${agentPid}): it held the old key.`)
  cli.out(lines.join('\n') + '\n')
}

/** What the user must do so that future commands (and the app) open the store. */
function nextStep(backend: KeyBackend, keyFile: string | undefined, newPassphrase: boolean): string {
  if (backend === 'keychain') return `nothing to set: the key is in the OS keychain (${keychainDescription()}).`
  if (backend === 'passphrase') {
    return newPassphrase
      ? 'set ENVELOPE_PASSPHRASE to the new passphrase for every future command (and for the app): the store does not open without it, and nothing else keeps it.'
      : 'keep ENVELOPE_PASSPHRASE as it is (same passphrase, new key).'
  }
  const file = keyFile ?? 'the key file'
  const env = process.env.ENVELOPE_KEY_FILE
  const stale = env !== undefined && env !== '' && resolve(env) !== keyFile
  return (
    `keep ${file} and a backup of it: the store does not open without it. ` +
    (stale
      ? `ENVELOPE_KEY_FILE names ${env} in this shell: set ENVELOPE_KEY_FILE=${file} or unset it (the store records the path).`
      : `Future commands find it at that path (recorded in the store) or through ENVELOPE_KEY_FILE=${file}.`)
  )
}

/**
 * A passphrase from `file`, else the environment variable `envVar`, else a hidden prompt (asked twice
 * when `confirm`) on a terminal. `confirm` is for passphrases being set: the one rule of checkNewPassphrase.
 */
async function passphrase(cli: Cli, file: string | undefined, opts: { envVar: string; confirm: boolean; flags?: string }): Promise<string> {
  let p: string | undefined
  if (file) p = (await readInput(file)).replace(/\r?\n$/, '')
  else if (process.env[opts.envVar]) p = process.env[opts.envVar]
  else if (cli.interactive) {
    p = await hiddenPrompt('Passphrase: ')
    if (opts.confirm && p !== undefined && (await hiddenPrompt('Repeat passphrase: ')) !== p)
      throw new UserError('invalid_input', 'the passphrases do not match')
  }
  if (!p)
    throw new UserError('invalid_input', 'a passphrase is required', {
      hint: `use ${opts.flags ?? ''}--passphrase-file <file> or ${opts.envVar}, or run it on a terminal to be asked`,
    })
  if (opts.confirm) checkNewPassphrase(p, 'the passphrase')
  return p
}

export async function keyExportCommand(cli: Cli, opts: { passphraseFile?: string; output?: string; force?: boolean }): Promise<void> {
  const p = await passphrase(cli, opts.passphraseFile, { envVar: 'ENVELOPE_EXPORT_PASSPHRASE', confirm: true })
  const text = await (await cli.store()).exportKey(p)
  if (opts.output) await writePrivateFile(cli, opts.output, text.endsWith('\n') ? text : text + '\n', { force: opts.force })
  else cli.out(text.endsWith('\n') ? text : text + '\n')
}

export async function keyImportCommand(cli: Cli, file: string, opts: { passphraseFile?: string }): Promise<void> {
  const exported = await readInput(file)
  const p = await passphrase(cli, opts.passphraseFile, { envVar: 'ENVELOPE_EXPORT_PASSPHRASE', confirm: false })
  const r = await (await cli.store()).importKey(exported, p)
  cli.out(`Key ${r.keyId} imported.\n`)
}

/**
 * After the store's key changed: the agent (electron/services/agent) still holds the old one in memory,
 * and would serve runs without the new passphrase. It stops itself at its next request; this stops it now.
 */
async function stopAgentHoldingOldKey(dataDir: string): Promise<number | undefined> {
  const { stopAgent } = await import('../../services/agent/client.ts')
  return stopAgent(dataDir).catch(() => undefined)
}
