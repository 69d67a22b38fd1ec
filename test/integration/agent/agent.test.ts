/**
 * The agent in process (electron/services/agent/server.ts) on a real store with its key in the real Secret
 * Service (run with test/with-keyring.sh): it stops by itself when idle (its keys leave with it), answers
 * malformed requests without serving anything, refuses to start twice on one data folder, serves its own
 * store only (a request naming another store, or none, is refused), stops when the store key changes, its
 * socket or its store file is replaced, and starts by itself only for a keychain key.
 * The CLI side (start/stop/status, served runs identical to local ones) is in test/integration/cli/bundle.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, existsSync, linkSync, lstatSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServices } from '../../../electron/services/index.ts'
import { agentStatus, staleAgentSocket, stopAgent } from '../../../electron/services/agent/client.ts'
import { storeIdentity } from '../../../electron/services/agent/identity.ts'
import { AGENT_PROTOCOL, agentRequest, agentSocketPath, WRONG_STORE } from '../../../electron/services/agent/protocol.ts'
import type { AgentStatus, Declined, RunGranted } from '../../../electron/services/agent/protocol.ts'
import { startAgent } from '../../../electron/services/agent/server.ts'
import { UserError } from '../../../shared/errors.ts'

const keys = { service: 'Envelope-test', env: {} }

async function store(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-agent-'))
  const s = createServices({ dataDir, keys, user: 'alice' })
  await s.environments.create('app/a', { yaml: 'values:\n  pw:\n    fn::secret: agent-s3cret\n  environmentVariables:\n    PW: ${pw}\n' })
  s.close()
  return dataDir
}

/** sends raw text and returns the raw reply */
function raw(socketPath: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath, () => sock.end(text))
    let out = ''
    sock
      .setEncoding('utf8')
      .on('data', (d: string) => (out += d))
      .on('end', () => resolve(out))
      .on('error', reject)
  })
}

test('an idle agent stops by itself (even with a silent connection open) and removes its socket', { timeout: 60_000 }, async () => {
  const dataDir = await store()
  try {
    // 0.02 min = 1.2 s (the CLI takes whole minutes)
    const agent = await startAgent({ dataDir, build: 'b1', idleMinutes: 0.02, keys })
    const socket = agentSocketPath(dataDir)
    const served = await agentRequest<RunGranted>(
      socket,
      { v: AGENT_PROTOCOL, op: 'run', store: storeIdentity(dataDir)!, ref: 'app/a', command: 'env', mask: true, build: 'b1' },
      5000,
    )
    assert.equal(served.ok, true)
    assert.deepEqual(served.variables, { PW: 'agent-s3cret' })
    assert.deepEqual(served.secrets, ['agent-s3cret'])
    // a client that connects and never sends its request does not keep the agent alive
    const silent = connect(socket)
    silent.on('error', () => {})
    const t = Date.now()
    await agent.done
    silent.destroy()
    assert.ok(Date.now() - t < 10_000)
    assert.equal(existsSync(socket), false)
    await assert.rejects(agentRequest(socket, { v: AGENT_PROTOCOL, op: 'status', store: storeIdentity(dataDir)! }, 2000))
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})

test('malformed or foreign requests get an answer and nothing else; one agent per data folder', { timeout: 60_000 }, async () => {
  const dataDir = await store()
  const agent = await startAgent({ dataDir, build: 'b1', idleMinutes: 5, keys })
  try {
    const socket = agentSocketPath(dataDir)
    assert.deepEqual(JSON.parse(await raw(socket, 'not json\n')), { ok: false, reason: 'bad request' })
    assert.deepEqual(JSON.parse(await raw(socket, '{"v":1,"op":"run"}\n')), { ok: false, reason: 'bad request' })
    const old = JSON.parse(await raw(socket, JSON.stringify({ v: 99, op: 'status' }) + '\n')) as Declined
    assert.equal(old.ok, false)
    assert.match(old.reason, /protocol 99 \(this agent speaks 1\)/)
    const missing = await agentRequest<Declined>(
      socket,
      { v: AGENT_PROTOCOL, op: 'run', store: storeIdentity(dataDir)!, ref: 'app/none', command: 'x', mask: true, build: 'b1' },
      5000,
    )
    assert.deepEqual(missing, { ok: false, reason: 'not_found' })
    const status = await agentRequest<AgentStatus>(socket, { v: AGENT_PROTOCOL, op: 'status', store: storeIdentity(dataDir)! }, 5000)
    assert.equal(status.served, 0)
    assert.equal(status.pid, process.pid)
    await assert.rejects(startAgent({ dataDir, build: 'b1', idleMinutes: 5, keys }), (e: unknown) => e instanceof UserError && e.code === 'already_exists')
  } finally {
    await agent.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
})

test('an agent stops once the store key changes or its socket is replaced, and its start and stop are audited', { timeout: 60_000 }, async () => {
  const dataDir = await store()
  const other = createServices({ dataDir, keys, user: 'alice' })
  try {
    const socket = agentSocketPath(dataDir)
    const run = () =>
      agentRequest<RunGranted | Declined>(
        socket,
        { v: AGENT_PROTOCOL, op: 'run', store: storeIdentity(dataDir)!, ref: 'app/a', command: 'env', mask: true, build: 'b1' },
        5000,
      )
    const agent = await startAgent({ dataDir, build: 'b1', idleMinutes: 5, keys, auto: true })
    assert.equal((await run()).ok, true)
    // another process rotates the key (the agent still holds the old one): declined, and the agent stops
    await other.environments.rotateKey()
    assert.deepEqual(await run(), { ok: false, reason: 'the store key changed' })
    await agent.done
    assert.equal(existsSync(socket), false)

    // a socket replaced by another one (a second agent after the folder was cleaned up): the first one stops
    const first = await startAgent({ dataDir, build: 'b1', idleMinutes: 5, keys, watchMs: 50 })
    rmSync(socket)
    const second = await startAgent({ dataDir, build: 'b2', idleMinutes: 5, keys, watchMs: 50 })
    await first.done
    assert.equal(existsSync(socket), true, 'the first agent leaves the second one its socket')
    assert.equal((await agentRequest<AgentStatus>(socket, { v: AGENT_PROTOCOL, op: 'status', store: storeIdentity(dataDir)! }, 5000)).build, 'b2')
    await second.close()

    const events = (await other.environments.audit({ limit: 50 })).filter((e) => e.action.startsWith('agent.')).reverse()
    assert.deepEqual(
      events.map((e) => [e.action, e.detail?.reason ?? e.detail?.auto]),
      [
        ['agent.start', true],
        ['agent.stop', 'the store key changed'],
        ['agent.start', false],
        ['agent.start', false],
        ['agent.stop', 'its socket is gone'],
        ['agent.stop', 'stopped'],
      ],
    )
  } finally {
    other.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
})

test('an agent for a passphrase store starts only when the user asks (`agent start`), never by itself', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-agent-'))
  const pass = { backend: 'passphrase' as const, env: { ENVELOPE_PASSPHRASE: 'agent passphrase 16' } }
  try {
    const s = createServices({ dataDir, keys: pass, user: 'alice' })
    await s.environments.create('app/a', { yaml: 'values:\n  pw:\n    fn::secret: agent-s3cret\n' })
    s.close()
    await assert.rejects(startAgent({ dataDir, build: 'b1', idleMinutes: 5, keys: pass, auto: true }), (e: unknown) => {
      assert.ok(e instanceof UserError)
      assert.match(e.message, /only a store whose key is in the keychain starts an agent by itself \(this one uses a passphrase\)/)
      return true
    })
    assert.equal(existsSync(agentSocketPath(dataDir)), false)
    const agent = await startAgent({ dataDir, build: 'b1', idleMinutes: 5, keys: pass })
    await agent.close()
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})

test(
  'an agent serves its own store only: a request naming another store, a copy of it or none is refused and serves nothing',
  { timeout: 60_000 },
  async () => {
    const dataDir = await store()
    const other = await store()
    // a copy of the data folder: the same store id in another folder
    const copy = mkdtempSync(join(tmpdir(), 'envelope-agent-copy-'))
    copyFileSync(join(dataDir, 'envelope.db'), join(copy, 'envelope.db'))
    // the same folder through a symlink: the same store
    const linked = join(mkdtempSync(join(tmpdir(), 'envelope-agent-link-')), 'data')
    symlinkSync(dataDir, linked)
    const agent = await startAgent({ dataDir, build: 'b1', idleMinutes: 5, keys })
    try {
      const socket = agentSocketPath(dataDir)
      const own = storeIdentity(dataDir)!
      assert.equal(storeIdentity(copy)!.id, own.id, 'a copy keeps the store id')
      assert.equal(storeIdentity(linked)!.dataDir, own.dataDir, 'a symlinked folder is the same store')
      const ask = <T>(req: Record<string, unknown>) => agentRequest<T>(socket, { v: AGENT_PROTOCOL, ...req } as never, 5000)
      const run = (store: unknown) => ask<RunGranted | Declined>({ op: 'run', store, ref: 'app/a', command: 'env', mask: true, build: 'b1' })
      const foreign: unknown[] = [
        storeIdentity(other), // another store
        storeIdentity(copy), // its copy, elsewhere
        { id: own.id, dataDir: `${own.dataDir}/` }, // not the canonical folder
        { id: own.id.toUpperCase(), dataDir: own.dataDir },
        { id: own.id }, // half of it
        null,
        undefined, // none
        'anything',
      ]
      for (const claimed of foreign) {
        assert.deepEqual(await run(claimed), { ok: false, reason: WRONG_STORE }, `run for ${JSON.stringify(claimed)}`)
        assert.deepEqual(await ask({ op: 'status', store: claimed }), { ok: false, reason: WRONG_STORE })
        assert.deepEqual(await ask({ op: 'stop', store: claimed }), { ok: false, reason: WRONG_STORE })
      }
      // still running, nothing served; its own store (also named through the symlinked folder) is served
      const status = await ask<AgentStatus>({ op: 'status', store: own })
      assert.equal(status.served, 0)
      assert.equal(status.storeId, own.id)
      const served = (await run(storeIdentity(linked))) as RunGranted
      assert.equal(served.ok, true)
      assert.deepEqual(served.store, own, 'the reply names the store it comes from')
      assert.deepEqual(served.variables, { PW: 'agent-s3cret' })
    } finally {
      await agent.close()
      for (const d of [dataDir, other, copy, join(linked, '..')]) rmSync(d, { recursive: true, force: true })
    }
  },
)

test('an agent whose store file is replaced (a backup restored, a store copied in) serves nothing more and stops', { timeout: 60_000 }, async () => {
  const dataDir = await store()
  try {
    const agent = await startAgent({ dataDir, build: 'b1', idleMinutes: 5, keys })
    const store = storeIdentity(dataDir)!
    const run = () =>
      agentRequest<RunGranted | Declined>(
        agentSocketPath(dataDir),
        { v: AGENT_PROTOCOL, op: 'run', store, ref: 'app/a', command: 'env', mask: true, build: 'b1' },
        5000,
      )
    assert.equal((await run()).ok, true)
    // the same store (same id), restored from a copy: the agent has the old file open
    copyFileSync(join(dataDir, 'envelope.db'), join(dataDir, 'restored.db'))
    renameSync(join(dataDir, 'restored.db'), join(dataDir, 'envelope.db'))
    assert.deepEqual(await run(), { ok: false, reason: 'the store file was replaced' })
    await agent.done
    assert.equal(existsSync(agentSocketPath(dataDir)), false)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})

test('an agent of an earlier build (it names no store) counts only for its own data folder, never through a link', { timeout: 60_000 }, async () => {
  const dataDir = await store()
  const other = await store()
  // what an earlier build's agent answers to `status`, whatever store the request names
  const earlier = createServer((c) => c.end(JSON.stringify({ ok: true, pid: 4242, build: 'old', dataDir, started: 'then', served: 0, idleMinutes: 15 }) + '\n'))
  await new Promise<void>((r) => earlier.listen(agentSocketPath(dataDir), r))
  try {
    assert.equal((await agentStatus(dataDir))?.pid, 4242, 'its own folder: `agent start` can stop it after an upgrade')
    assert.equal(await staleAgentSocket(dataDir), undefined)
    linkSync(agentSocketPath(dataDir), agentSocketPath(other))
    assert.equal(await agentStatus(other), undefined, 'through a link from another folder it is not that store’s agent')
    assert.equal(await staleAgentSocket(other), lstatSync(agentSocketPath(other)).ino, 'a run there may start an agent in its place')
    assert.equal(await stopAgent(other), undefined)
  } finally {
    earlier.close()
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(other, { recursive: true, force: true })
  }
})
