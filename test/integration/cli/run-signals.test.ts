/**
 * `envelope run` as a real process tree (under the real keychain): SIGTERM / SIGINT sent to envelope reach
 * the command, whose exit code comes back; masking holds while the output streams.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { bin, envelope, root, tempDir } from './helpers.ts'

const dataDir = tempDir('envelope-cli-signals-')
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }))
// no agent (a built CLI starts one): this is about the run's own process
const env = { ...process.env, ENVELOPE_DATA_DIR: dataDir, NO_COLOR: '1', ENVELOPE_NO_AGENT: '1' }

test('signals sent to envelope run reach the command; its exit code passes through', { timeout: 120_000 }, async () => {
  const secret = 'signal-secret-value-42'
  assert.equal((await envelope(['env', 'init', 'sig/app'], { env })).code, 0)
  assert.equal((await envelope(['env', 'set', 'sig/app', 'environmentVariables.S', secret, '--secret'], { env })).code, 0)
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const name = sig.slice(3)
    const child = spawn(
      process.execPath,
      [bin, 'run', 'sig/app', '--', 'sh', '-c', `trap 'echo "got ${name} $S"; exit 42' ${name}; echo "ready $S"; while :; do sleep 0.05; done`],
      {
        env,
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d))
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d
        if (out.includes('ready')) resolve()
      })
      child.on('close', () => reject(new Error(`envelope exited early: ${out} ${err}`)))
    })
    child.kill(sig)
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)))
    assert.equal(code, 42, `${sig}: ${out} ${err}`)
    assert.equal(out, `ready [secret]\ngot ${name} [secret]\n`)
  }
})
