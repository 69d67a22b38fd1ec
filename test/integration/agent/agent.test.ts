/**
 * The agent in process (electron/services/agent/server.ts) on a real store with its key in the real Secret
 * Service (run with test/with-keyring.sh): it stops by itself when idle (its keys leave with it), answers
 * malformed requests without serving anything, and refuses to start twice on one data folder.
 * The CLI side (start/stop/status, served runs identical to local ones) is in test/integration/cli/bundle.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServices } from '../../../electron/services/index.ts'
import { AGENT_PROTOCOL, agentRequest, agentSocketPath } from '../../../electron/services/agent/protocol.ts'
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
    sock.setEncoding('utf8').on('data', (d: string) => (out += d)).on('end', () => resolve(out)).on('error', reject)
  })
}

test('an idle agent stops by itself (even with a silent connection open) and removes its socket', { timeout: 60_000 }, async () => {
  const dataDir = await store()
  try {
    // 0.02 min = 1.2 s (the CLI takes whole minutes)
    const agent = await startAgent({ dataDir, build: 'b1', idleMinutes: 0.02, keys })
    const socket = agentSocketPath(dataDir)
    const served = await agentRequest<RunGranted>(socket, { v: AGENT_PROTOCOL, op: 'run', ref: 'app/a', command: 'env', mask: true, build: 'b1' }, 5000)
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
    await assert.rejects(agentRequest(socket, { v: AGENT_PROTOCOL, op: 'status' }, 2000))
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
    const missing = await agentRequest<Declined>(socket, { v: AGENT_PROTOCOL, op: 'run', ref: 'app/none', command: 'x', mask: true, build: 'b1' }, 5000)
    assert.deepEqual(missing, { ok: false, reason: 'not_found' })
    const status = await agentRequest<AgentStatus>(socket, { v: AGENT_PROTOCOL, op: 'status' }, 5000)
    assert.equal(status.served, 0)
    assert.equal(status.pid, process.pid)
    await assert.rejects(startAgent({ dataDir, build: 'b1', idleMinutes: 5, keys }), (e: unknown) => e instanceof UserError && e.code === 'already_exists')
  } finally {
    await agent.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
})
