/**
 * Where Envelope keeps its data on this machine.
 *
 * One folder per user, holding the single SQLite store file (`envelope.db` plus its `-wal`/`-shm`
 * companions). The OS convention is followed so backups and uninstallers find it:
 * - Linux: `$XDG_DATA_HOME/envelope`, else `~/.local/share/envelope`
 * - macOS: `~/Library/Application Support/Envelope`
 * - Windows: `%APPDATA%\Envelope`
 * An explicit `dataDir` option wins, then `ENVELOPE_DATA_DIR`, then the OS convention.
 */
import { homedir } from 'node:os'
import { isAbsolute, join, resolve, win32 } from 'node:path'

export interface DataDirOptions {
  /** explicit folder (tests, `--data-dir`); relative paths resolve against the working directory */
  dataDir?: string | undefined
  /** environment to read (defaults to process.env) */
  env?: Record<string, string | undefined>
  /** platform (defaults to process.platform) */
  platform?: NodeJS.Platform
  /** home directory (defaults to os.homedir()) */
  home?: string
}

/** The data folder for this user (not created here). */
export function resolveDataDir(opts: DataDirOptions = {}): string {
  const env = opts.env ?? process.env
  if (opts.dataDir) return resolve(opts.dataDir)
  const override = env.ENVELOPE_DATA_DIR
  if (override) return resolve(override)
  const platform = opts.platform ?? process.platform
  const home = opts.home ?? homedir()
  if (platform === 'win32') {
    const appData = env.APPDATA || win32.join(home, 'AppData', 'Roaming')
    return win32.join(appData, 'Envelope')
  }
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Envelope')
  const xdg = env.XDG_DATA_HOME
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  if (xdg && isAbsolute(xdg)) return join(xdg, 'envelope')
  return join(home, '.local', 'share', 'envelope')
}

/** The store file inside a data folder. */
export function storeFile(dataDir: string): string {
  return join(dataDir, 'envelope.db')
}
