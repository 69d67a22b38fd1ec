/**
 * The grammar of `envelope run` (and `env run`): `run [options] <env> [options] [--] <command> [args...]`. Run's own
 * options are accepted anywhere before `--` (as `esc run` does), around the environment name; without `--` they end
 * where the command starts (its first word that is not an option), so `run e sh -c 'x'` passes `-c` to sh. Written
 * once for the fast path (fast.ts, no commander) and for commander's `run` action. No imports: the fast path loads it.
 */

/** What a run's arguments say: the environment, the command, masking; `help`/`unknown` when they ask or misspell. */
export interface RunArgs {
  ref: string | undefined
  command: string[]
  mask: boolean
  help: boolean
  /** the first option run does not know (given before `--` and before the command) */
  unknown: string | undefined
}

/** Parses the arguments after `run` (`ref` given: commander already took the environment name). */
export function parseRunArgs(args: readonly string[], ref?: string): RunArgs {
  const out: RunArgs = { ref, command: [], mask: true, help: false, unknown: undefined }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '--') {
      if (out.ref === undefined) {
        out.ref = args[i + 1]
        i++
        continue
      }
      out.command = args.slice(i + 1)
      break
    }
    if (a.startsWith('-') && a.length > 1) {
      if (a === '--no-mask' || a === '-i' || a === '--interactive') out.mask = false
      else if (a === '-h' || a === '--help') out.help = true
      else out.unknown ??= a
      continue
    }
    if (out.ref === undefined) {
      out.ref = a
      continue
    }
    out.command = args.slice(i)
    break
  }
  return out
}
