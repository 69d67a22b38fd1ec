/**
 * `envelope run` as a real process tree (under the real keychain): SIGTERM / SIGINT sent to envelope reach
 * the command, whose exit code comes back; masking holds while the output streams. Signals from a terminal
 * (a pty: Ctrl-C, Ctrl-\) reach the command once; SIGKILL of envelope leaves no command running and no
 * files: folder (the watchdog, else the next run's sweep); exit statuses are a shell's (127, 126, 128+n).
 */
import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { constants } from 'node:os'
import { dirname, join } from 'node:path'
import fc from 'fast-check'
import { bin, envelope, root, tempDir } from './helpers.ts'
import { gone, inTerminal, leftovers, until } from './signals-helpers.ts'

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

// ---- rule 5: signals and exit statuses as a shell gives them; rule 4: nothing left behind ----

const work = tempDir('envelope-cli-signals-work-')
process.on('exit', () => rmSync(work, { recursive: true, force: true }))
const SECRET = 'tty-secret-value-77'
/** a command that counts the SIGINTs it gets, and exits 7 (printing the count) 1.5 s after the first */
const counter = join(work, 'counter.js')
writeFileSync(
  counter,
  `let n = 0
process.on('SIGINT', () => { if (n++ === 0) setTimeout(() => { console.log('count ' + n + ' ' + process.env.S); process.exit(7) }, 1500) })
console.log('ready')
setInterval(() => {}, 1000)
`,
)
/** a command that prints its pid and its files: path, then waits */
const holder = join(work, 'holder.js')
writeFileSync(holder, `console.log('pid ' + process.pid + ' ' + process.env.F + ' ready'); setInterval(() => {}, 1000)\n`)

before(async () => {
  assert.equal((await envelope(['env', 'init', 'sig/tty'], { env })).code, 0)
  assert.equal((await envelope(['env', 'set', 'sig/tty', 'environmentVariables.S', SECRET, '--secret'], { env })).code, 0)
  assert.equal((await envelope(['env', 'set', 'sig/tty', 'files.F', `file-${SECRET}`], { env })).code, 0)
})

/** `envelope run` as a background process; resolves its output lines as they come. */
function started(args: string[], opts: { detached?: boolean } = {}) {
  const child = spawn(process.execPath, [bin, 'run', ...args], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false })
  leftovers.add(child.pid!)
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d
    for (const m of out.matchAll(/pid (\d+) /g)) leftovers.add(Number(m[1]))
  })
  child.stderr.on('data', (d: Buffer) => (err += d))
  const closed = new Promise<number | null>((r) => child.on('close', (c) => r(c)))
  const ready = until(`ready from ${args.join(' ')}`, () => out.includes('ready') || child.exitCode !== null, 60_000)
  return { child, out: () => out, err: () => err, closed, ready }
}

test('Ctrl-C on a terminal reaches the command once (not again from envelope); envelope exits with its status', { timeout: 120_000 }, async () => {
  // three times: two SIGINTs that arrive before the command handles the first are merged into one by the
  // kernel, so one round could miss a second delivery
  for (let round = 0; round < 3; round++) {
    const t = inTerminal([process.execPath, bin, 'run', 'sig/tty', '--', process.execPath, counter], env, work)
    leftovers.add(t.pid)
    await t.waitFor(/ready/)
    t.type('\x03')
    assert.equal(await t.exit, 7, t.output())
    assert.match(t.output(), /count 1 \[secret\]/)
    assert.ok(!t.output().includes(SECRET))
  }
})

test('Ctrl-\\ on a terminal: the command ends, envelope does not die before it, its output is kept', { timeout: 120_000 }, async () => {
  // a command that handles SIGQUIT and prints after it: its status and words come back
  const trapping = inTerminal(
    [process.execPath, bin, 'run', 'sig/tty', '--', 'sh', '-c', `trap 'echo "quit $S"; exit 3' QUIT; echo "ready $S"; sleep 30; echo never`],
    env,
    work,
  )
  leftovers.add(trapping.pid)
  await trapping.waitFor(/ready/)
  trapping.type('\x1c')
  assert.equal(await trapping.exit, 3, trapping.output())
  assert.match(trapping.output(), /ready \[secret\][^]*quit \[secret\]/)
  assert.doesNotMatch(trapping.output(), /never/)
  // a command that SIGQUIT kills: 128 + 3, as a shell gives
  const killed = inTerminal([process.execPath, bin, 'run', 'sig/tty', '--', 'sh', '-c', `echo "ready $S"; sleep 30; echo never`], env, work)
  leftovers.add(killed.pid)
  await killed.waitFor(/ready/)
  killed.type('\x1c')
  assert.equal(await killed.exit, 131, killed.output())
  assert.match(killed.output(), /ready \[secret\]/)
})

test('SIGINT sent to envelope’s whole process group (no terminal) reaches the command once', { timeout: 120_000 }, async () => {
  const r = started(['sig/tty', '--', process.execPath, counter], { detached: true })
  await r.ready
  process.kill(-r.child.pid!, 'SIGINT')
  assert.equal(await r.closed, 7, r.err())
  assert.match(r.out(), /count 1 \[secret\]/)
})

test('SIGKILL of envelope run: the command is stopped, the files: folder removed, and stderr says so', { timeout: 120_000 }, async () => {
  const r = started(['sig/tty', '--', process.execPath, holder])
  await r.ready
  const [, pid, file] = /pid (\d+) (\S+) ready/.exec(r.out())!
  assert.equal(readFileSync(file!, 'utf8'), `file-${SECRET}`)
  r.child.kill('SIGKILL')
  await until('the command stopped', () => gone(Number(pid)))
  await until('the files: folder removed', () => !existsSync(dirname(file!)))
  await r.closed
  assert.match(r.err(), new RegExp(`envelope was killed; stopping node \\(pid ${pid}\\)`))
})

/** The watchdog of the run whose files: folder is `dir` (its command line names the folder). */
function watchdogOf(dir: string): number {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')
      if (argv.includes('envelope-watchdog') && argv.includes(dir)) return Number(p)
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no watchdog for ${dir}`)
}

test(
  'a files: folder left when envelope and its watchdog were SIGKILLed is swept by the next run; a live run’s folder is kept',
  { timeout: 180_000 },
  async () => {
    const first = started(['sig/tty', '--', process.execPath, holder])
    await first.ready
    const [, pid1, file1] = /pid (\d+) (\S+) ready/.exec(first.out())!
    const dir1 = dirname(file1!)
    process.kill(watchdogOf(dir1), 'SIGKILL')
    first.child.kill('SIGKILL')
    await first.closed
    process.kill(Number(pid1), 'SIGKILL') // the orphan: nothing was left to stop it
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(existsSync(dir1), true, 'nothing removed the folder yet')
    // the next run sweeps it while its own command runs
    const second = started(['sig/tty', '--', process.execPath, holder])
    await second.ready
    const dir2 = dirname(/pid \d+ (\S+) ready/.exec(second.out())![1]!)
    await until('the stale folder swept', () => !existsSync(dir1))
    // another run sweeps too, and leaves the live run's folder alone
    assert.equal((await envelope(['run', 'sig/tty', '--', 'true'], { env })).code, 0)
    assert.equal(existsSync(dir2), true, "a live run's folder is never swept")
    second.child.kill('SIGTERM')
    assert.equal(await second.closed, 143)
    assert.equal(existsSync(dir2), false)
  },
)

test(
  'exit statuses as a shell gives them: 127 not found, 126 not runnable, 128+n killed by signal n, else the command’s own',
  { timeout: 300_000 },
  async () => {
    const notExec = join(work, 'not-executable.sh')
    writeFileSync(notExec, 'echo hi\n', { mode: 0o644 })
    const badInterp = join(work, 'bad-interpreter.sh')
    writeFileSync(badInterp, '#!/no/such/interpreter\necho hi\n', { mode: 0o755 })
    const cases: [string, number, RegExp][] = [
      ['no-such-command-xyz', 127, /error: command not found: no-such-command-xyz/],
      [join(work, 'no-such-file'), 127, /error: no such file: \S+no-such-file/],
      [badInterp, 127, /its interpreter \/no\/such\/interpreter was not found/],
      [notExec, 126, /error: permission denied: \S+not-executable.sh is not executable/],
      [work, 126, /error: cannot run \S+: it is a folder/],
    ]
    for (const [command, code, message] of cases) {
      const r = await envelope(['run', 'sig/tty', '--', command], { env })
      assert.equal(r.code, code, `${command}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.doesNotMatch(r.stderr, /this is a bug/)
    }
    for (const sig of ['SIGUSR1', 'SIGTERM', 'SIGSEGV'] as const) {
      const r = await envelope(['run', 'sig/tty', '--', 'sh', '-c', `kill -s ${sig.slice(3)} $$`], { env })
      assert.equal(r.code, 128 + constants.signals[sig], sig)
    }
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 255 }), async (code) => {
        const r = await envelope(['run', 'sig/tty', '--', 'sh', '-c', `exit ${code}`], { env })
        assert.equal(r.code, code, r.stderr)
      }),
      { numRuns: 12 },
    )
  },
)
