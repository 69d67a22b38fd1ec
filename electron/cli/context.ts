/**
 * What every command gets: output streams, lazily created services, confirmation prompts, and the
 * error/exit-code conventions. Nothing heavy is imported here (services load on first use).
 */
import { isatty } from 'node:tty'
import type { EnvironmentStore, Services } from '../services/index.ts'

export interface Cli {
  /** stdout */
  out(text: string): void
  /** stderr */
  err(text: string): void
  /** the local store (created on first call; closed when the command ends) */
  store(): Promise<EnvironmentStore>
  /** exit code to use when the command returns normally */
  exitCode: number
  /** whether stdin and stderr are terminals (prompts allowed) */
  interactive: boolean
  /** colours on stderr */
  color: boolean
  /**
   * the built CLI's id (its run bundle's hash, from out/cli/inputs.json) when running from out/cli;
   * undefined when running the TypeScript sources. The agent serves only the build it was started from.
   */
  build?: string | undefined
  /** reads one line from stdin (prompt on stderr); undefined at end of input */
  prompt(question: string): Promise<string | undefined>
  /**
   * closes what store() opened. `{ exiting: true }`: the process ends once the current command is done
   * (`envelope run` after its child started): the database is let go without closing it, which skips the
   * last connection's WAL checkpoint (an fsync'd copy into the main file that the next writer's automatic
   * checkpoint does anyway). Every commit is already in the WAL, exactly as after a crash.
   */
  close(opts?: { exiting?: boolean }): void
}

export function createCli(opts: { build?: string | undefined } = {}): Cli {
  let services: Services | undefined
  const cli: Cli = {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    async store() {
      if (!services) {
        const { createServices } = await import('../services/index.ts')
        services = createServices()
      }
      return services.environments
    },
    exitCode: 0,
    build: opts.build,
    // isatty, not process.stdin.isTTY: touching process.stdin builds a stream for it (and loads fs streams,
    // fs/promises and readline), which `envelope run` never needs (its child inherits fd 0)
    interactive: isatty(0) && isatty(2),
    color: isatty(2) && !process.env.NO_COLOR,
    async prompt(question) {
      const { createInterface } = await import('node:readline')
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: Boolean(process.stdin.isTTY) })
      try {
        return await new Promise<string | undefined>((resolve) => {
          rl.once('close', () => resolve(undefined))
          rl.question(question, (answer) => resolve(answer))
        })
      } finally {
        rl.close()
      }
    },
    close(opts) {
      if (!opts?.exiting) services?.close()
      services = undefined
    },
  }
  return cli
}
