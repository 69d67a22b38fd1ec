/**
 * `dotenv` and `shell` output.
 *
 * The dotenv file must read back identically through BOTH the `dotenv` package (`dotenv.parse`) and
 * bash (`set -a; source file`). The two disagree on quoting (dotenv: no escapes except `\n`/`\r` in
 * double quotes, CR normalised to LF; bash: `\`, `$`, `` ` ``, `"` special in double quotes), so each
 * value gets the first form that both read the same way:
 *   1. `NAME='v'`  when v has no `'`, no CR and does not end in `\`          (both: literal)
 *   2. `NAME="v"`  when v has none of `$ \` " \\` and no CR                  (both: literal)
 *   3. otherwise a bash-only line `NAME=$'…'` (ANSI-C quoting, any text) and, later in the file, inside a
 *      here-document that bash skips (`: <<'TAG' … TAG`), a dotenv-only line that dotenv reads last (last
 *      assignment wins). The dotenv-only form is picked from unquoted / quoted variants (see dotenvOnly).
 * A few values have no dotenv spelling at all (dotenv has no escape for a quote inside quotes); those
 * raise a UserError naming the variable and suggesting `--format json` or `--format shell`.
 *
 * The shell format (`export NAME='v'`, `'` as `'\''`) reads back identically through `eval` in any POSIX shell.
 */
import { UserError } from '../errors.ts'

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * What no environment variable can be, one rule for every face that hands variables out (`run`, the agent, the app's
 * Run and terminal, `export`): a name that is empty or holds `=` or NUL, a value that holds NUL (the OS's environment
 * block is NUL-separated `NAME=value` strings). A UserError naming each offender under `environmentVariables` (or
 * `files`, whose names are variables too), before anything is spawned or written.
 */
export function checkEnvironmentVariables(vars: Record<string, string>, section = 'environmentVariables'): void {
  const badNames = Object.keys(vars).filter((k) => k === '' || k.includes('=') || k.includes('\0'))
  if (badNames.length > 0) {
    throw new UserError(
      'invalid_input',
      `${badNames.map((b) => `${section}${b === '' ? ' ""' : `.${JSON.stringify(b)}`}`).join(', ')}: an environment variable name must not be empty or contain '=' or a NUL character`,
      { hint: `rename the key under ${section}` },
    )
  }
  const badValues = Object.entries(vars)
    .filter(([, v]) => v.includes('\0'))
    .map(([k]) => k)
  if (badValues.length > 0) {
    throw new UserError(
      'invalid_input',
      `the value of ${badValues.map((k) => `${section}.${k}`).join(', ')} contains a NUL character, which no environment variable can hold`,
      { hint: section === 'files' ? 'a file may hold any bytes: move it under files' : 'remove the NUL character, or put the value under files' },
    )
  }
}

function checkNames(vars: Record<string, string>, format: string): void {
  checkEnvironmentVariables(vars)
  const bad = Object.keys(vars).filter((k) => !NAME.test(k))
  if (bad.length > 0) {
    throw new UserError(
      'invalid_input',
      `cannot write ${bad.map((b) => JSON.stringify(b)).join(', ')} in ${format} format: a variable name must be letters, digits and _ and not start with a digit`,
      {
        hint: 'rename the key under environmentVariables, or use --format json',
      },
    )
  }
}

/** `export NAME='value'` lines, one per variable, in the given order. */
export function formatShell(vars: Record<string, string>): string {
  checkNames(vars, 'shell')
  let out = ''
  for (const [k, v] of Object.entries(vars)) out += `export ${k}=${shellQuote(v)}\n`
  return out
}

/** POSIX single-quoting: any text (no NUL) round-trips through sh/bash. */
export function shellQuote(v: string): string {
  return `'${v.replaceAll("'", `'\\''`)}'`
}

/** bash ANSI-C quoting `$'…'`: always a single line. */
function ansiC(v: string): string {
  let out = "$'"
  for (const ch of v) {
    const c = ch.codePointAt(0)!
    if (ch === '\\') out += '\\\\'
    else if (ch === "'") out += "\\'"
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`
    // U+2028/U+2029 end a line for dotenv's pattern: spell their UTF-8 bytes so this line stays one line
    else if (c === 0x2028) out += '\\xe2\\x80\\xa8'
    else if (c === 0x2029) out += '\\xe2\\x80\\xa9'
    else out += ch
  }
  return out + "'"
}

/** A form both dotenv and bash read back as `v`, or undefined. */
function dualForm(v: string): string | undefined {
  if (!v.includes("'") && !v.includes('\r') && !v.endsWith('\\')) return `'${v}'`
  if (!/[$`"\\\r]/.test(v)) return `"${v}"`
  return undefined
}

const QUOTES = ["'", '`', '"'] as const

/**
 * A form that `dotenv.parse` reads back as `v` (bash never sees it), or undefined when dotenv cannot
 * spell `v`. dotenv's line pattern: a value is `'…'`, `"…"`, `` `…` `` (may span lines; in `"…"` the
 * two-character sequences `\n` and `\r` become LF/CR), or unquoted up to `#`/end of line, trimmed; a
 * trimmed value that starts and ends with the same quote loses those quotes.
 */
function dotenvOnly(v: string): string | undefined {
  // dotenv's pattern runs in multiline mode, where U+2028/U+2029 end a line too
  const singleLine = !/[\n\r\u2028\u2029]/.test(v)
  const firstIsQuote = v.length > 0 && (QUOTES as readonly string[]).includes(v[0]!)
  // unquoted: the only form for a value ending in `\` (a quoted one would read `\<quote>` as an escape)
  if (singleLine && v.length > 0 && !v.includes('#') && v === v.trim() && !firstIsQuote) return v
  if (v.endsWith('\\')) return undefined
  // quoted with literal content (a quoted value may span lines; CR would be normalised to LF)
  for (const q of ["'", '`'] as const) if (!v.includes(q) && !v.includes('\r')) return `${q}${v}${q}`
  const hasEscapeSeq = /\\[nr]/.test(v)
  const escaped = v.replaceAll('\n', '\\n').replaceAll('\r', '\\r')
  if (!v.includes('"') && !hasEscapeSeq) return `"${escaped}"`
  // single line without `#`: the whole rest of the line is the value, and the outer quotes are stripped
  if (!v.includes('#') && !/[\u2028\u2029]/.test(v)) {
    if (!hasEscapeSeq) return `"${escaped}"`
    if (singleLine) return `'${v}'`
  }
  return undefined
}

/** Whether `formatDotenv` can write this value (dotenv has no spelling for a few values). */
export function dotenvCanWrite(v: string): boolean {
  return !v.includes('\0') && (dualForm(v) !== undefined || dotenvOnly(v) !== undefined)
}

/** A dotenv file that `dotenv.parse` and bash `set -a; source` both read back as `vars`. */
export function formatDotenv(vars: Record<string, string>): string {
  checkNames(vars, 'dotenv')
  let out = ''
  const later: string[] = []
  const impossible: string[] = []
  for (const [k, v] of Object.entries(vars)) {
    const dual = dualForm(v)
    if (dual !== undefined) {
      out += `${k}=${dual}\n`
      continue
    }
    const only = dotenvOnly(v)
    if (only === undefined) {
      impossible.push(k)
      continue
    }
    out += `${k}=${ansiC(v)}\n`
    later.push(`${k}=${only}`)
  }
  if (impossible.length > 0) {
    throw new UserError(
      'invalid_input',
      `cannot write ${impossible.join(', ')} in dotenv format: the value mixes quote characters with line breaks or '#' in a way dotenv files cannot express`,
      {
        hint: 'use --format shell (read it with eval) or --format json',
      },
    )
  }
  if (later.length > 0) {
    const body = later.join('\n')
    const lines = new Set(body.split('\n'))
    let tag = 'ENVELOPE_DOTENV_ONLY'
    for (let n = 1; lines.has(tag); n++) tag = `ENVELOPE_DOTENV_ONLY_${n}`
    out += `: <<'${tag}'\n${body}\n${tag}\n`
  }
  return out
}
