/** A Cli that records its output and has no store: for tests of the command tree and error reporting. */
import type { Cli } from '../../../electron/cli/context.ts'

export function fakeCli(): Cli & { outText: string; errText: string } {
  const c = {
    outText: '',
    errText: '',
    out(t: string) {
      c.outText += t
    },
    err(t: string) {
      c.errText += t
    },
    async store(): Promise<never> {
      throw new Error('no store in this test')
    },
    exitCode: 0,
    interactive: false,
    color: false,
    async prompt() {
      return undefined
    },
    close() {},
  }
  return c
}
