/**
 * Multi-line secrets through the real CLI under the real keychain (issue 12, rule 3): a block-scalar secret
 * followed by another key saves (`env init -f -`), a .env with a PEM followed by a variable imports, and
 * `run` masks every line of a multi-line secret, not only the whole value, whatever prints it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { envelope, tempDir } from './helpers.ts'

const dataDir = tempDir('envelope-cli-multiline-')
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }))
const cli = (args: string[], input?: string) => envelope(args, { env: { ENVELOPE_DATA_DIR: dataDir }, ...(input !== undefined ? { input } : {}) })

function ok(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`)
}

const PEM_LINES = [
  '-----BEGIN PRIVATE KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
  'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
  'MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3S',
  '-----END PRIVATE KEY-----',
]
const PEM = PEM_LINES.join('\n') + '\n'

test('a block-scalar secret followed by another key saves and evaluates (the issue example)', async () => {
  ok(await cli(['env', 'init', 'r/b', '-f', '-'], 'values:\n  k:\n    fn::secret: |\n      l1-first\n      l2-second\n  z: 1\n'), 'init')
  const open = await cli(['open', 'r/b'])
  ok(open, 'open')
  assert.deepEqual(JSON.parse(open.stdout), { k: 'l1-first\nl2-second\n', z: 1 })
})

test('importing a .env with a PEM followed by a variable works; run masks each line of it', async () => {
  const envFile = join(dataDir, 'pem.env')
  writeFileSync(envFile, `KEY="${PEM}"\nNEXT=plain-value\n`)
  ok(await cli(['import', 'r/pem', envFile, '--secret', 'KEY']), 'import')
  // one line of the secret, printed on its own
  const line = await cli(['run', 'r/pem', '--', 'sh', '-c', 'printf %s "$KEY" | sed -n 2p'])
  ok(line, 'run sed')
  assert.equal(line.stdout, '[secret]\n')
  // the app's default command: every variable, sorted
  const all = await cli(['run', 'r/pem', '--', 'sh', '-c', 'env | sort'])
  ok(all, 'run env')
  for (const l of PEM_LINES) assert.ok(!all.stdout.includes(l), `${l} printed in clear:\n${all.stdout}`)
  assert.match(all.stdout, /^NEXT=plain-value$/m)
  // the check can fail: unmasked, the line is there
  const clear = await cli(['run', '--no-mask', 'r/pem', '--', 'sh', '-c', 'printf %s "$KEY" | sed -n 2p'])
  assert.equal(clear.stdout, `${PEM_LINES[1]}\n`)
})
