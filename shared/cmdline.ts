/** Command-line splitting shared by the UI (Run screen) and the main side (terminal command). */
import { UserError } from './errors.ts'

/** Splits a command line into argv: whitespace separates, single/double quotes group, backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let has = false
  let quote: '"' | "'" | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (quote) {
      if (c === quote) quote = null
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i]
      else cur += c
    } else if (c === '"' || c === "'") {
      quote = c
      has = true
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i]
      has = true
    } else if (/\s/.test(c)) {
      if (has) out.push(cur)
      cur = ''
      has = false
    } else {
      cur += c
      has = true
    }
  }
  if (quote) throw new UserError('invalid_input', `unterminated ${quote} quote in command: ${line}`, { hint: 'close the quote' })
  if (has) out.push(cur)
  return out
}
