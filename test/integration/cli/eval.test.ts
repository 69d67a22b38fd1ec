/** `envelope eval <file>` through the real binary: output formats, compiler-style diagnostics, exit codes. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import dotenv from 'dotenv'
import { parse as parseYaml } from 'yaml'
import { envelope, tempDir } from './helpers.ts'

const dir = tempDir('envelope-cli-eval-')
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
mkdirSync(join(dir, 'shared'))
writeFileSync(join(dir, 'base.yaml'), 'values:\n  host: example.com\n  port: 443\n')
writeFileSync(join(dir, 'shared', 'db.yaml'), 'values:\n  db:\n    user: app\n')
writeFileSync(
  join(dir, 'app.yaml'),
  [
    'imports:',
    '  - base',
    '  - shared/db',
    'values:',
    '  url: https://${host}:${port}',
    '  token:',
    '    fn::secret: "s3cr3t $x \'q\' \\"dq\\""',
    '  environmentVariables:',
    '    URL: ${url}',
    '    TOKEN: ${token}',
    '    MULTI: "line one\\nline two"',
    '',
  ].join('\n'),
)
writeFileSync(join(dir, 'bad.yaml'), 'values:\n  a: 1\n  url: https://${hots}/x\n  b: ${a.nope}\n')
writeFileSync(join(dir, 'badimport.yaml'), 'imports:\n  - nowhere\nvalues:\n  x: 1\n')

const evalIn = (args: string[]) => envelope(['eval', ...args], { cwd: dir })

test('json (default): imports resolved from the folder, secrets redacted unless --show-secrets', async () => {
  const r = await evalIn(['app.yaml'])
  assert.equal(r.code, 0, r.stderr)
  const v = JSON.parse(r.stdout) as Record<string, unknown>
  assert.equal(v.url, 'https://example.com:443')
  assert.equal(v.token, '[secret]')
  assert.deepEqual(v.db, { user: 'app' })
  const shown = JSON.parse((await evalIn(['app.yaml', '--show-secrets'])).stdout) as Record<string, unknown>
  assert.equal(shown.token, `s3cr3t $x 'q' "dq"`)
})

test('yaml, string, detailed and --path', async () => {
  const y = await evalIn(['app.yaml', '--format', 'yaml'])
  assert.equal(y.code, 0)
  assert.equal((parseYaml(y.stdout) as { url: string }).url, 'https://example.com:443')
  const s = await evalIn(['app.yaml', '--format', 'string', '--path', 'url'])
  assert.equal(s.stdout, 'https://example.com:443\n')
  const d = await evalIn(['app.yaml', '--format', 'detailed', '--path', 'host'])
  const det = JSON.parse(d.stdout) as { value: string; trace: { def: { environment: string; begin: { line: number } } } }
  assert.equal(det.value, 'example.com')
  assert.equal(det.trace.def.environment, 'base')
  assert.equal(det.trace.def.begin.line, 2)
  const missing = await evalIn(['app.yaml', '--path', 'nope.x'])
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /^error: property nope does not exist\n/)
})

test('dotenv and shell output read back exactly by dotenv and bash', async () => {
  const de = await evalIn(['app.yaml', '--format', 'dotenv', '--show-secrets'])
  assert.equal(de.code, 0, de.stderr)
  const expected = { MULTI: 'line one\nline two', TOKEN: `s3cr3t $x 'q' "dq"`, URL: 'https://example.com:443' }
  assert.deepEqual({ ...dotenv.parse(de.stdout) }, expected)
  const sh = await evalIn(['app.yaml', '--format', 'shell', '--show-secrets'])
  const file = join(dir, 'out.sh')
  writeFileSync(file, sh.stdout)
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', 'eval "$(cat "$1")"; printf "%s\\0" "$MULTI" "$TOKEN" "$URL"', 'bash', file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  assert.deepEqual(r.stdout.split('\0').slice(0, 3), [expected.MULTI, expected.TOKEN, expected.URL])
  const redacted = await evalIn(['app.yaml', '--format', 'dotenv'])
  assert.equal(dotenv.parse(redacted.stdout).TOKEN, '[secret]')
})

test('diagnostics: file:line:col: error: message, the source line, a caret under the range; exit 1; no value printed', async () => {
  const r = await evalIn(['bad.yaml'])
  assert.equal(r.code, 1)
  assert.equal(r.stdout, '')
  const lines = r.stderr.split('\n')
  assert.equal(lines[0], 'bad.yaml:3:16: error: unknown property "hots"')
  assert.equal(lines[1], '    url: https://${hots}/x')
  assert.equal(lines[2], '                 ^^^^^^^')
  assert.equal(lines[3], 'bad.yaml:4:9: error: receiver must be an array or an object')
  assert.equal(lines[4], '    b: ${a.nope}')
  assert.equal(lines[5], '          ^^^^^')
  assert.match(r.stderr, /error: bad\.yaml: 2 errors/)
  assert.doesNotMatch(r.stderr, /\n\s+at /)
})

test('a missing import points at the import entry', async () => {
  const r = await evalIn(['badimport.yaml'])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /^badimport\.yaml:2:5: error: .*nowhere.*\n {4}- nowhere\n {6}\^+\n/)
})

test('usage errors exit 2, missing files exit 1 with a clear message', async () => {
  const fmt = await evalIn(['app.yaml', '--format', 'xml'])
  assert.equal(fmt.code, 2)
  assert.match(fmt.stderr, /argument 'xml' is invalid/)
  const nofile = await evalIn(['nope.yaml'])
  assert.equal(nofile.code, 1)
  assert.equal(nofile.stderr, 'error: cannot read nope.yaml: no such file\n')
  const unknown = await envelope(['evl', 'x'])
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /unknown command 'evl'[\s\S]*Did you mean eval\?/)
})

test('stdin works as a file', async () => {
  const r = await envelope(['eval', '-', '--format', 'json'], { input: 'values:\n  a: ${b}\n  b: 2\n' })
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { a: 2, b: 2 })
})
