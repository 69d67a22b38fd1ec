/**
 * The shipped fast path: `npm run build:cli` output (out/cli, minified run bundle with a V8 code cache)
 * behaves exactly like the TypeScript sources. Built into a scratch checkout (bin/ copied, sources and
 * node_modules linked) so the repository's own out/ is left alone. Real store, real keychain, real processes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { envelope, root, tempDir } from './helpers.ts'

const scratch = tempDir('envelope-cli-bundle-')
const dataDir = tempDir('envelope-cli-bundle-data-')
const cacheHome = tempDir('envelope-cli-bundle-cache-')
process.on('exit', () => {
  for (const d of [scratch, dataDir, cacheHome]) rmSync(d, { recursive: true, force: true })
})
mkdirSync(join(scratch, 'bin'))
for (const f of ['envelope', 'package.json']) copyFileSync(join(root, 'bin', f), join(scratch, 'bin', f))
for (const f of ['electron', 'shared', 'node_modules', 'package-lock.json', 'package.json']) symlinkSync(join(root, f), join(scratch, f))
const bin = join(scratch, 'bin', 'envelope')

const env = { ENVELOPE_DATA_DIR: dataDir, XDG_CACHE_HOME: cacheHome }
const bundled = (args: string[]) => envelope(args, { bin, env })
const sources = (args: string[]) => envelope(args, { bin, env: { ...env, ENVELOPE_CLI_SOURCE: '1' } })
const codeCaches = (): string[] => {
  try {
    return readdirSync(join(cacheHome, 'envelope')).filter((f) => f.startsWith('run-') && f.endsWith('.v8'))
  } catch {
    return []
  }
}

test('envelope run through the bundle and its code cache: variables, files, masking, exit code', { timeout: 300_000 }, async () => {
  const built = spawnSync(process.execPath, [join(root, 'electron', 'cli', 'build.ts'), '--out', join(scratch, 'out', 'cli')], { encoding: 'utf8' })
  assert.equal(built.status, 0, built.stderr)
  const def = join(scratch, 'def.yaml')
  writeFileSync(def, [
    'values:',
    '  token:',
    '    fn::secret: bundle-s3cr3t-ünï',
    '  environmentVariables:',
    '    TOKEN: ${token}',
    '    PLAIN: plain value',
    '  files:',
    '    CERT: "-----cert ${token}-----"',
    '',
  ].join('\n'))
  const init = await bundled(['env', 'init', 'app/bundle', '-f', def])
  assert.equal(init.code, 0, init.stderr)

  const cmd = ['run', 'app/bundle', '--', 'sh', '-c', 'echo "$TOKEN|$PLAIN"; cat "$CERT"; echo; echo "to stderr $TOKEN" >&2; exit 7']
  const first = await bundled(cmd)
  assert.equal(first.code, 7, first.stderr)
  // the file's text holds a secret, so all of it is secret (and masked)
  assert.equal(first.stdout, '[secret]|plain value\n[secret]\n')
  assert.equal(first.stderr, 'to stderr [secret]\n')
  assert.equal(codeCaches().length, 1, 'the first bundled run leaves its V8 code cache')

  const second = await bundled(cmd)
  assert.deepEqual(second, first, 'a run with the code cache behaves the same')
  const fromSources = await sources(cmd)
  assert.deepEqual(fromSources, first, 'the sources behave the same')

  const unmasked = await bundled(['run', '--no-mask', 'app/bundle', '--', 'sh', '-c', 'printf %s "$TOKEN"'])
  assert.equal(unmasked.stdout, 'bundle-s3cr3t-ünï')

  // not a plain run: the bundled commander program takes over (usage error = exit 2)
  const usage = await bundled(['run', 'app/bundle'])
  assert.equal(usage.code, 2, usage.stderr)
  const missing = await bundled(['run', 'app/none', '--', 'true'])
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /app\/none/)
})
