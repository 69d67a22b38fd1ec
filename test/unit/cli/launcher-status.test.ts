/**
 * The launcher's exit statuses as a shell gives them (real child processes): every code 0–255 comes back
 * as is, a command killed by signal n gives 128 + n, a command that cannot start is 127 / 126. And the
 * sweep of owned temp folders (guard.ts): a folder whose owner is gone (or whose pid now belongs to
 * another process) goes, a live owner's folder stays, anything else is left alone.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { CommandNotStarted, launch } from '../../../electron/services/launcher/index.ts'
import { ownedTempPrefix, processAlive, startTime, sweepStaleTempDirs } from '../../../electron/services/launcher/guard.ts'

const quiet = { variables: {}, mask: false } as const

test('every exit code 0–255 of the command is the status', async () => {
  for (let code = 0; code <= 255; code++) {
    assert.equal(await launch({ command: 'sh', args: ['-c', `exit ${code}`], ...quiet }), code)
  }
})

test('a command killed by signal n gives 128 + n (fast-check over the signals that end a process)', async () => {
  const ending = [
    'SIGHUP',
    'SIGINT',
    'SIGQUIT',
    'SIGILL',
    'SIGABRT',
    'SIGFPE',
    'SIGKILL',
    'SIGSEGV',
    'SIGPIPE',
    'SIGALRM',
    'SIGTERM',
    'SIGUSR1',
    'SIGUSR2',
  ] as const
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ending), async (sig) => {
      // ulimit -c 0: no core file from the signals that dump one
      const code = await launch({ command: 'sh', args: ['-c', `ulimit -c 0; kill -s ${sig.slice(3)} $$; sleep 5`], ...quiet })
      assert.equal(code, 128 + constants.signals[sig])
    }),
    { numRuns: 20 },
  )
})

test('a command that cannot start: 127 when not found, 126 when not runnable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'envelope-launch-status-'))
  try {
    const plain = join(dir, 'plain')
    writeFileSync(plain, 'echo hi\n')
    chmodSync(plain, 0o644)
    const cases: [string, number, RegExp][] = [
      ['no-such-cmd-xyz', 127, /^command not found: no-such-cmd-xyz$/],
      [join(dir, 'missing'), 127, /^no such file: /],
      [plain, 126, /is not executable$/],
      [dir, 126, /it is a folder$/],
    ]
    for (const [command, status, message] of cases) {
      await assert.rejects(launch({ command, args: [], ...quiet }), (e: unknown) => {
        assert.ok(e instanceof CommandNotStarted, String(e))
        assert.equal(e.exitCode, status, command)
        assert.match(e.message, message)
        return true
      })
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the sweep removes owned folders whose owner is gone, keeps live owners’ and anything else', async () => {
  const base = mkdtempSync(join(tmpdir(), 'envelope-sweep-'))
  try {
    // a process that was running and is gone now
    const child = spawn('sleep', ['30'])
    const pid = child.pid!
    const start = startTime(pid)
    assert.equal(processAlive(pid, start), true)
    child.kill('SIGKILL')
    await new Promise((r) => child.on('close', r))
    assert.equal(processAlive(pid, start), false)
    const mine = ownedTempPrefix('run') // this process: alive
    const folders = {
      dead: `envelope-run-p${pid}-t${start}-abcDEF`,
      reused: `envelope-edit-p${process.pid}-t${Number(startTime('self')) + 1}-ghiJKL`, // our pid, another start: a reused pid
      live: `${mine}mnoPQR`,
      other: 'envelope-open-xyzXYZ',
      unrelated: `envelope-run-p${pid}-t${start}-toolongname`,
    }
    for (const name of Object.values(folders)) {
      mkdirSync(join(base, name))
      writeFileSync(join(base, name, '0-F'), 'secret')
    }
    const removed = sweepStaleTempDirs([base])
    assert.deepEqual(removed.sort(), [join(base, folders.dead), join(base, folders.reused)].sort())
    for (const key of ['live', 'other', 'unrelated'] as const) assert.equal(existsSync(join(base, folders[key])), true, key)
  } finally {
    rmSync(base, { recursive: true, force: true })
  }
})
