/**
 * Issue 12, rules 2, 10 and 11 through the real CLI (bin/envelope as child processes, the real keychain: run with
 * `test/with-keyring.sh node --test test/integration/cli/input.test.ts`): values stored exactly as given (with a
 * fast-check property over strings users type: `env set --secret k s` then `run --no-mask` gives s byte for byte),
 * no internal errors for user input, options anywhere before `--`, the hidden prompt on a terminal.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { bin, envelope, tempDir, type RunResult } from './helpers.ts'
import { userString } from '../../unit/cli/input-strings.ts'

const dataDir = tempDir('envelope-cli-input-')
const work = tempDir('envelope-cli-input-files-')
const env = { ENVELOPE_DATA_DIR: dataDir }
const cli = (args: string[], input?: string) => envelope(args, { env, ...(input !== undefined ? { input } : {}) })
/** Prints the named variables of its environment as JSON (absent: null). */
const PRINT = [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1).map((k) => process.env[k] ?? null)))']

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

/** A failure the user can act on: exit 1, `error: …` naming what, never the "this is a bug" text. */
function refused(r: RunResult, what: RegExp, label: string): void {
  assert.equal(r.code, 1, `${label}: exit 1 (${r.code})\n${r.stdout}\n${r.stderr}`)
  assert.match(r.stderr, what, label)
  assert.doesNotMatch(r.stderr, /unexpected failure|this is a bug|call stack/i, label)
}

async function vars(ref: string, names: string[], runOpts: string[] = ['--no-mask']): Promise<Array<string | null>> {
  const r = ok(await cli(['run', ref, ...runOpts, '--', ...PRINT, ...names]), `run ${ref}`)
  return JSON.parse(r.stdout) as Array<string | null>
}

test.after(() => {
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
})

test('rule 2: a secret, and --string, are stored exactly as given; plain values typed only where nothing is lost', { timeout: 300_000 }, async () => {
  ok(await cli(['env', 'init', 'r/x']), 'init')
  const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n'
  writeFileSync(join(work, 'key.pem'), pem)
  const sets: Array<[string, string[]]> = [
    ['PIN', ['007', '--secret']],
    ['PW', ['hunter2 #1', '--secret']],
    ['BOOL', ['False', '--secret']],
    ['DASH', ['-x', '--secret']],
    ['NEG', ['-5']],
    ['HEADER', ['-----BEGIN']],
    ['PEM', ['-f', join(work, 'key.pem'), '--secret']],
    ['PEMPLAIN', ['-f', join(work, 'key.pem'), '--plaintext']],
    ['ZIP', ['007']],
    ['NOTE', ['hello #1']],
    ['YES', ['False']],
    ['PORT', ['8080']],
    ['RAW', ['  two  spaces ', '--string']],
  ]
  for (const [name, args] of sets) ok(await cli(['env', 'set', 'r/x', `environmentVariables.${name}`, ...args]), `set ${name}`)
  // a plain value from a file loses the file's final newline; a secret keeps every byte
  const want = ['007', 'hunter2 #1', 'False', '-x', '-5', '-----BEGIN', pem, pem.slice(0, -1), '007', 'hello #1', 'False', '8080', '  two  spaces ']
  assert.deepEqual(
    await vars(
      'r/x',
      sets.map(([n]) => n),
    ),
    want,
  )
  // a value that looks like a long option goes after --
  ok(await cli(['env', 'set', 'r/x', 'environmentVariables.FLAGLIKE', '--secret', '--', '--looks-like-a-flag']), 'set FLAGLIKE')
  assert.deepEqual(await vars('r/x', ['FLAGLIKE']), ['--looks-like-a-flag'])
  // typed plain values stay typed where YAML writes them back exactly
  const typed = ok(await cli(['env', 'get', 'r/x', 'environmentVariables', '--value', 'json']), 'get')
  const v = JSON.parse(typed.stdout) as Record<string, unknown>
  assert.equal(v['NEG'], -5)
  assert.equal(v['PORT'], 8080)
  assert.equal(v['ZIP'], '007')
  writeFileSync(join(work, 'port.txt'), '8080\n')
  ok(await cli(['env', 'set', 'r/x', 'filePort', '-f', join(work, 'port.txt')]), 'set -f port.txt')
  assert.equal(ok(await cli(['env', 'get', 'r/x', 'filePort', '--value', 'json']), 'get').stdout, '8080\n')
  // a .env import stores each value exactly too (yaml's block scalar would read ' \n' back as '\n')
  writeFileSync(join(work, 'exact.env'), 'SPACE_NL=" \\n"\nPEM_KEY="l1\\nl2\\n"\nAFTER=x\n')
  ok(await cli(['import', 'r/imp', '--no-detect', '--secret', 'PEM_KEY', join(work, 'exact.env')]), 'import')
  assert.deepEqual(await vars('r/imp', ['SPACE_NL', 'PEM_KEY', 'AFTER']), [' \n', 'l1\nl2\n', 'x'])
  // a misspelt option is not taken as a value
  refused(await cli(['env', 'set', 'r/x', 'environmentVariables.T', '--secrte']), /unknown option '--secrte'/, 'misspelt option')
})

test('rule 2 property: for any string s, env set --secret k s then run --no-mask gives s byte for byte', { timeout: 600_000 }, async () => {
  ok(await cli(['env', 'init', 'r/p']), 'init')
  const strings = fc.sample(
    userString.filter((s) => !s.includes('\0')),
    { numRuns: 40, seed: 12 },
  )
  strings.push('', '${x}', '$${x}', 'a\nb\n', ' \n', '-----BEGIN X-----\nabc\n-----END X-----\n', '#', '\'"', 'null', '~')
  for (const [i, s] of strings.entries()) {
    const value = s.startsWith('-') ? ['--', s] : [s]
    ok(await cli(['env', 'set', 'r/p', `environmentVariables.K${i}`, '--secret', ...value]), `set K${i} = ${JSON.stringify(s)}`)
  }
  const got = await vars(
    'r/p',
    strings.map((_, i) => `K${i}`),
  )
  strings.forEach((s, i) => assert.equal(got[i], s, `K${i}: ${JSON.stringify(s)}`))
  // shown decrypted, each is still exactly s (a secret `${x}` is not an interpolation)
  const shown = ok(await cli(['env', 'get', 'r/p', 'environmentVariables', '--show-secrets', '--value', 'json']), 'get --show-secrets')
  const values = JSON.parse(shown.stdout) as Record<string, string>
  strings.forEach((s, i) => assert.equal(values[`K${i}`], s, `shown K${i}: ${JSON.stringify(s)}`))
})

test('rule 10: user input never gets an internal error', { timeout: 300_000 }, async () => {
  ok(await cli(['env', 'init', 'r/e']), 'init')
  ok(await cli(['env', 'set', 'r/e', 'arr', '[1, 2]']), 'set arr')
  refused(await cli(['env', 'set', 'r/e', 'arr.x', 'z']), /cannot set arr\.x: arr is a list/, 'set through a list')
  refused(await cli(['env', 'set', 'r/e', 'arr[7]', 'z']), /cannot set arr\[7\]: arr has 2 items/, 'past the end')
  ok(await cli(['env', 'set', 'r/e', 's', 'text']), 'set s')
  refused(await cli(['env', 'set', 'r/e', 's.x', 'z']), /cannot set s\.x: s is a string/, 'set through a scalar')

  // 5,000 nested [ : the depth limit
  const deep = `values:\n  a: ${'['.repeat(5000)}1${']'.repeat(5000)}\n`
  writeFileSync(join(work, 'deep.yaml'), deep)
  refused(await cli(['env', 'init', 'r/deep', '-f', join(work, 'deep.yaml')]), /maximum depth of 64/, 'env init deep')
  refused(await cli(['eval', join(work, 'deep.yaml')]), /maximum depth of 64/, 'eval deep')
  refused(await cli(['env', 'set', 'r/e', 'd', `${'['.repeat(5000)}${']'.repeat(5000)}`]), /maximum depth|not valid YAML/, 'set deep')

  // a NUL in a value, a name that cannot be a variable: refused before spawning, the same way by run and export
  const marker = join(work, 'spawned')
  for (const [name, def] of [
    ['r/nul', 'values:\n  environmentVariables:\n    A: "a\\0b"\n'],
    ['r/eq', 'values:\n  environmentVariables:\n    "A=B": x\n'],
    ['r/empty', 'values:\n  environmentVariables:\n    "": x\n'],
  ] as const) {
    ok(await cli(['env', 'init', name, '-f', '-'], def), `init ${name}`)
    const run = await cli(['run', name, '--', 'touch', marker])
    refused(run, /environmentVariables/, `run ${name}`)
    assert.equal(existsSync(marker), false, `${name}: nothing was spawned`)
    const exp = await cli(['export', name])
    refused(exp, /environmentVariables/, `export ${name}`)
    assert.equal(exp.stderr.split('\n')[0], run.stderr.split('\n')[0], `${name}: run and export refuse alike`)
  }

  // a secret that is exactly ${x}
  ok(await cli(['env', 'set', 'r/e', 'environmentVariables.S', '${x}', '--secret']), 'set ${x}')
  const shown = ok(await cli(['env', 'get', 'r/e', 'environmentVariables.S', '--show-secrets', '--value', 'string']), 'get S')
  assert.equal(shown.stdout, '${x}\n')
  assert.deepEqual(await vars('r/e', ['S']), ['${x}'])
  const def = ok(await cli(['env', 'get', 'r/e', '--definition', '--show-secrets']), 'definition')
  assert.match(def.stdout, /fn::secret: "\$\$\{x\}"/)
})

test('rule 11: options anywhere before --, for run and import; hints name real flags', { timeout: 300_000 }, async () => {
  ok(await cli(['env', 'init', 'r/g']), 'init')
  ok(await cli(['env', 'set', 'r/g', 'environmentVariables.TOKEN', 'tok-secret-1234', '--secret']), 'set')
  for (const args of [
    ['run', 'r/g', '--no-mask', '--', ...PRINT, 'TOKEN'],
    ['run', '--no-mask', 'r/g', '--', ...PRINT, 'TOKEN'],
    ['run', 'r/g', '-i', ...PRINT, 'TOKEN'],
    ['env', 'run', 'r/g', '--no-mask', '--', ...PRINT, 'TOKEN'],
  ])
    assert.equal(ok(await cli(args), args.slice(0, 4).join(' ')).stdout, '["tok-secret-1234"]', args.slice(0, 4).join(' '))
  assert.equal(ok(await cli(['run', 'r/g', '--', ...PRINT, 'TOKEN']), 'masked').stdout, '["[secret]"]')
  const bad = await cli(['run', 'r/g', '--bogus', '--', 'true'])
  assert.equal(bad.code, 2, 'a usage error, as commander gives for its own options')
  assert.match(bad.stderr, /unknown option '--bogus' for run/)

  writeFileSync(join(work, 'f.env'), 'API_KEY=abc123\nPLAIN_NAME=hello\n')
  const imp = ok(await cli(['import', 'd/x', '--secret', 'API_KEY', join(work, 'f.env')]), 'import --secret before the file')
  assert.match(imp.stdout, /secret +API_KEY/)

  // a secret with no value and no terminal: a clear error naming the ways to give one
  refused(await cli(['env', 'set', 'r/g', 'environmentVariables.P', '--secret']), /missing value/, 'no value')

  // the data-folder hint names what exists (ENVELOPE_DATA_DIR), not a --data-dir flag
  writeFileSync(join(work, 'a-file'), '')
  const r = await envelope(['env', 'ls'], { env: { ENVELOPE_DATA_DIR: join(work, 'a-file', 'sub') } })
  assert.equal(r.code, 1)
  assert.match(r.stderr, /ENVELOPE_DATA_DIR/)
  assert.doesNotMatch(r.stderr, /--data-dir/)
})

/** Runs `envelope args` on a pseudo-terminal (util-linux `script`), typing `input` once `ready` shows. */
function onTerminal(args: string[], ready: RegExp, input: string): Promise<string> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`
  const line = [process.execPath, bin, ...args].map(quote).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], { env: { ...process.env, ...env, NO_COLOR: '1', ENVELOPE_NO_AGENT: '1' } })
    let out = ''
    let typed = false
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      if (!typed && ready.test(out)) {
        typed = true
        child.stdin.write(input)
      }
    })
    child.on('error', reject)
    child.on('close', () => resolve(out))
  })
}

const hasScript = spawnSync('script', ['--version']).status === 0

test(
  'rule 11: env set --secret without a value asks on a terminal without echo; -f - from a terminal is not echoed',
  { skip: !hasScript && 'no util-linux script', timeout: 120_000 },
  async () => {
    ok(await cli(['env', 'init', 'r/t']), 'init')
    const secret = 'typed-secret #1 ${x}'
    const out = await onTerminal(['env', 'set', 'r/t', 'environmentVariables.TYPED', '--secret'], /not echoed\): $/, `${secret}\r`)
    assert.match(out, /Updated r\/t/, out)
    assert.ok(!out.includes('typed-secret'), `the terminal did not echo it:\n${out}`)
    const multi = await onTerminal(
      ['env', 'set', 'r/t', 'environmentVariables.FILE', '--secret', '-f', '-'],
      /Ctrl-D on an empty line\)/,
      'line-one\rline-two\r\x04',
    )
    assert.match(multi, /Updated r\/t/, multi)
    assert.ok(!multi.includes('line-one'), `the terminal did not echo it:\n${multi}`)
    assert.deepEqual(await vars('r/t', ['TYPED', 'FILE']), [secret, 'line-one\nline-two\n'])
  },
)
