/**
 * Launching the user's terminal with an environment's variables injected into its process
 * environment (never written to disk). The command is configurable (Settings → terminal command);
 * an empty setting means the OS default below.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { UserError } from '../../shared/errors.ts'
import { splitCommandLine } from '../../shared/cmdline.ts'

/** Per-OS default: x-terminal-emulator (Debian alternatives) or gnome-terminal; Terminal.app; Windows Terminal. */
export function defaultTerminalCommand(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'open -n -a Terminal'
  if (platform === 'win32') return 'wt.exe'
  if (existsSync('/usr/bin/x-terminal-emulator')) return 'x-terminal-emulator'
  return 'gnome-terminal'
}

/** Starts `command` detached with `vars` added to its environment; resolves once it has spawned. */
export function launchTerminal(command: string, vars: Record<string, string>): Promise<void> {
  const argv = splitCommandLine(command)
  const [file, ...args] = argv
  if (!file) throw new UserError('invalid_input', 'the terminal command is empty', { hint: 'set a terminal command in Settings' })
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { cwd: homedir(), env: { ...process.env, ...vars }, detached: true, stdio: 'ignore' })
    child.once('error', (err) =>
      reject(
        new UserError('io', `could not start the terminal "${command}": ${err.message}`, {
          hint: 'install that terminal or set another terminal command in Settings',
        }),
      ),
    )
    child.once('spawn', () => {
      child.unref()
      resolvePromise()
    })
  })
}
