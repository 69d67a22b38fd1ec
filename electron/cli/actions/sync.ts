/**
 * `envelope sync …` over SyncService (electron/services/sync). The token is read from --token,
 * ENVELOPE_SYNC_TOKEN, stdin or a hidden prompt, checked against the server and kept only in the OS
 * keychain; it is never printed. Secret values in diffs are masked unless --show-secrets.
 */
import { UserError } from '../../../shared/errors.ts'
import { plainHttpWarning } from '../../../shared/domain/plain-http.ts'
import type { SyncEnvironmentStatus, SyncResult, SyncConflict } from '../../services/sync/index.ts'
import { syncStateLabel } from '../../../shared/sync-ipc.ts'
import { SyncService } from '../../services/sync/index.ts'
import type { Cli } from '../context.ts'
import { hiddenPrompt, readInput, writePrivateFile } from '../util.ts'

async function service(cli: Cli): Promise<SyncService> {
  const store = await cli.store()
  // one login per data folder: the keychain account is scoped by it (the app does the same)
  return new SyncService({ store, dataDir: store.dataDir, keychainScope: store.dataDir })
}

function outputFormat(output: string): 'text' | 'json' {
  if (output !== 'text' && output !== 'json') throw new UserError('invalid_input', `--output must be text or json, got ${JSON.stringify(output)}`)
  return output
}

async function readToken(cli: Cli, opts: { token?: string }): Promise<string> {
  let token = opts.token ?? process.env.ENVELOPE_SYNC_TOKEN
  if (token === undefined) {
    if (cli.interactive) token = await hiddenPrompt('Token: ')
    else token = await readInput('-')
  }
  token = token?.trim()
  if (!token) throw new UserError('invalid_input', 'no token given', { hint: 'pass --token <token>, set ENVELOPE_SYNC_TOKEN, or pipe the token on stdin' })
  if (/\s/.test(token)) throw new UserError('invalid_input', 'the token contains white space (expected one line)')
  return token
}

export async function syncLoginCommand(cli: Cli, url: string, opts: { token?: string; org?: string }): Promise<void> {
  // before the token is read or sent: the user can still stop here (Ctrl-C at the prompt)
  const insecure = plainHttpWarning(url)
  if (insecure) cli.err(`warning: ${insecure}; use https:// unless this network is yours alone\n`)
  const token = await readToken(cli, opts)
  const sync = await service(cli)
  try {
    const r = await sync.login(url, token, opts.org ? { org: opts.org } : {})
    cli.out(`Logged in to ${r.url} as ${r.login} (organization ${r.org}); the token is in the OS keychain.\n`)
  } catch (err) {
    if (err instanceof UserError && err.code === 'unauthorized') {
      throw new UserError('unauthorized', `${url} rejected the token (it is wrong, expired or revoked)`, {
        hint: 'create a new token on the server (POST /api/user/tokens or ask an administrator) and log in again',
        cause: err,
      })
    }
    throw err
  }
}

export async function syncLogoutCommand(cli: Cli): Promise<void> {
  const sync = await service(cli)
  const s = sync.status()
  await sync.logout()
  cli.out(s ? `Logged out of ${s.url}; the token was removed from the OS keychain.\n` : 'Not logged in.\n')
}

function describeStatus(s: SyncEnvironmentStatus): string {
  const l = s.localRevision
  const r = s.remoteRevision
  const b = s.synced
  switch (s.state) {
    case 'in-sync':
      return `local @${l} = server @${r}`
    case 'ahead':
      return `${l! - b!.local} local revision(s) to push (local @${l}, server @${r})`
    case 'behind':
      return `${r! - b!.remote} server revision(s) to pull (local @${l}, server @${r})`
    case 'diverged':
      return b
        ? `both changed since local @${b.local} / server @${b.remote} (local @${l}, server @${r}); sync to see the conflict`
        : `never synced and different (local @${l}, server @${r}); sync to see the conflict`
    case 'conflict':
      return `unresolved: envelope sync resolve ${s.environment}`
    case 'local-only':
      return `only local (@${l}); sync creates it on the server`
    case 'remote-only':
      return `only on the server (@${r}); sync creates it locally`
  }
}

export async function syncStatusCommand(cli: Cli, envs: string[], opts: { output: string }): Promise<void> {
  const format = outputFormat(opts.output)
  const sync = await service(cli)
  const server = sync.status()
  if (!server) throw new UserError('unauthorized', 'not logged in to a sync server', { hint: 'envelope sync login <url> (with a token)' })
  const list = await sync.environmentStatus(envs.length ? { environments: envs } : {})
  if (format === 'json') {
    cli.out(JSON.stringify({ server, environments: list }, null, 2) + '\n')
    return
  }
  cli.out(`server: ${server.url} (organization ${server.org}, logged in as ${server.login})\n`)
  if (list.length === 0) cli.out('no environments on either side\n')
  const w = Math.max(0, ...list.map((s) => s.environment.length))
  for (const s of list) cli.out(`${s.environment.padEnd(w)}  ${syncStateLabel[s.state].padEnd(12)}  ${describeStatus(s)}\n`)
}

function describeResult(r: SyncResult): string {
  const revs = (xs: number[]) => xs.join(', ')
  switch (r.action) {
    case 'up-to-date':
      return 'in sync'
    case 'linked':
      return 'in sync (same text on both sides)'
    case 'pushed':
      return `pushed local revision(s) ${revs(r.pushed)}`
    case 'pulled':
      return `pulled server revision(s) ${revs(r.pulled)}`
    case 'created-remote':
      return `created on the server${r.pushed.length ? ` (pushed revision(s) ${revs(r.pushed)})` : ''}`
    case 'created-local':
      return `created locally${r.pulled.length ? ` (pulled server revision(s) ${revs(r.pulled)})` : ''}`
    case 'conflict': {
      const c = r.conflict!
      return `CONFLICT: local @${c.localRevision} and server @${c.remoteRevision} both changed${c.basePair ? ` since local @${c.basePair.local} / server @${c.basePair.remote}` : ' (never synced)'}; nothing was written — see: envelope sync resolve ${r.environment}`
    }
    case 'error':
      return `error: ${r.error?.message ?? 'unknown'}${r.error?.hint ? ` (hint: ${r.error.hint})` : ''}`
  }
}

export async function syncNowCommand(cli: Cli, envs: string[], opts: { output: string; mode: 'both' | 'push' | 'pull' }): Promise<void> {
  const format = outputFormat(opts.output)
  const sync = await service(cli)
  let targets: string[] | undefined = envs.length ? envs : undefined
  const skipped: { environment: string; reason: string }[] = []
  if (opts.mode !== 'both') {
    // push: only what is ahead (or diverged: reported as a conflict, nothing written); pull: the mirror image
    const wanted = opts.mode === 'push' ? ['ahead', 'local-only', 'diverged', 'conflict'] : ['behind', 'remote-only', 'diverged', 'conflict']
    const st = await sync.environmentStatus(targets ? { environments: targets } : {})
    targets = []
    for (const s of st) {
      if (wanted.includes(s.state)) targets.push(s.environment)
      else if (s.state !== 'in-sync')
        skipped.push({ environment: s.environment, reason: `${syncStateLabel[s.state]}: use sync ${opts.mode === 'push' ? 'pull' : 'push'}` })
    }
  }
  const results = targets && targets.length === 0 ? [] : await sync.sync(targets ? { environments: targets } : {})
  const shown = results.filter((r) => r.action !== 'up-to-date' || envs.length > 0 || opts.mode === 'both')
  if (results.some((r) => r.action === 'conflict' || r.action === 'error')) cli.exitCode = 1
  if (format === 'json') {
    cli.out(
      JSON.stringify(
        {
          results: results.map((r) => ({
            ...r,
            ...(r.conflict
              ? {
                  conflict: {
                    environment: r.conflict.environment,
                    localRevision: r.conflict.localRevision,
                    remoteRevision: r.conflict.remoteRevision,
                    conflicts: r.conflict.conflicts,
                  },
                }
              : {}),
          })),
          skipped,
        },
        null,
        2,
      ) + '\n',
    )
    return
  }
  const w = Math.max(0, ...shown.map((r) => r.environment.length), ...skipped.map((s) => s.environment.length))
  for (const r of shown) cli.out(`${r.environment.padEnd(w)}  ${describeResult(r)}\n`)
  for (const s of skipped) cli.out(`${s.environment.padEnd(w)}  skipped (${s.reason})\n`)
  if (shown.length === 0 && skipped.length === 0)
    cli.out(opts.mode === 'push' ? 'nothing to push\n' : opts.mode === 'pull' ? 'nothing to pull\n' : 'nothing to sync\n')
}

/** Masks secret values in definition text for display (`fn::secret: value` → `fn::secret: [secret]`). */
export function maskSecrets(text: string): string {
  return text
    .replace(/(fn::secret:[ \t]*)([^\s{[|>].*)$/gm, '$1[secret]')
    .replace(/(["']?fn::secret["']?[ \t]*:[ \t]*\{[^}]*?\bplaintext:[ \t]*)[^,}\n]+/g, '$1[secret]')
}

function showConflict(cli: Cli, c: SyncConflict, showSecrets: boolean): void {
  const m = showSecrets ? (s: string) => s : maskSecrets
  const base = c.basePair ? `base: local @${c.basePair.local} = server @${c.basePair.remote}` : 'base: none (never synced; the base is empty)'
  cli.out(`Conflict in ${c.environment}: local @${c.localRevision} vs server @${c.remoteRevision} (${base})\n\n`)
  cli.out(`### local changes (base → local)\n${m(c.localPatch)}\n### server changes (base → server)\n${m(c.remotePatch)}\n`)
  cli.out(
    `### proposed merge (${c.conflicts === 0 ? 'clean' : `${c.conflicts} conflicting region(s) marked <<<<<<< ||||||| =======  >>>>>>>`})\n${m(c.merged)}${c.merged.endsWith('\n') || c.merged === '' ? '' : '\n'}\n`,
  )
  cli.out(
    `Resolve with one of:\n  envelope sync resolve ${c.environment} --ours\n  envelope sync resolve ${c.environment} --theirs\n${c.conflicts === 0 ? `  envelope sync resolve ${c.environment} --merge\n` : ''}  envelope sync resolve ${c.environment} --output merged.yaml   # write the proposal, edit it, then:\n  envelope sync resolve ${c.environment} --file merged.yaml\n`,
  )
}

export async function syncResolveCommand(
  cli: Cli,
  env: string,
  opts: { ours?: boolean; theirs?: boolean; merge?: boolean; file?: string; output?: string; force?: boolean; showSecrets?: boolean },
): Promise<void> {
  const chosen = [
    opts.ours && '--ours',
    opts.theirs && '--theirs',
    opts.merge && '--merge',
    opts.file !== undefined && '--file',
    opts.output !== undefined && '--output',
  ].filter(Boolean)
  if (chosen.length > 1) throw new UserError('invalid_input', `choose one of ${chosen.join(', ')}`)
  const sync = await service(cli)
  const c = await sync.conflictDetails(env)
  if (chosen.length === 0) {
    showConflict(cli, c, Boolean(opts.showSecrets))
    return
  }
  if (opts.output !== undefined) {
    const wrote = await writePrivateFile(cli, opts.output, c.merged, { force: opts.force, quiet: true })
    // streamed to stdout, a FIFO or a device: nothing to edit and pass back with --file
    if (wrote.kind === 'created' || wrote.kind === 'replaced')
      cli.out(
        `Wrote the proposed merge of ${env} to ${opts.output}${c.conflicts ? ` (${c.conflicts} conflicting region(s) to edit)` : ''}; then: envelope sync resolve ${env} --file ${opts.output}\n`,
      )
    return
  }
  let text: string
  if (opts.ours) text = c.local
  else if (opts.theirs) text = c.remote
  else if (opts.merge) {
    if (c.conflicts > 0)
      throw new UserError('invalid_input', `the automatic merge of ${env} has ${c.conflicts} conflicting region(s)`, {
        hint: `use --ours, --theirs, or --output merged.yaml, edit it, then --file merged.yaml`,
      })
    text = c.merged
  } else {
    text = await readInput(opts.file!)
    const marker = /^(<{7}|\|{7}|={7}|>{7})( |$)/m.exec(text)
    if (marker) {
      const line = text.slice(0, marker.index).split('\n').length
      throw new UserError('invalid_input', `${opts.file}:${line}:1: conflict marker ${marker[1]} left in the merged text`, {
        hint: 'edit the file until no <<<<<<< ||||||| ======= >>>>>>> lines remain',
      })
    }
  }
  const r = await sync.resolve(env, text)
  if (r.action === 'conflict') {
    cli.exitCode = 1
    cli.out(`${env}: the server or the local copy changed again while resolving; a new conflict:\n`)
    showConflict(cli, r.conflict!, Boolean(opts.showSecrets))
    return
  }
  cli.out(`${env}: resolved (${opts.ours ? 'kept local' : opts.theirs ? 'took the server text' : 'merged'}); ${describeResult(r)}\n`)
}
