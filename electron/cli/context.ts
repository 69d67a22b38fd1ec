/**
 * What every command gets: output streams, lazily created services, confirmation prompts, and the
 * error/exit-code conventions. Nothing heavy is imported here (services load on first use).
 */
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
  /** reads one line from stdin (prompt on stderr); undefined at end of input */
  prompt(question: string): Promise<string | undefined>
  /** closes what store() opened */
  close(): void
}

export function createCli(): Cli {
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
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    color: Boolean(process.stderr.isTTY) && !process.env.NO_COLOR,
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
    close() {
      services?.close()
      services = undefined
    },
  }
  return cli
}
