/**
 * `envelope sync …`: the sync client (electron/services/sync) against an Envelope team server.
 *   sync login <url> [--token t | stdin] [--org o] · sync logout · sync status [env…] · sync [now] [env…]
 *   sync push [env…] · sync pull [env…] · sync resolve <env> [--ours | --theirs | --merge | --file f]
 */
import { defineCommand } from '../registry.ts'

defineCommand({
  name: 'sync',
  commands: ['sync'],
  register(root, _env, cli) {
    const act = () => import('../actions/sync.ts')
    const sync = root.command('sync').description('sync environments with an Envelope team server (login, status, push/pull, resolve conflicts)')
    sync
      .command('login')
      .description('log in to a team server; the token is checked, then kept in the OS keychain only')
      .argument('<url>', 'server URL, e.g. https://envelope.example.com')
      .option('--token <token>', 'access token (default: ENVELOPE_SYNC_TOKEN, else read from stdin / a hidden prompt)')
      .option('--org <org>', 'organization on the server (default: the first one the token belongs to)')
      .action(async (url: string, opts: { token?: string; org?: string }) => (await act()).syncLoginCommand(cli, url, opts))
    sync
      .command('logout')
      .description('forget the server and delete the token from the OS keychain')
      .action(async () => (await act()).syncLogoutCommand(cli))
    sync
      .command('status')
      .description('per environment: in sync, ahead (to push), behind (to pull), diverged, conflict')
      .argument('[envs...]', 'only these environments (project/env)')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(async (envs: string[], opts: { output: string }) => (await act()).syncStatusCommand(cli, envs, opts))
    sync
      .command('now', { isDefault: true })
      .description('push and pull every environment (or the given ones); the default')
      .argument('[envs...]', 'only these environments (project/env)')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(async (envs: string[], opts: { output: string }) => (await act()).syncNowCommand(cli, envs, { ...opts, mode: 'both' }))
    sync
      .command('push')
      .description('push local revisions of environments that are ahead (nothing is pulled)')
      .argument('[envs...]', 'only these environments (project/env)')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(async (envs: string[], opts: { output: string }) => (await act()).syncNowCommand(cli, envs, { ...opts, mode: 'push' }))
    sync
      .command('pull')
      .description('pull server revisions of environments that are behind (nothing is pushed)')
      .argument('[envs...]', 'only these environments (project/env)')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(async (envs: string[], opts: { output: string }) => (await act()).syncNowCommand(cli, envs, { ...opts, mode: 'pull' }))
    sync
      .command('resolve')
      .description('show the three-way diff of a conflict, or resolve it (saved locally and pushed)')
      .argument('<env>', 'the environment in conflict (project/env)')
      .option('--ours', 'keep the local text')
      .option('--theirs', 'take the server text')
      .option('--merge', 'take the automatic merge (only when it has no conflict markers)')
      .option('--file <file>', 'use this merged text (- for stdin)')
      .option('--output <file>', 'write the proposed merge to this file (mode 0600) to edit it, then use --file')
      .option('--force', 'replace the --output file if it exists')
      .option('--show-secrets', 'show secret values in the diff (masked by default)')
      .action(
        async (
          env: string,
          opts: { ours?: boolean; theirs?: boolean; merge?: boolean; file?: string; output?: string; force?: boolean; showSecrets?: boolean },
        ) => (await act()).syncResolveCommand(cli, env, opts),
      )
  },
})
