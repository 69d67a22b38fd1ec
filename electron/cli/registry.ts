/**
 * The command registry. Each module in commands/ calls `defineCommand` when imported; commands/index.ts
 * imports them in order (one line per module). A module only declares its commander tree here and loads
 * its implementation lazily inside the action, so `envelope run` does not pay for `env diff`'s imports.
 */
import type { Command } from 'commander'
import type { Cli } from './context.ts'

export interface CommandModule {
  /** for diagnostics only */
  name: string
  /**
   * Top-level command names this module adds (`env` for modules adding `env` subcommands). When the
   * first argument names one of them, only those modules are registered (a faster start). Omit to be
   * registered always.
   */
  commands?: string[]
  /**
   * Adds commands to the program. `root` is the `envelope` program; `env` is the `envelope env` group
   * (add `env` subcommands there, e.g. `env rotate`).
   */
  register(root: Command, env: Command, cli: Cli): void
}

export const commandModules: CommandModule[] = []

export function defineCommand(m: CommandModule): void {
  commandModules.push(m)
}
