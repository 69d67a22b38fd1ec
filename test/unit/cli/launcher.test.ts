/** The launcher with real child processes: variables, files, exit codes, signals forwarded, masking. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { PassThrough } from 'node:stream'
import { launch, writeTempFiles } from '../../../electron/services/launcher/index.ts'
import { UserError } from '../../../shared/errors.ts'

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough()
  const parts: Buffer[] = []
  stream.on('data', (d: Buffer) => parts.push(d))
  return { stream, text: () => Buffer.concat(parts).toString() }
}

test('passes variables and files, masks secrets, returns the exit code, removes the files', async () => {
  const out = collect()
  const err = collect()
  const code = await launch({
    command: process.execPath,
    args: [
      '-e',
      `const fs=require('fs'); const p=process.env.CONF; console.log(process.env.A, fs.readFileSync(p,'utf8'), (fs.statSync(p).mode&0o777).toString(8), p); console.error('err ' + process.env.S); process.exit(3)`,
    ],
    variables: { A: 'alpha', S: 'sup3rsecret' },
    files: { CONF: 'file-body' },
    secrets: ['sup3rsecret'],
    stdout: out.stream,
    stderr: err.stream,
  })
  assert.equal(code, 3)
  const [a, body, mode, path] = out.text().trim().split(' ')
  assert.deepEqual([a, body, mode], ['alpha', 'file-body', '600'])
  assert.equal(existsSync(path!), false)
  assert.equal(err.text(), 'err [secret]\n')
})

test('a missing command is a UserError naming it', async () => {
  await assert.rejects(
    launch({ command: 'no-such-cmd-xyz', args: [], variables: {} }),
    (e: unknown) => e instanceof UserError && /command not found: no-such-cmd-xyz/.test(e.message),
  )
})

test('a child killed by a signal gives 128 + signal number', async () => {
  const code = await launch({ command: 'sh', args: ['-c', 'kill -TERM $$'], variables: {}, mask: false })
  assert.equal(code, 128 + 15)
})

test('SIGTERM and SIGINT sent to envelope reach the child (real process tree)', async () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    // a Node parent that launches a child trapping the signal and exiting 42 when it gets it
    const script = `
      import { launch } from ${JSON.stringify(new URL('../../../electron/services/launcher/index.ts', import.meta.url).href)}
      const code = await launch({ command: 'sh', args: ['-c', 'trap "echo got-${sig}; exit 42" ${sig.slice(3)}; echo ready; while :; do sleep 0.05; done'], variables: {}, mask: false })
      process.exitCode = code`
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    await new Promise<void>((resolve) => parent.stdout.on('data', (d: Buffer) => ((out += d), out.includes('ready') && resolve())))
    parent.kill(sig)
    const code = await new Promise<number | null>((r) => parent.on('close', (c) => r(c)))
    assert.equal(code, 42, `${sig}: ${out}`)
    assert.match(out, new RegExp(`got-${sig}`))
  }
})

test('temp files are private and removable', () => {
  const t = writeTempFiles({ A: 'x', 'B/../C': 'y' })
  assert.equal(Object.keys(t.paths).length, 2)
  for (const p of Object.values(t.paths)) assert.ok(p.startsWith(t.dir!))
  t.cleanup()
  assert.equal(existsSync(t.dir!), false)
})
