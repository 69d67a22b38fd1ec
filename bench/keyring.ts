/** For the benches that run the real CLI: they need a Secret Service, as users have one. */
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The checkout's root folder. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Unless already under test/with-keyring.sh, runs the bench `metaUrl` (its `import.meta.url`) again under it
 * and exits with its status; returns when the caller is under a keyring.
 */
export function reexecInKeyring(metaUrl: string): void {
  if (process.env.ENVELOPE_IN_KEYRING) return
  const r = spawnSync('bash', [join(root, 'test', 'with-keyring.sh'), process.execPath, fileURLToPath(metaUrl)], {
    stdio: ['ignore', 'inherit', 'pipe'],
  })
  if (r.status !== 0) process.stderr.write(r.stderr)
  process.exit(r.status ?? 1)
}
