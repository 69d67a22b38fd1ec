/**
 * Value to text, written once: how an evaluated value becomes the text of an environment variable, a
 * `run` argument substitution (`${path}`), a dotenv/shell line (they quote what this returns), the
 * `string` output format and the editor's value display.
 *
 * A string is itself; a number or boolean its JavaScript text; a list or object its compact JSON. The
 * one place the uses differ is `null`: it is the empty text where it becomes a process's input (a
 * variable or an argument: there is nothing to pass) and `null` where a person reads it. Redaction
 * (`[secret]`, `[unknown]`) happens before, in `toPlain` (shared/format/values.ts).
 *
 * Not this module: `${}` interpolation inside a definition and `fn::toString`, which follow the ESC
 * language's own rules (shared/esc/eval.ts).
 */
import type { JsonValue } from '../esc/host.ts'

/** Where the text goes: a process input (`variable`, `argument`) or something read (`string`, `display`). */
export type TextUse = 'variable' | 'argument' | 'string' | 'display'

/** The text of a plain (already redacted) value for `use`. */
export function plainText(p: JsonValue, use: TextUse): string {
  if (p === null) return use === 'variable' || use === 'argument' ? '' : 'null'
  if (typeof p === 'string') return p
  if (typeof p === 'object') return JSON.stringify(p)
  return String(p)
}

/** `text` cut to `max` characters with an ellipsis, for one-line displays. */
export function truncateText(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) + '…' : text
}
