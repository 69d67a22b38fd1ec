/**
 * The shipped fast path: `npm run build:cli` output (out/cli, minified run bundle with a V8 code cache)
 * behaves exactly like the TypeScript sources, and so does `envelope run` served by the agent, which
 * `envelope run` starts by itself for a keychain store. Built into a scratch checkout (bin/ copied,
 * sources and node_modules linked) so the repository's own out/ is left alone. Real store, real keychain,
 * real processes.
 */
import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
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
const def = join(scratch, 'def.yaml')

const env = { ENVELOPE_DATA_DIR: dataDir, XDG_CACHE_HOME: cacheHome }
// the run bundle's own path: no agent (envelope() sets ENVELOPE_NO_AGENT=1)
const bundled = (args: string[]) => envelope(args, { bin, env })
// as users run it: the agent is asked, and started by `run` when none runs
const withAgent = (args: string[], extra: Record<string, string> = {}, dir = dataDir) =>
  envelope(args, { bin, env: { ...env, ENVELOPE_DATA_DIR: dir, ENVELOPE_NO_AGENT: undefined, ...extra } })
const sources = (args: string[]) => envelope(args, { bin, env: { ...env, ENVELOPE_CLI_SOURCE: '1' } })
const codeCaches = (): string[] => {
  try {
    return readdirSync(join(cacheHome, 'envelope')).filter((f) => f.startsWith('run-') && f.endsWith('.v8'))
  } catch {
    return []
  }
}

// every test uses the bundle, and app/bundle (each one can run alone: --test-name-pattern)
before(async () => {
  const built = spawnSync(process.execPath, [join(root, 'electron', 'cli', 'build.ts'), '--out', join(scratch, 'out', 'cli')], { encoding: 'utf8' })
  assert.equal(built.status, 0, built.stderr)
  writeFileSync(
    def,
    [
      'values:',
      '  token:',
      '    fn::secret: bundle-s3cr3t-ünï',
      '  environmentVariables:',
      '    TOKEN: ${token}',
      '    PLAIN: plain value',
      '  files:',
      '    CERT: "-----cert ${token}-----"',
      '',
    ].join('\n'),
  )
  const init = await bundled(['env', 'init', 'app/bundle', '-f', def])
  assert.equal(init.code, 0, init.stderr)
})

test('envelope run through the bundle and its code cache: variables, files, masking, exit code', { timeout: 300_000 }, async () => {
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

test('the agent serves `envelope run` exactly like a local open, declines what it must not serve, and cleans up', { timeout: 300_000 }, async () => {
  const noAgent = (args: string[]) => envelope(args, { bin, env })
  const bundled = withAgent
  const { agentRequest, agentSocketPath, AGENT_PROTOCOL } = await import('../../../electron/services/agent/protocol.ts')
  const { storeIdentity } = await import('../../../electron/services/agent/identity.ts')
  const socket = agentSocketPath(dataDir)

  const fromSources = await sources(['agent', 'start'])
  assert.equal(fromSources.code, 1)
  assert.match(fromSources.stderr, /error: the agent runs from the built CLI only/)
  assert.equal((await bundled(['agent', 'status'])).code, 1, 'no agent yet')

  // an agent of another build (here one in this process) is replaced by `agent start`
  const { startAgent } = await import('../../../electron/services/agent/server.ts')
  const stale = await startAgent({ dataDir, build: 'an-older-build', idleMinutes: 5 })
  const started = await bundled(['agent', 'start', '--idle', '5'])
  await stale.done
  assert.match(started.stderr, new RegExp(`^Stopped the agent of another envelope build \\(pid ${process.pid}\\)`))
  assert.equal(started.code, 0, started.stderr)
  assert.match(started.stdout, /^Agent started \(pid (\d+)\) for /)
  const pid = Number(/pid (\d+)/.exec(started.stdout)![1])
  try {
    assert.equal(statSync(socket).mode & 0o777, 0o600)
    // the same run, served by the agent and opened locally
    const cmd = ['run', 'app/bundle', '--', 'sh', '-c', 'echo "$TOKEN|$PLAIN"; cat "$CERT"; echo; echo "to stderr $TOKEN" >&2; exit 7']
    const served = await bundled(cmd)
    assert.deepEqual(served, await noAgent(cmd))
    assert.equal(served.code, 7)
    assert.equal(served.stdout, '[secret]|plain value\n[secret]\n')
    const audit = await bundled(['audit', '-n', '3', '-e', 'app/bundle'])
    assert.match(audit.stdout, /run +ok +app\/bundle revision=1 command=sh variables=2 files=1 masked=true agent=true/)
    assert.doesNotMatch(audit.stdout, /bundle-s3cr3t/)
    assert.match((await bundled(['agent', 'status'])).stdout, new RegExp(`^Agent pid ${pid} serves .* 1 run served;`))
    // a save made meanwhile (by another process) is what the next served run sees
    assert.equal((await bundled(['env', 'set', 'app/bundle', 'environmentVariables.PLAIN', 'changed'])).code, 0)
    assert.equal((await bundled(['run', 'app/bundle', '--', 'sh', '-c', 'printf %s "$PLAIN"'])).stdout, 'changed')
    assert.match((await bundled(['agent', 'status'])).stdout, / 2 runs served;/)

    // declined: another build, an environment with diagnostics, one that needs a provider (run in the caller)
    const other = await agentRequest<{ ok: boolean; reason?: string }>(
      socket,
      { v: AGENT_PROTOCOL, op: 'run', store: storeIdentity(dataDir)!, ref: 'app/bundle', command: 'x', mask: true, build: 'another-build' },
      5000,
    )
    assert.deepEqual(other, { ok: false, reason: 'another build of envelope is serving' })
    writeFileSync(def, 'values:\n  a: ${nope}\n  environmentVariables:\n    A: ${a}\n')
    assert.equal((await bundled(['env', 'init', 'app/broken', '-f', def])).code, 1, 'a broken definition is not saved')
    writeFileSync(def, 'values:\n  c:\n    fn::open::command: {argv: [echo, from-provider]}\n  environmentVariables:\n    C: ${c}\n')
    assert.equal((await bundled(['env', 'init', 'app/provider', '-f', def])).code, 0)
    assert.equal((await bundled(['env', 'tag', 'app/provider', 'envelope.allow-command', 'true'])).code, 0)
    const viaProvider = await bundled(['run', 'app/provider', '--', 'sh', '-c', 'printf %s "$C"'])
    assert.equal(viaProvider.code, 0, viaProvider.stderr)
    assert.equal(viaProvider.stdout, '[secret]', 'the provider ran in the caller (its output is secret, so masked)')
    const missing = await bundled(['run', 'app/none', '--', 'true'])
    assert.deepEqual(missing, await noAgent(['run', 'app/none', '--', 'true']), 'errors read as without the agent')
    assert.match((await bundled(['agent', 'status'])).stdout, / 2 runs served;/, 'none of those was served')

    // a second start is a no-op; a killed agent leaves a socket that nobody answers: `agent start` replaces it
    assert.match((await bundled(['agent', 'start'])).stdout, new RegExp(`already serves .* \\(pid ${pid}\\)`))
    const killed = async (p: number) => {
      process.kill(p, 'SIGKILL')
      await waitFor(() => !alive(p))
      assert.ok(existsSync(socket), 'the socket of a killed agent stays')
    }
    await killed(pid)
    const restarted = await bundled(['agent', 'start'])
    assert.equal(restarted.code, 0, restarted.stderr)
    const pid2 = Number(/pid (\d+)/.exec(restarted.stdout)![1])
    assert.notEqual(pid2, pid)
    // … and so does a run: it goes on locally, then starts an agent in place of the stale socket
    await killed(pid2)
    const afterKill = await bundled(cmd)
    assert.equal(afterKill.code, 7)
    assert.equal(afterKill.stdout, '[secret]|changed\n[secret]\n')
    let pid3: number | undefined
    for (const end = Date.now() + 30_000; pid3 === undefined || pid3 === pid2;) {
      assert.ok(Date.now() < end, 'a run replaced the stale socket with a new agent')
      const st = await bundled(['agent', 'status', '-o', 'json'])
      pid3 = st.code === 0 ? (JSON.parse(st.stdout) as { pid: number }).pid : undefined
    }
    assert.ok(alive(pid3))
    const stopped = await bundled(['agent', 'stop'])
    assert.match(stopped.stdout, /^Agent stopped \(pid \d+\)/)
    await waitFor(() => !existsSync(socket))
    assert.equal((await bundled(['agent', 'status'])).code, 1)
  } finally {
    if (alive(pid)) process.kill(pid, 'SIGKILL')
    await bundled(['agent', 'stop'])
  }

  // a data folder other users can read is refused
  chmodSync(dataDir, 0o755)
  try {
    const open = await bundled(['agent', 'start'])
    assert.equal(open.code, 1)
    assert.match(open.stderr, /readable by other users/)
    assert.match((await bundled(['agent', 'status'])).stdout, /The data folder can be read by other users, so no agent serves it \(chmod 700 /)
  } finally {
    chmodSync(dataDir, 0o700)
  }
})

test(
  'envelope run starts the agent by itself from the second run, for a keychain store only; a key rotation or a removed socket stops it',
  { timeout: 300_000 },
  async () => {
    const dir = tempDir('envelope-cli-autostart-')
    const run = (args: string[], extra: Record<string, string> = {}) => withAgent(args, extra, dir)
    const socket = join(dir, 'agent.sock')
    const log = join(dir, 'agent.log')
    // the run writes this line just before it starts an agent
    const starts = () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => / envelope run \(pid \d+\) starts the agent$/.test(l)).length
        : 0
    const agentPid = async (): Promise<number | undefined> => {
      const r = await run(['agent', 'status', '-o', 'json'])
      return r.code === 0 ? (JSON.parse(r.stdout) as { pid: number }).pid : undefined
    }
    const audit = async () =>
      JSON.parse((await run(['audit', '-n', '200', '-o', 'json'])).stdout) as { action: string; target: string; detail?: Record<string, unknown> }[]
    try {
      writeFileSync(def, 'values:\n  pw:\n    fn::secret: auto-s3cr3t-value\n  environmentVariables:\n    PW: ${pw}\n')
      assert.equal((await run(['env', 'init', 'app/auto', '-f', def])).code, 0)
      const cmd = ['run', 'app/auto', '--', 'sh', '-c', 'printf "%s|" "$PW"; exit 3']
      const status = async () => (await run(['agent', 'status'])).stdout
      assert.match(
        await status(),
        /^No agent serves .*\. `envelope run` starts one \(autostart on\): a run of an environment without providers that comes within 15 min of another run\.$/m,
      )

      // a single run opens the environment itself and leaves nothing behind
      const first = await run(cmd)
      assert.deepEqual([first.code, first.stdout, first.stderr], [3, '[secret]|', ''])
      assert.equal(starts(), 0, 'a one-off run starts no agent')
      // runs that follow within the idle time start one in the background (concurrent runs, as from
      // `make -j`, start one agent, not one each)
      const firsts = await Promise.all([1, 2, 3, 4].map(() => run(cmd)))
      for (const r of firsts) assert.deepEqual(r, first)
      await waitFor(() => existsSync(socket), 30_000)
      assert.equal(starts(), 1)
      await waitFor(() => !existsSync(join(dir, 'agent.starting')), 10_000)
      const pid = await agentPid()
      assert.ok(pid !== undefined && alive(pid))
      // the next ones are served by it, with the same result
      assert.deepEqual(await run(cmd), first)
      assert.deepEqual(await run(cmd), first)
      assert.equal(starts(), 1, 'no second agent while one serves')
      let events = await audit()
      const started = events.filter((e) => e.action === 'agent.start')
      assert.equal(started.length, 1)
      assert.deepEqual(started[0]!.detail, { pid, idleMinutes: 15, auto: true })
      assert.equal(events.filter((e) => e.action === 'run' && e.detail?.agent === true).length, 2)
      assert.equal(events.filter((e) => e.action === 'run' && e.detail?.agent === undefined).length, 5)

      // `agent autostart off` stops it and keeps later runs local; ENVELOPE_NO_AGENT does the same for one shell
      const off = await run(['agent', 'autostart', 'off'])
      assert.equal(off.code, 0, off.stderr)
      assert.match(off.stdout, new RegExp(`^autostart: off\\..*Stopped the running agent \\(pid ${pid}\\)`))
      assert.ok(!existsSync(socket))
      assert.deepEqual(await run(cmd), first)
      assert.equal((await run(['agent', 'autostart'])).stdout, 'autostart: off\n')
      assert.match(await status(), /`envelope run` does not start one \(autostart off\); `envelope agent start` does\./)
      assert.match((await run(['agent', 'autostart', 'on'])).stdout, /^autostart: on\./)
      assert.deepEqual(await run(cmd, { ENVELOPE_NO_AGENT: '1' }), first)
      assert.equal((await run(['agent', 'autostart', 'maybe'])).code, 1)
      // an environment that needs a provider is not what the agent serves: no agent for it
      writeFileSync(def, 'values:\n  c:\n    fn::open::command: {argv: [echo, from-provider]}\n  environmentVariables:\n    C: ${c}\n')
      assert.equal((await run(['env', 'init', 'app/provider', '-f', def])).code, 0)
      assert.equal((await run(['env', 'tag', 'app/provider', 'envelope.allow-command', 'true'])).code, 0)
      assert.equal((await run(['run', 'app/provider', '--', 'sh', '-c', 'printf %s "$C"'])).stdout, '[secret]')
      assert.equal(starts(), 1, 'autostart off, ENVELOPE_NO_AGENT and a provider run started none')
      assert.equal(await agentPid(), undefined)
      events = await audit()
      assert.deepEqual(events.find((e) => e.action === 'settings')?.detail, { 'agent.autostart': true })

      // a start that failed (the log ends with its error) is not tried again at every run, only after 10 min
      appendFileSync(log, 'error: the store key is not reachable: (a failure written by the test)\n')
      assert.deepEqual(await run(cmd), first)
      assert.equal(starts(), 1, 'not tried again right after a failed start')
      const longAgo = new Date(Date.now() - 11 * 60_000)
      utimesSync(log, longAgo, longAgo)

      // an agent whose socket is removed (its data folder cleaned up…) stops instead of waiting to be idle
      assert.deepEqual(await run(cmd), first)
      assert.equal(starts(), 2)
      await waitFor(() => existsSync(socket), 30_000)
      const pid2 = (await agentPid())!
      rmSync(socket)
      await waitFor(() => !alive(pid2), 30_000)
      events = await audit()
      assert.deepEqual(events.find((e) => e.action === 'agent.stop')?.detail, { pid: pid2, served: 0, reason: 'its socket is gone' })

      // moving the key to a passphrase stops the agent (it held the keychain key); a passphrase store gets none
      assert.deepEqual(await run(cmd), first)
      assert.equal(starts(), 3)
      await waitFor(() => existsSync(socket), 30_000)
      const pid3 = (await agentPid())!
      const passphrase = 'auto start passphrase'
      const rotated = await run(['key', 'rotate', '--to', 'passphrase'], { ENVELOPE_NEW_PASSPHRASE: passphrase })
      assert.equal(rotated.code, 0, rotated.stderr)
      assert.match(rotated.stdout, new RegExp(`Stopped the agent \\(pid ${pid3}\\): it held the old key\\.`))
      await waitFor(() => !alive(pid3))
      assert.deepEqual(await run(cmd, { ENVELOPE_PASSPHRASE: passphrase }), first)
      assert.equal(starts(), 3, 'no agent for a passphrase store unless the user starts one')
      assert.match(
        (await run(['agent', 'status'], { ENVELOPE_PASSPHRASE: passphrase })).stdout,
        /This store's key is a passphrase: only `envelope agent start` starts one\./,
      )
      assert.equal(await agentPid(), undefined)
      // nothing of the secret or the passphrase in the agent's log
      assert.doesNotMatch(readFileSync(log, 'utf8'), /auto-s3cr3t|auto start passphrase/)
    } finally {
      await run(['agent', 'stop'])
      rmSync(dir, { recursive: true, force: true })
    }
  },
)

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 25))
  }
}
