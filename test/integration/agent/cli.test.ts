/**
 * The agent as users meet it, through the built CLI (`bin/envelope`, bundle built into a scratch checkout),
 * real processes and the real Secret Service (run with test/with-keyring.sh):
 * - one store only: another data folder's agent socket linked into a folder (`ln -s` / `ln`) serves nothing
 *   there; the caller opens its own store (its values, never the other's), `agent status` / `agent stop`
 *   there do not reach the other agent, and an agent that `run` starts there replaces the link;
 * - an agent started by `envelope run` inside a D-Bus session (`dbus-run-session`, as scripts and
 *   test/with-keyring.sh make one) stops when that session ends.
 */
import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isSocketFile } from '../../../electron/services/agent/identity.ts'
import { envelope, root, tempDir } from '../cli/helpers.ts'

const scratch = tempDir('envelope-agent-cli-')
const cacheHome = tempDir('envelope-agent-cli-cache-')
process.on('exit', () => {
  for (const d of [scratch, cacheHome]) rmSync(d, { recursive: true, force: true })
})
mkdirSync(join(scratch, 'bin'))
for (const f of ['envelope', 'package.json']) copyFileSync(join(root, 'bin', f), join(scratch, 'bin', f))
for (const f of ['electron', 'shared', 'node_modules', 'package-lock.json', 'package.json']) symlinkSync(join(root, f), join(scratch, f))
const bin = join(scratch, 'bin', 'envelope')

/** `envelope …` as users run it (the agent is asked, and started by `run`), on the data folder `dir` */
const cli = (dir: string, args: string[], input?: string) =>
  envelope(args, { bin, env: { ENVELOPE_DATA_DIR: dir, XDG_CACHE_HOME: cacheHome, ENVELOPE_NO_AGENT: undefined }, ...(input === undefined ? {} : { input }) })

before(() => {
  const built = spawnSync(process.execPath, [join(root, 'electron', 'cli', 'build.ts'), '--out', join(scratch, 'out', 'cli')], { encoding: 'utf8' })
  assert.equal(built.status, 0, built.stderr)
})

/** a data folder holding app/x whose secret PW is `value` */
async function storeWith(value: string): Promise<string> {
  const dir = tempDir('envelope-agent-cli-data-')
  const made = await cli(dir, ['env', 'init', 'app/x', '-f', '-'], `values:\n  pw:\n    fn::secret: ${value}\n  environmentVariables:\n    PW: \${pw}\n`)
  assert.equal(made.code, 0, made.stderr)
  return dir
}

const served = async (dir: string): Promise<number> => (JSON.parse((await cli(dir, ['agent', 'status', '-o', 'json'])).stdout) as { served: number }).served

const agentPid = async (dir: string): Promise<number | undefined> => {
  const r = await cli(dir, ['agent', 'status', '-o', 'json'])
  return r.code === 0 ? (JSON.parse(r.stdout) as { pid: number }).pid : undefined
}

for (const link of ['symlink', 'hard link'] as const) {
  test(`another store's agent socket ${link}ed into a data folder serves nothing there: the caller opens its own store`, { timeout: 120_000 }, async () => {
    const a = await storeWith('value-of-A')
    const b = await storeWith('value-of-B')
    try {
      const started = await cli(a, ['agent', 'start'])
      assert.equal(started.code, 0, started.stderr)
      const pidA = (await agentPid(a))!
      const show = ['run', '--no-mask', 'app/x', '--', 'sh', '-c', 'printf %s "$PW"']
      assert.equal((await cli(a, show)).stdout, 'value-of-A')

      if (link === 'symlink') symlinkSync(join(a, 'agent.sock'), join(b, 'agent.sock'))
      else linkSync(join(a, 'agent.sock'), join(b, 'agent.sock'))
      // nothing of B's reaches A's agent: B sees no agent, and A's takes no stop from B
      const statusB = await cli(b, ['agent', 'status'])
      assert.equal(statusB.code, 1)
      assert.match(statusB.stdout, /^No agent serves /)
      assert.match((await cli(b, ['agent', 'stop'])).stderr, /^No agent serves /)
      assert.equal(await agentPid(a), pidA, "B's `agent stop` left A's agent alone")
      // a run in B (the first there: it starts no agent) opens B itself
      const r = await cli(b, show)
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'value-of-B', ''], "B's own values, never A's")
      assert.match((await cli(a, ['agent', 'status'])).stdout, / 1 run served;/, "A's agent served none of B's runs")
      const auditA = (await cli(a, ['audit', '-n', '50'])).stdout
      assert.equal(auditA.match(/agent=true/g)?.length, 1, "A's audit records its own served run only")

      // runs in B start B's own agent in place of the link (autostart: a second run within 15 min)
      for (const end = Date.now() + 30_000; !isSocketFile(join(b, 'agent.sock')) || (await agentPid(b)) === undefined;) {
        assert.ok(Date.now() < end, 'B got an agent of its own')
        assert.equal((await cli(b, show)).stdout, 'value-of-B')
        await new Promise((r) => setTimeout(r, 200))
      }
      const pidB = (await agentPid(b))!
      assert.notEqual(pidB, pidA)
      const servedB = await served(b)
      assert.equal((await cli(b, show)).stdout, 'value-of-B')
      assert.equal(await served(b), servedB + 1, "B's own agent serves B")
      assert.equal((await cli(a, show)).stdout, 'value-of-A', "A's agent still serves A")
      assert.equal(await served(a), 2)
      assert.match(readFileSync(join(b, 'agent.log'), 'utf8'), /replaced .*agent\.sock: (it was not a socket|the agent answering there serves another store)/)
    } finally {
      await cli(a, ['agent', 'stop'])
      await cli(b, ['agent', 'stop'])
      rmSync(a, { recursive: true, force: true })
      rmSync(b, { recursive: true, force: true })
    }
  })
}

test('an agent started by `envelope run` stops when the D-Bus session whose keychain unlocked the key ends', { timeout: 120_000 }, async () => {
  const dir = tempDir('envelope-agent-cli-session-')
  const out = join(dir, 'script.out')
  // a script in a session of its own (as test/with-keyring.sh makes one): a fresh keyring, a store whose key
  // is in it, two runs (the second starts the agent), a run the agent serves, then the script ends
  const script = [
    'set -e',
    `export ENVELOPE_DATA_DIR=${dir}/data XDG_CACHE_HOME=${cacheHome}`,
    'unset ENVELOPE_NO_AGENT',
    `E="${process.execPath} ${bin}"`,
    "printf 'values:\\n  pw:\\n    fn::secret: session-s3cret\\n  environmentVariables:\\n    PW: ${pw}\\n' | $E env init app/s -f - >/dev/null",
    '$E run app/s -- true',
    '$E run app/s -- true',
    'for i in $(seq 300); do $E agent status >/dev/null 2>&1 && break; sleep 0.1; done',
    `$E agent status -o json > ${out}`,
    '$E run --no-mask app/s -- sh -c \'printf %s "$PW"\' >> ' + out,
    `$E agent status >> ${out}`,
  ].join('\n')
  writeFileSync(join(dir, 'script.sh'), script)
  try {
    const r = spawnSync('bash', [join(root, 'test', 'with-keyring.sh'), 'bash', join(dir, 'script.sh')], {
      env: { ...process.env, ENVELOPE_IN_KEYRING: '' },
      encoding: 'utf8',
    })
    assert.equal(r.status, 0, r.stderr)
    const text = readFileSync(out, 'utf8')
    const pid = (JSON.parse(text.slice(0, text.indexOf('}') + 1)) as { pid: number }).pid
    assert.match(text, /\}\nsession-s3cretAgent pid \d+ serves .* 1 run served;/, 'the agent served while the session lived')
    // the session is over (its bus and keyring are gone): so is the agent, its socket with it
    for (const end = Date.now() + 15_000; alive(pid); await new Promise((r) => setTimeout(r, 100))) assert.ok(Date.now() < end, 'the agent stopped')
    assert.equal(existsSync(join(dir, 'data', 'agent.sock')), false)
    assert.match(readFileSync(join(dir, 'data', 'agent.log'), 'utf8'), /agent stopped \(its D-Bus session ended\)/)
    // the audit says why (read from this session: the audit needs no key)
    const audit = await cli(join(dir, 'data'), ['audit', '-n', '5', '-o', 'json'])
    const stop = (JSON.parse(audit.stdout) as { action: string; detail?: Record<string, unknown> }[]).find((e) => e.action === 'agent.stop')
    assert.deepEqual(stop?.detail, { pid, served: 1, reason: 'its D-Bus session ended' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** whether `pid` runs (a zombie left to a parent that does not reap it has ended) */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}
