/**
 * dotenv / shell output round-trips through the real readers: the `dotenv` package, bash `set -a; source`,
 * and bash `eval`. Property-based (fast-check) over nasty alphabets and full unicode.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import dotenv from 'dotenv'
import { formatDotenv, formatShell, dotenvCanWrite } from '../../../shared/format/envfile.ts'
import { UserError } from '../../../shared/errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'envelope-envfile-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

/** Runs bash with a clean environment, then `env -0` (so only EXPORTED variables count); returns `names`. */
function bashRead(script: string, file: string, names: string[]): Record<string, string> {
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `${script}\nexec env -0`, 'bash', file], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  })
  assert.equal(r.status, 0, `bash failed: ${r.stderr}`)
  const out: Record<string, string> = {}
  for (const part of r.stdout.split('\0').slice(0, -1)) {
    const eq = part.indexOf('=')
    if (names.includes(part.slice(0, eq))) out[part.slice(0, eq)] = part.slice(eq + 1)
  }
  return out
}

const nasty = fc.constantFrom(
  "'",
  '"',
  '`',
  '$',
  '#',
  '\\',
  '\n',
  '\r',
  '\r\n',
  ' ',
  '\t',
  '=',
  'n',
  'r',
  'a',
  'Z',
  '{',
  '}',
  '(',
  ')',
  '!',
  ';',
  '*',
  '\\n',
  '${HOME}',
  '$(id)',
  'é',
  '日本',
  '😀',
  '\u2028',
  '\u2029',
  'X: y',
  '\u00a0',
  '\ufeff',
  'export ',
  'ENVELOPE_DOTENV_ONLY',
  ': <<',
)
const nastyString = fc.array(nasty, { maxLength: 12 }).map((a) => a.join(''))
const anyValue = fc.oneof(
  nastyString,
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => s.replaceAll('\0', '')),
  fc.constant(''),
)
// names of the variables under test; prefixed so they never collide with bash's own (PWD, SHLVL, IFS...)
const varName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/).map((n) => `T_${n}`)
const vars = fc.dictionary(varName, anyValue, { minKeys: 1, maxKeys: 8, noNullPrototype: true })

test('dotenv output reads back identically through dotenv.parse and bash `set -a; source`', () => {
  let written = 0
  fc.assert(
    fc.property(vars, (v) => {
      const writable = Object.values(v).every(dotenvCanWrite)
      if (!writable) {
        assert.throws(
          () => formatDotenv(v),
          (e: unknown) => e instanceof UserError && /dotenv format/.test(e.message),
        )
        return
      }
      const text = formatDotenv(v)
      written++
      assert.deepEqual({ ...dotenv.parse(text) }, v, 'dotenv.parse')
      const file = join(dir, 'x.env')
      writeFileSync(file, text)
      assert.deepEqual(bashRead('set -a; source "$1"; set +a', file, Object.keys(v)), v, 'bash source')
    }),
    { numRuns: 150 },
  )
  assert.ok(written > 100, `only ${written} of 150 samples were writable`)
})

test('only values mixing every quote kind with line breaks (LF, CR, U+2028/9) or #, or ending in a backslash, are refused', () => {
  fc.assert(
    fc.property(anyValue, (v) => {
      if (dotenvCanWrite(v)) return
      const hardMix =
        ((v.includes("'") && v.includes('"') && v.includes('`')) || v.includes('\r') || /\\[nr]/.test(v) || v.endsWith('\\')) &&
        (/[\n\r\u2028\u2029#]/.test(v) || v.endsWith('\\'))
      assert.ok(hardMix, `refused a value that should be writable: ${JSON.stringify(v)}`)
    }),
    { numRuns: 2000 },
  )
})

test('shell output reads back identically through bash eval', () => {
  fc.assert(
    fc.property(vars, (v) => {
      const file = join(dir, 'x.sh')
      writeFileSync(file, formatShell(v))
      assert.deepEqual(bashRead('eval "$(cat "$1")"', file, Object.keys(v)), v)
    }),
    { numRuns: 100 },
  )
})

test('invalid names and NUL are refused with the variable named', () => {
  assert.throws(() => formatDotenv({ 'my-var': 'x' }), /"my-var".*dotenv format/)
  assert.throws(() => formatShell({ '1A': 'x' }), /"1A".*shell format/)
  assert.throws(() => formatDotenv({ A: 'x\0y' }), /A contains a NUL/)
})

test('simple values stay readable', () => {
  assert.equal(formatDotenv({ A: 'hello world', B: "it's" }), `A='hello world'\nB="it's"\n`)
  assert.equal(formatShell({ A: "it's" }), `export A='it'\\''s'\n`)
})
